package lock

import (
	"fmt"
	"strings"

	"github.com/gopythongo/gopythongo/internal/lazy"
	"github.com/gopythongo/gopythongo/internal/python/pep508"
)

// reqLine is a pinned line of a requirements lock.
type reqLine struct {
	pkg    Package
	marker *pep508.Marker
	line   int
}

type requirementsLock struct{ lines []reqLine }

var hashRE = lazy.Regexp(`--hash[= ]sha256:([0-9a-fA-F]{64})\b`)

// ignoredOptions are requirements-file options that say where to look, which
// the configuration decides instead (venv.index_url, venv.find_links).
var ignoredOptions = []string{"--index-url", "-i", "--extra-index-url", "--find-links", "-f", "--trusted-host", "--no-index", "--prefer-binary", "--only-binary", "--no-binary"}

func readRequirements(data []byte) (selector, error) {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	var l requirementsLock
	lineNo := 0
	for _, logical := range strings.Split(strings.ReplaceAll(text, "\\\n", " \x00"), "\n") {
		lineNo++
		lineNo += strings.Count(logical, "\x00")
		s := strings.ReplaceAll(logical, "\x00", "")
		if i := strings.Index(s, " #"); i >= 0 {
			s = s[:i]
		}
		s = strings.TrimSpace(s)
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if strings.HasPrefix(s, "-") {
			ignored := false
			for _, o := range ignoredOptions {
				if s == o || strings.HasPrefix(s, o+" ") || strings.HasPrefix(s, o+"=") {
					ignored = true
				}
			}
			if !ignored {
				return nil, fmt.Errorf("line %d: %q is not a pinned requirement; a lock lists every distribution as name==version --hash=sha256:… (-r, -c and -e have no place in it)", lineNo, s)
			}
			continue
		}
		var hashes []string
		for _, m := range hashRE().FindAllStringSubmatch(s, -1) {
			hashes = append(hashes, strings.ToLower(m[1]))
		}
		if i := strings.Index(s, " --"); i >= 0 {
			s = s[:i]
		}
		r, err := pep508.ParseRequirement(s)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		version, pinned := strings.CutPrefix(r.Specifier.String(), "==")
		if !pinned || strings.ContainsAny(version, ",*") || r.URL != "" {
			return nil, fmt.Errorf("line %d: %s is not pinned to one version (name==version): a lock resolves nothing at build time", lineNo, r.Name)
		}
		if len(hashes) == 0 {
			return nil, fmt.Errorf("line %d: %s==%s has no --hash=sha256:…: every line of a requirements lock must pin its hashes (pip-compile --generate-hashes, uv pip compile --generate-hashes)", lineNo, r.Name, version)
		}
		l.lines = append(l.lines, reqLine{pkg: Package{Name: r.Name, Version: strings.TrimSpace(version), Hashes: hashes}, marker: r.Marker, line: lineNo})
	}
	if len(l.lines) == 0 {
		return nil, fmt.Errorf("it pins no distribution")
	}
	return &l, nil
}

func (l *requirementsLock) selectFor(t Target) ([]Package, error) {
	var out []Package
	for _, ln := range l.lines {
		if ln.marker != nil {
			ok, err := ln.marker.Eval(t.Env.With("extra", ""))
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", ln.line, err)
			}
			if !ok {
				continue
			}
		}
		out = append(out, ln.pkg)
	}
	return out, nil
}
