package version

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/gopythongo/gopythongo/internal/lazy"
)

// Format names one of the four renderings, for parsing.
type Format string

// The formats ParseFormat understands. FormatTag is the lenient parser for tags and
// strings people write.
const (
	FormatSemVer Format = "semver"
	FormatPEP440 Format = "pep440"
	FormatDebian Format = "debian"
	FormatOCI    Format = "oci"
	FormatTag    Format = "tag"
)

// Formats lists the formats ParseFormat accepts.
var Formats = []Format{FormatSemVer, FormatPEP440, FormatDebian, FormatOCI, FormatTag}

// ParseFormat parses s in the given format.
func ParseFormat(f Format, s string) (Version, error) {
	switch f {
	case FormatSemVer:
		return ParseSemVer(s)
	case FormatPEP440:
		return ParsePEP440(s)
	case FormatDebian:
		return ParseDebian(s)
	case FormatOCI:
		return ParseOCITag(s)
	case FormatTag:
		return ParseTag(s)
	}
	return Version{}, fmt.Errorf("unknown version format %q (valid: semver, pep440, debian, oci, tag)", f)
}

// ParseError says what is wrong with a version string and how to write it.
type ParseError struct {
	Input  string
	Format Format
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%q is not a valid %s version: %s", e.Input, e.Format, e.Reason)
}

func perr(f Format, s, format string, args ...any) error {
	return &ParseError{Input: s, Format: f, Reason: fmt.Sprintf(format, args...)}
}

var semverRE = lazy.Regexp(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// ParseSemVer parses a strict SemVer 2.0 string (no leading "v") whose pre-release
// GoPythonGo can represent: alpha, beta, rc or dev with a number, feature.<slug>.N or
// pr.<number>.N. Build metadata "rev.N" and "post.N" are read back as the package
// revision and the post-release.
func ParseSemVer(s string) (Version, error) {
	m := semverRE().FindStringSubmatch(s)
	if m == nil {
		return Version{}, perr(FormatSemVer, s, "want MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] without leading zeros or a \"v\"")
	}
	var v Version
	var err error
	if v.Major, v.Minor, v.Patch, err = parseCore(m[1], m[2], m[3]); err != nil {
		return Version{}, perr(FormatSemVer, s, "%v", err)
	}
	if m[4] != "" {
		if v.Pre, err = semverPre(strings.Split(m[4], ".")); err != nil {
			return Version{}, perr(FormatSemVer, s, "%v", err)
		}
	}
	if m[5] != "" {
		if err := v.setBuild(strings.Split(m[5], ".")); err != nil {
			return Version{}, perr(FormatSemVer, s, "%v", err)
		}
	}
	if err := v.Validate(); err != nil {
		return Version{}, perr(FormatSemVer, s, "%v", err)
	}
	return v, nil
}

// ParseOCITag parses the OCI tag rendering ("+" written as "_").
func ParseOCITag(s string) (Version, error) {
	v, err := ParseSemVer(strings.ReplaceAll(s, "_", "+"))
	if err != nil {
		return Version{}, perr(FormatOCI, s, "want a SemVer version with \"_\" in place of \"+\"")
	}
	return v, nil
}

func parseCore(parts ...string) (major, minor, patch uint64, err error) {
	var n [3]uint64
	for i, p := range parts {
		if p == "" {
			continue
		}
		if n[i], err = u64(p); err != nil {
			return 0, 0, 0, fmt.Errorf("number %q is too large", p)
		}
	}
	return n[0], n[1], n[2], nil
}

var labelAliases = map[string]string{
	"alpha": LabelAlpha, "a": LabelAlpha,
	"beta": LabelBeta, "b": LabelBeta,
	"rc": LabelRC, "c": LabelRC, "pre": LabelRC, "preview": LabelRC,
	"dev": LabelDev,
}

var labelNumRE = lazy.Regexp(`^([a-z]+)(\d*)$`)

func semverPre(ids []string) (*Pre, error) {
	first := strings.ToLower(ids[0])
	switch first {
	case LabelFeature:
		if len(ids) < 3 || !isNumber(ids[len(ids)-1]) {
			return nil, fmt.Errorf("a feature pre-release is feature.<name>.<commits>")
		}
		n, _ := u64(ids[len(ids)-1])
		name := strings.ToLower(strings.Join(ids[1:len(ids)-1], "-"))
		if !isSlug(name) {
			return nil, fmt.Errorf("feature name %q is not a slug", name)
		}
		return &Pre{Label: LabelFeature, Name: name, Number: n}, nil
	case LabelPR:
		if len(ids) != 3 || !isNumber(ids[1]) || !isNumber(ids[2]) {
			return nil, fmt.Errorf("a pull request pre-release is pr.<number>.<commits>")
		}
		n, _ := u64(ids[2])
		return &Pre{Label: LabelPR, Name: ids[1], Number: n}, nil
	}
	m := labelNumRE().FindStringSubmatch(first)
	label, ok := "", false
	if m != nil {
		label, ok = labelAliases[m[1]]
	}
	if !ok {
		return nil, fmt.Errorf("pre-release %q: use alpha, beta, rc or dev followed by a number (rc.1)", strings.Join(ids, "."))
	}
	p := &Pre{Label: label}
	switch {
	case m[2] != "" && len(ids) == 1:
		p.Number, _ = u64(m[2])
	case m[2] == "" && len(ids) == 1:
	case m[2] == "" && len(ids) == 2 && isNumber(ids[1]):
		p.Number, _ = u64(ids[1])
	default:
		return nil, fmt.Errorf("pre-release %q: a label takes one number (rc.1)", strings.Join(ids, "."))
	}
	return p, nil
}

// setBuild reads build metadata identifiers: "rev N" is the package revision,
// "post N" the post-release, everything else is kept, lowercased.
func (v *Version) setBuild(ids []string) error {
	var rest []string
	for i := 0; i < len(ids); i++ {
		id := strings.ToLower(ids[i])
		if (id == "rev" || id == "post") && i+1 < len(ids) && isNumber(ids[i+1]) {
			n, err := u64(ids[i+1])
			if err != nil {
				return err
			}
			if id == "rev" {
				if n > 1<<30 {
					return fmt.Errorf("revision %d is too large", n)
				}
				if n == 0 {
					return fmt.Errorf("revision 0 does not exist: package revisions start at 1 (rev.1)")
				}
				v.Revision = int(n)
			} else {
				v.Post = n
			}
			i++
			continue
		}
		for _, part := range strings.Split(id, "-") {
			if part == "rev" || part == "post" {
				// It would read back as a revision or post-release.
				return fmt.Errorf("build metadata %q is reserved for the package revision (rev.N) and post-release (post.N), with a number", part)
			}
			if part != "" {
				rest = append(rest, part)
			}
		}
	}
	v.Build = rest
	return nil
}

// The grammar of PEP 440 with every spelling its normalization accepts.
var pep440RE = lazy.Regexp(`(?i)^\s*v?(?:(\d+)!)?(\d+(?:\.\d+)*)` +
	`(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?(\d+)?)?` +
	`(?:(?:-(\d+))|(?:[-_.]?(post|rev|r)[-_.]?(\d+)?))?` +
	`(?:[-_.]?(dev)[-_.]?(\d+)?)?` +
	`(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$`)

var shaIdentRE = lazy.Regexp(`^g[0-9a-f]{7,40}$`)

// ParsePEP440 parses any PEP 440 spelling (1.0.0-RC1, 1.0-dev, 1!2.0) into the model.
// ".postN" is read as package revision N+1, the inverse of PEP440(). A local part
// "feature.<slug>…" or "pr.<number>" is read back as a feature or PR build; "rev.N",
// "dirty" and commit ids ("g" and hex) as the revision and build metadata.
func ParsePEP440(s string) (Version, error) {
	m := pep440RE().FindStringSubmatch(s)
	if m == nil {
		return Version{}, perr(FormatPEP440, s, "want [N!]N.N.N[{a|b|rc}N][.postN][.devN][+local]")
	}
	var v Version
	if m[1] != "" {
		e, err := strconv.Atoi(m[1])
		if err != nil || e > 1<<30 {
			return Version{}, perr(FormatPEP440, s, "epoch %q is too large", m[1])
		}
		v.Epoch = e
	}
	var err error
	if v.Major, v.Minor, v.Patch, err = releaseSegments(m[2]); err != nil {
		return Version{}, perr(FormatPEP440, s, "%v", err)
	}
	hasPre := m[3] != ""
	if hasPre {
		n, err := optNumber(m[4])
		if err != nil {
			return Version{}, perr(FormatPEP440, s, "%v", err)
		}
		v.Pre = &Pre{Label: labelAliases[strings.ToLower(m[3])], Number: n}
	}
	post, hasPost := m[5], m[5] != "" || m[6] != ""
	if m[6] != "" {
		post = m[7]
	}
	hasDev := m[8] != ""
	if hasDev && (hasPre || hasPost) {
		return Version{}, perr(FormatPEP440, s, "a dev release of a pre- or post-release cannot be represented; use X.Y.Z.devN")
	}
	if hasPost {
		n, err := optNumber(post)
		if err != nil || n > 1<<30 {
			return Version{}, perr(FormatPEP440, s, "post-release number %q is too large", post)
		}
		v.Revision = int(n) + 1
	}
	var local []string
	if m[10] != "" {
		local = strings.FieldsFunc(strings.ToLower(m[10]), func(r rune) bool { return r == '-' || r == '_' || r == '.' })
	}
	if hasDev {
		n, err := optNumber(m[9])
		if err != nil {
			return Version{}, perr(FormatPEP440, s, "%v", err)
		}
		v.Pre = &Pre{Label: LabelDev, Number: n}
		local = v.readLocalName(local)
	}
	if err := v.readLocalTail(local); err != nil {
		return Version{}, perr(FormatPEP440, s, "%v", err)
	}
	if err := v.Validate(); err != nil {
		return Version{}, perr(FormatPEP440, s, "%v", err)
	}
	return v, nil
}

// readLocalName turns a dev build with a local "feature.<slug>" or "pr.<n>" back
// into a feature or PR build, and returns the rest of the local part.
func (v *Version) readLocalName(local []string) []string {
	if len(local) == 0 {
		return local
	}
	switch local[0] {
	case LabelPR:
		if len(local) >= 2 && isNumber(local[1]) {
			v.Pre = &Pre{Label: LabelPR, Name: local[1], Number: v.Pre.Number}
			return local[2:]
		}
	case LabelFeature:
		end := len(local)
		for end > 1 && isTailIdent(local, end-1) {
			end--
		}
		if end > 1 {
			v.Pre = &Pre{Label: LabelFeature, Name: strings.Join(local[1:end], "-"), Number: v.Pre.Number}
			return local[end:]
		}
	}
	return local
}

// isTailIdent reports whether local[i] belongs to the build metadata and revision
// that PEP440() appends after a feature name.
func isTailIdent(local []string, i int) bool {
	id := local[i]
	if id == "dirty" || shaIdentRE().MatchString(id) || id == "rev" {
		return true
	}
	return isDigits(id) && i > 0 && local[i-1] == "rev"
}

func (v *Version) readLocalTail(local []string) error {
	if n := len(local); n >= 2 && local[n-2] == "rev" && isNumber(local[n-1]) {
		r, err := strconv.Atoi(local[n-1])
		if err != nil || r > 1<<30 {
			return fmt.Errorf("revision %q is too large", local[n-1])
		}
		if v.Revision > 1 {
			return fmt.Errorf("two revisions, .post and rev")
		}
		v.Revision = r
		local = local[:n-2]
	}
	for _, id := range local {
		if isDigits(id) {
			// Canonical PEP 440 drops leading zeros of numeric local segments.
			id = strings.TrimLeft(id, "0")
			if id == "" {
				id = "0"
			}
		}
		v.Build = append(v.Build, id)
	}
	return nil
}

func optNumber(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := u64(s)
	if err != nil {
		return 0, fmt.Errorf("number %q is too large", s)
	}
	return n, nil
}

// releaseSegments reads one to three dot-separated numbers, leading zeros allowed
// (CalVer 2024.01.15 is 2024.1.15).
func releaseSegments(s string) (major, minor, patch uint64, err error) {
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return 0, 0, 0, fmt.Errorf("%d release numbers; GoPythonGo versions have at most three (MAJOR.MINOR.PATCH)", len(parts))
	}
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	return parseCore(parts...)
}

var debianRE = lazy.Regexp(`^(?:(\d+):)?(\d+(?:\.\d+){0,2})` +
	`(?:~(alpha|beta|rc|dev)(\d+)|~feature\.([a-z0-9]+(?:\.[a-z0-9]+)*)\.(\d+)|~pr(\d+)\.(\d+))?` +
	`(?:\+post(\d+))?` +
	`(?:\+([a-z0-9]+(?:\.[a-z0-9]+)*))?` +
	`(?:-(\d+))?$`)

// ParseDebian parses the Debian rendering: [epoch:]X.Y.Z[~pre][+postN][+build][-revision].
func ParseDebian(s string) (Version, error) {
	m := debianRE().FindStringSubmatch(s)
	if m == nil {
		return Version{}, perr(FormatDebian, s, "want [EPOCH:]X.Y.Z[~rcN|~devN|~feature.NAME.N|~prNUM.N][+BUILD][-REVISION]")
	}
	var v Version
	var err error
	if m[1] != "" {
		if v.Epoch, err = strconv.Atoi(m[1]); err != nil || v.Epoch > 1<<30 {
			return Version{}, perr(FormatDebian, s, "epoch %q is too large", m[1])
		}
	}
	if v.Major, v.Minor, v.Patch, err = releaseSegments(m[2]); err != nil {
		return Version{}, perr(FormatDebian, s, "%v", err)
	}
	num := func(x string) uint64 {
		n, e := u64(x)
		if e != nil {
			err = e
		}
		return n
	}
	switch {
	case m[3] != "":
		v.Pre = &Pre{Label: m[3], Number: num(m[4])}
	case m[5] != "":
		v.Pre = &Pre{Label: LabelFeature, Name: strings.ReplaceAll(m[5], ".", "-"), Number: num(m[6])}
	case m[7] != "":
		v.Pre = &Pre{Label: LabelPR, Name: m[7], Number: num(m[8])}
	}
	if m[9] != "" {
		v.Post = num(m[9])
	}
	if err != nil {
		return Version{}, perr(FormatDebian, s, "a number is too large")
	}
	if m[10] != "" {
		v.Build = strings.Split(m[10], ".")
	}
	if m[11] != "" {
		r, err := strconv.Atoi(m[11])
		if err != nil || r > 1<<30 {
			return Version{}, perr(FormatDebian, s, "revision %q is too large", m[11])
		}
		v.Revision = r
	}
	if err := v.Validate(); err != nil {
		return Version{}, perr(FormatDebian, s, "%v", err)
	}
	return v, nil
}

var tagRE = lazy.Regexp(`^[vV]?(?:(\d+)[!:])?(\d+(?:\.\d+){0,3})` +
	`(?:[-_.]?([a-zA-Z]+)(?:[-_.]?(\d+))?)?` +
	`(?:\+([0-9A-Za-z]+(?:[.-][0-9A-Za-z]+)*))?$`)

// ParseTag reads a version the way people write tags: an optional "v" or "V",
// an optional epoch ("1!" or "1:"), one to three numbers with leading zeros allowed
// (CalVer), an optional pre-release label in any case and spelling (RC1, -rc.1,
// -alpha, .dev3, b2) and optional build metadata. Strict SemVer, PEP 440 and Debian
// renderings are accepted too.
func ParseTag(s string) (Version, error) {
	if v, ok := plainRelease(s); ok {
		return v, nil
	}
	if m := postZeroTagRE().FindStringSubmatch(s); m != nil {
		return Version{}, perr(FormatTag, s, "post-release 0 cannot be told apart from the release %s in the Debian and OCI renderings (both are its first package): tag %s, or %s.post1 for its second package", m[1], m[1], m[1])
	}
	if m := debianRevisionTagRE().FindStringSubmatch(s); m != nil {
		// X.Y.Z-N reads as Debian's package revision N, as a Debian user
		// writes it (1.2.3-1 is the first package of 1.2.3); PEP 440 alone
		// would read post-release N. -0 means opposite things to the two
		// (Debian: below -1; PEP 440: post0, above the release) and is refused.
		v, _ := plainRelease(m[1])
		n, err := strconv.Atoi(m[2])
		switch {
		case err != nil || n > 1<<20:
			return Version{}, perr(FormatTag, s, "package revision %q is too large", m[2])
		case n == 0:
			return Version{}, perr(FormatTag, s, "-0 is Debian's revision 0 (below -1) but PEP 440's post-release 0 (above the release): tag %s for the release, or %s-2 for its second package", m[1], m[1])
		}
		v.Revision = n
		return v, nil
	}
	if v, err := ParseSemVer(s); err == nil {
		return v, nil
	}
	m := tagRE().FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		if v, err := ParsePEP440(s); err == nil {
			return v, nil
		}
		if v, err := ParseDebian(s); err == nil {
			return v, nil
		}
		return Version{}, perr(FormatTag, s, "want [v]X.Y.Z[-rc.N][+BUILD], e.g. v1.2.3 or 1.3.0-rc.1")
	}
	var v Version
	var err error
	if m[1] != "" {
		if v.Epoch, err = strconv.Atoi(m[1]); err != nil || v.Epoch > 1<<30 {
			return Version{}, perr(FormatTag, s, "epoch %q is too large", m[1])
		}
	}
	if v.Major, v.Minor, v.Patch, err = releaseSegments(m[2]); err != nil {
		return Version{}, perr(FormatTag, s, "%v", err)
	}
	if m[3] != "" {
		label, ok := labelAliases[strings.ToLower(m[3])]
		if !ok {
			if v, err := ParsePEP440(s); err == nil { // 1.0.post1
				return v, nil
			}
			return Version{}, perr(FormatTag, s, "pre-release label %q: use alpha, beta, rc or dev", m[3])
		}
		n, err := optNumber(m[4])
		if err != nil {
			return Version{}, perr(FormatTag, s, "%v", err)
		}
		v.Pre = &Pre{Label: label, Number: n}
	}
	if m[5] != "" {
		if err := v.setBuild(strings.Split(m[5], ".")); err != nil {
			return Version{}, perr(FormatTag, s, "%v", err)
		}
	}
	if err := v.Validate(); err != nil {
		return Version{}, perr(FormatTag, s, "%v", err)
	}
	return v, nil
}

// RegexParser parses versions with a user's regular expression. Its named groups
// give the parts: major (required), minor, patch, epoch, pre (a label such as rc),
// pre_number, build. Missing numbers are 0.
type RegexParser struct {
	re *regexp.Regexp
}

// NewRegexParser compiles expr and checks that it has a "major" group.
func NewRegexParser(expr string) (*RegexParser, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("version pattern %q: %w", expr, err)
	}
	known := map[string]bool{"major": true, "minor": true, "patch": true, "epoch": true, "pre": true, "pre_number": true, "build": true}
	hasMajor := false
	for _, n := range re.SubexpNames()[1:] {
		if n == "" {
			continue
		}
		if !known[n] {
			return nil, fmt.Errorf("version pattern %q: unknown group %q (valid: major, minor, patch, epoch, pre, pre_number, build)", expr, n)
		}
		hasMajor = hasMajor || n == "major"
	}
	if !hasMajor {
		return nil, fmt.Errorf("version pattern %q: needs a named group (?P<major>…)", expr)
	}
	return &RegexParser{re: re}, nil
}

// Parse applies the pattern to s.
func (p *RegexParser) Parse(s string) (Version, error) {
	m := p.re.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%q does not match the version pattern %q", s, p.re)
	}
	g := map[string]string{}
	for i, n := range p.re.SubexpNames() {
		if n != "" && m[i] != "" {
			g[n] = m[i]
		}
	}
	var v Version
	var err error
	if e := g["epoch"]; e != "" {
		if v.Epoch, err = strconv.Atoi(e); err != nil || v.Epoch > 1<<30 {
			return Version{}, fmt.Errorf("%q: epoch %q is too large", s, e)
		}
	}
	if v.Major, v.Minor, v.Patch, err = parseCore(g["major"], g["minor"], g["patch"]); err != nil {
		return Version{}, fmt.Errorf("%q: %w", s, err)
	}
	if l := g["pre"]; l != "" {
		label, ok := labelAliases[strings.ToLower(l)]
		if !ok {
			return Version{}, fmt.Errorf("%q: pre-release label %q: use alpha, beta, rc or dev", s, l)
		}
		n, err := optNumber(g["pre_number"])
		if err != nil {
			return Version{}, fmt.Errorf("%q: %w", s, err)
		}
		v.Pre = &Pre{Label: label, Number: n}
	}
	if b := g["build"]; b != "" {
		if err := v.setBuild(strings.FieldsFunc(b, func(r rune) bool { return r == '.' })); err != nil {
			return Version{}, fmt.Errorf("%q: %w", s, err)
		}
	}
	if err := v.Validate(); err != nil {
		return Version{}, fmt.Errorf("%q: %w", s, err)
	}
	return v, nil
}

// plainRelease reads the commonest tag, [v]X.Y.Z, without a regular expression:
// a repository can have thousands of them.
// debianRevisionTagRE is a release with a Debian-style package revision:
// [v]X.Y.Z-N.
// postZeroTagRE is a release with an explicit (or PEP 440's implicit) post 0:
// 1.2.3.post0, 1.2.3-post, 1.2.3.rev0.
var postZeroTagRE = lazy.Regexp(`^[vV]?(\d{1,18}\.\d{1,18}\.\d{1,18})(?i:[-_.]?(?:post|rev|r)[-_.]?0*)$`)

var debianRevisionTagRE = lazy.Regexp(`^([vV]?\d{1,18}\.\d{1,18}\.\d{1,18})-(\d+)$`)

func plainRelease(s string) (Version, bool) {
	if len(s) > 0 && (s[0] == 'v' || s[0] == 'V') {
		s = s[1:]
	}
	var n [3]uint64
	for i := range n {
		j := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == 0 || j > 18 {
			return Version{}, false
		}
		n[i], _ = strconv.ParseUint(s[:j], 10, 64)
		s = s[j:]
		if i < 2 {
			if len(s) == 0 || s[0] != '.' {
				return Version{}, false
			}
			s = s[1:]
		}
	}
	if s != "" {
		return Version{}, false
	}
	return Version{Major: n[0], Minor: n[1], Patch: n[2]}, true
}
