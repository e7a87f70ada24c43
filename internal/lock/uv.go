package lock

import (
	"fmt"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/gopythongo/gopythongo/internal/lazy"
	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/python/pep508"
)

type uvDep struct {
	Name    string   `toml:"name"`
	Version string   `toml:"version"`
	Marker  string   `toml:"marker"`
	Extra   []string `toml:"extra"`
}

type uvFile struct {
	Hash string `toml:"hash"`
	URL  string `toml:"url"`
	Path string `toml:"path"`
}

type uvPackage struct {
	Name    string `toml:"name"`
	Version string `toml:"version"`
	Source  struct {
		Registry  string `toml:"registry"`
		Editable  string `toml:"editable"`
		Virtual   string `toml:"virtual"`
		Directory string `toml:"directory"`
		Git       string `toml:"git"`
		URL       string `toml:"url"`
		Path      string `toml:"path"`
	} `toml:"source"`
	Dependencies         []uvDep            `toml:"dependencies"`
	OptionalDependencies map[string][]uvDep `toml:"optional-dependencies"`
	DevDependencies      map[string][]uvDep `toml:"dev-dependencies"`
	Sdist                *uvFile            `toml:"sdist"`
	Wheels               []uvFile           `toml:"wheels"`
	Metadata             struct {
		RequiresDist []struct {
			Name      string   `toml:"name"`
			Specifier string   `toml:"specifier"`
			Marker    string   `toml:"marker"`
			Extras    []string `toml:"extras"`
		} `toml:"requires-dist"`
	} `toml:"metadata"`
}

type uvLock struct {
	Version  int         `toml:"version"`
	Packages []uvPackage `toml:"package"`
	root     *uvPackage
}

func readUV(data []byte) (selector, string, error) {
	var l uvLock
	if _, err := toml.Decode(string(data), &l); err != nil {
		return nil, "", err
	}
	if l.Version != 1 {
		return nil, "", fmt.Errorf("version %d: GoPythonGo reads uv.lock version 1", l.Version)
	}
	for i := range l.Packages {
		p := &l.Packages[i]
		p.Name = python.Normalize(p.Name)
		if p.Source.Editable == "." || p.Source.Virtual == "." || p.Source.Directory == "." {
			l.root = p
		}
	}
	if l.root == nil {
		return nil, "", fmt.Errorf("it names no project at \".\" (source editable or virtual); lock the project with uv lock in its directory")
	}
	return &l, l.root.Name, nil
}

func (p *uvPackage) pkg() (Package, error) {
	out := Package{Name: p.Name, Version: p.Version, Index: p.Source.Registry}
	switch {
	case p.Source.Registry != "":
	case p.Source.Git != "" || p.Source.URL != "" || p.Source.Path != "" || p.Source.Directory != "" || p.Source.Editable != "":
		return Package{}, fmt.Errorf("%s comes from a git, URL, path or directory source; GoPythonGo installs locked index files with hashes only", p.Name)
	}
	conv := func(f uvFile) (File, error) {
		loc := f.URL
		if loc == "" {
			loc = f.Path
		}
		sum, ok := strings.CutPrefix(f.Hash, "sha256:")
		if !ok || len(sum) != 64 {
			return File{}, fmt.Errorf("%s: %s has no sha256 hash", p.Name, loc)
		}
		return File{Name: loc[strings.LastIndex(loc, "/")+1:], URL: f.URL, SHA256: strings.ToLower(sum)}, nil
	}
	for _, w := range p.Wheels {
		f, err := conv(w)
		if err != nil {
			return Package{}, err
		}
		out.Wheels = append(out.Wheels, f)
	}
	if p.Sdist != nil {
		f, err := conv(*p.Sdist)
		if err != nil {
			return Package{}, err
		}
		out.Sdist = &f
	}
	return out, nil
}

// find resolves a dependency to its package: by name, and by version when
// the lock holds several (a fork of the resolution).
func (l *uvLock) find(d uvDep) (*uvPackage, error) {
	name := python.Normalize(d.Name)
	var found []*uvPackage
	for i := range l.Packages {
		p := &l.Packages[i]
		if p.Name == name && (d.Version == "" || p.Version == d.Version) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%s is a dependency but not in the lock; lock again with uv lock", name)
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("%s is locked at several versions and the dependency names none", name)
}

func (l *uvLock) selectFor(t Target) ([]Package, error) {
	type item struct {
		p      *uvPackage
		extras []string
	}
	seen := map[string]bool{} // name@version[extra]
	var out []Package
	taken := map[*uvPackage]bool{}
	queue := []item{{l.root, t.Extras}}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		deps := slices.Clone(it.p.Dependencies)
		for _, e := range it.extras {
			deps = append(deps, it.p.OptionalDependencies[python.Normalize(e)]...)
		}
		if it.p == l.root {
			for _, g := range t.Groups {
				deps = append(deps, it.p.DevDependencies[python.Normalize(g)]...)
			}
		}
		for _, d := range deps {
			if d.Marker != "" {
				m, err := pep508.ParseMarker(d.Marker)
				if err != nil {
					return nil, fmt.Errorf("%s's dependency %s: %w", it.p.Name, d.Name, err)
				}
				ok, err := m.Eval(t.Env.With("extra", ""))
				if err != nil {
					return nil, fmt.Errorf("%s's dependency %s: %w", it.p.Name, d.Name, err)
				}
				if !ok {
					continue
				}
			}
			p, err := l.find(d)
			if err != nil {
				return nil, err
			}
			key := p.Name + "@" + p.Version + "[" + strings.Join(d.Extra, ",") + "]"
			if p == l.root { // the project's extras of itself
				if !seen[key] {
					seen[key] = true
					queue = append(queue, item{p, d.Extra})
				}
				continue
			}
			if !taken[p] {
				taken[p] = true
				pkg, err := p.pkg()
				if err != nil {
					return nil, err
				}
				out = append(out, pkg)
			}
			if !seen[key] {
				seen[key] = true
				queue = append(queue, item{p, d.Extra})
			}
		}
	}
	return out, nil
}

// checkMetadata holds the project's requires-dist as uv recorded it against
// pyproject.toml, as uv lock --check does: a dependency added, removed or
// changed since the lock was made shows there. Dependencies compare by name
// and the extra they belong to, then by specifier.
func (l *uvLock) checkMetadata(lockName, pyproject string) error {
	all, err := allProjectRequirements(pyproject)
	if err != nil {
		return err
	}
	locked := map[string]string{}
	for _, r := range l.root.Metadata.RequiresDist {
		locked[python.Normalize(r.Name)+extraOf(r.Marker)] = r.Specifier
	}
	wanted := map[string]bool{}
	for _, r := range all {
		k := r.Name + extraOf(markerText(r))
		wanted[k] = true
		spec, ok := locked[k]
		if !ok {
			return &StaleError{lockName, r.Name, fmt.Sprintf("is in pyproject.toml (%s) but not in the lock's record of it", r.Text)}
		}
		if normSpec(spec) != normSpec(r.Specifier.String()) {
			return &StaleError{lockName, r.Name, fmt.Sprintf("was locked as %q, pyproject.toml now says %q", spec, r.Specifier.String())}
		}
	}
	for k := range locked {
		if !wanted[k] {
			name, _, _ := strings.Cut(k, "|")
			return &StaleError{lockName, name, "is in the lock's record of pyproject.toml but no longer in pyproject.toml"}
		}
	}
	return nil
}

func markerText(r pep508.Requirement) string {
	if r.Marker == nil {
		return ""
	}
	return r.Marker.String()
}

var extraRE = lazy.Regexp(`extra\s*==\s*['"]([^'"]+)['"]`)

// extraOf names the extra a marker ties a dependency to ("|test"), "" none.
func extraOf(m string) string {
	if x := extraRE().FindStringSubmatch(m); x != nil {
		return "|" + python.Normalize(x[1])
	}
	return ""
}

func normSpec(s string) string {
	parts := strings.Split(strings.ReplaceAll(s, " ", ""), ",")
	slices.Sort(parts)
	return strings.Join(parts, ",")
}
