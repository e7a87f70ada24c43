package version

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxSlug bounds a branch slug so that every rendering stays well inside the
// 128 characters of an OCI tag.
const maxSlug = 40

// Slug turns a branch name into an identifier that is valid in all four renderings:
// lowercase ASCII letters and digits separated by single hyphens. Everything else
// (slashes, underscores, dots, unicode) becomes a separator. A name that is cut to
// fit, or that has no ASCII letters or digits at all, gets a short hash of the full
// name so that different branches keep different slugs.
func Slug(name string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if sep && b.Len() > 0 {
				b.WriteByte('-')
			}
			sep = false
			b.WriteRune(r)
			continue
		}
		sep = true
	}
	s := trimZeros(b.String())
	// A slug made only of digits would be a numeric identifier, and "0123" is not a
	// valid SemVer one; a letter in front keeps it alphanumeric everywhere. It
	// comes before the length is checked, so that it counts.
	if isDigits(s) {
		s = "n" + s
	}
	if s == "" || len(s) > maxSlug || readsAsTail(s) {
		sum := sha256.Sum256([]byte(name))
		h := "h" + hex.EncodeToString(sum[:4])
		if len(s) > maxSlug-len(h)-1 {
			s = strings.TrimRight(s[:maxSlug-len(h)-1], "-")
		}
		s = trimZeros(joinNonEmpty("-", s, h))
	}
	return s
}

// readsAsTail reports whether the slug ends in what PEP440() appends after a
// feature name (a commit id g…, dirty, rev N): read back, it would be cut off
// the name. The hash ending makes such a slug unambiguous.
func readsAsTail(s string) bool {
	parts := strings.Split(s, "-")
	return isTailIdent(parts, len(parts)-1)
}

// trimZeros drops leading zeros of all-digit parts ("jira-0042" becomes "jira-42"):
// PEP 440 reads such a part as a number and would print it without them.
func trimZeros(s string) string {
	parts := strings.Split(s, "-")
	for i, p := range parts {
		if isDigits(p) {
			p = strings.TrimLeft(p, "0")
			if p == "" {
				p = "0"
			}
			parts[i] = p
		}
	}
	return strings.Join(parts, "-")
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isSlug(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") || len(s) > maxSlug {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return !isDigits(s) && trimZeros(s) == s
}
