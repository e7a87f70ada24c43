package lock

import (
	"fmt"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/python/pep508"
)

type poetryFile struct {
	Package []struct {
		Name     string   `toml:"name"`
		Version  string   `toml:"version"`
		Optional bool     `toml:"optional"`
		Groups   []string `toml:"groups"`
		Markers  any      `toml:"markers"` // a string, or a table by group
		Files    []struct {
			File string `toml:"file"`
			Hash string `toml:"hash"`
		} `toml:"files"`
		Source *struct {
			Type string `toml:"type"`
			URL  string `toml:"url"`
		} `toml:"source"`
	} `toml:"package"`
	Extras   map[string][]string `toml:"extras"`
	Metadata struct {
		LockVersion string `toml:"lock-version"`
	} `toml:"metadata"`
}

type poetryPkg struct {
	pkg      Package
	optional bool
	groups   []string
	markers  map[string]*pep508.Marker // by group; "" for all
}

type poetryLock struct {
	pkgs   []poetryPkg
	extras map[string][]string
}

func readPoetry(data []byte) (selector, error) {
	var f poetryFile
	if _, err := toml.Decode(string(data), &f); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(f.Metadata.LockVersion, "2.") {
		return nil, fmt.Errorf("lock-version %q: GoPythonGo reads poetry.lock 2.x (Poetry 1.5 and later; poetry lock writes it)", f.Metadata.LockVersion)
	}
	l := &poetryLock{extras: map[string][]string{}}
	for k, v := range f.Extras {
		for _, n := range v {
			l.extras[python.Normalize(k)] = append(l.extras[python.Normalize(k)], python.Normalize(strings.Fields(n)[0]))
		}
	}
	for _, p := range f.Package {
		name := python.Normalize(p.Name)
		pkg := Package{Name: name, Version: p.Version, Index: "https://pypi.org/simple"}
		if p.Source != nil {
			switch p.Source.Type {
			case "legacy":
				pkg.Index = p.Source.URL
			case "directory", "file", "git", "url":
				return nil, fmt.Errorf("%s comes from a %s source; GoPythonGo installs locked index files with hashes only", name, p.Source.Type)
			}
		}
		for _, file := range p.Files {
			sum, ok := strings.CutPrefix(file.Hash, "sha256:")
			if !ok || len(sum) != 64 {
				return nil, fmt.Errorf("%s: %s has no sha256 hash", name, file.File)
			}
			lf := File{Name: file.File, SHA256: strings.ToLower(sum)}
			if strings.HasSuffix(file.File, ".whl") {
				pkg.Wheels = append(pkg.Wheels, lf)
			} else {
				pkg.Sdist = &lf
			}
		}
		pp := poetryPkg{pkg: pkg, optional: p.Optional, groups: p.Groups, markers: map[string]*pep508.Marker{}}
		if len(pp.groups) == 0 {
			pp.groups = []string{"main"}
		}
		marks := map[string]string{}
		switch m := p.Markers.(type) {
		case string:
			marks[""] = m
		case map[string]any:
			for g, v := range m {
				if s, ok := v.(string); ok {
					marks[g] = s
				}
			}
		}
		for g, s := range marks {
			mk, err := pep508.ParseMarker(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			pp.markers[g] = &mk
		}
		l.pkgs = append(l.pkgs, pp)
	}
	return l, nil
}

func (l *poetryLock) selectFor(t Target) ([]Package, error) {
	groups := append([]string{"main"}, t.Groups...)
	inExtra := map[string]bool{}
	for _, e := range t.Extras {
		for _, n := range l.extras[python.Normalize(e)] {
			inExtra[n] = true
		}
	}
	var out []Package
	for _, p := range l.pkgs {
		take := false
		for _, g := range p.groups {
			if !slices.Contains(groups, g) {
				continue
			}
			m := p.markers[g]
			if m == nil {
				m = p.markers[""]
			}
			ok := true
			if m != nil {
				var err error
				if ok, err = evalAnyExtra(m, t.Env, t.Extras); err != nil {
					return nil, fmt.Errorf("%s: %w", p.pkg.Name, err)
				}
			}
			take = take || ok
		}
		if p.optional && !inExtra[p.pkg.Name] && !markerNamesExtra(p, t.Extras) {
			take = false
		}
		if take {
			out = append(out, p.pkg)
		}
	}
	return out, nil
}

// markerNamesExtra: an optional package also comes in through a dependency's
// extra, which poetry writes into its marker.
func markerNamesExtra(p poetryPkg, extras []string) bool {
	for _, m := range p.markers {
		for _, e := range extras {
			if strings.Contains(m.String(), `"`+e+`"`) || strings.Contains(m.String(), `'`+e+`'`) {
				return true
			}
		}
	}
	return false
}
