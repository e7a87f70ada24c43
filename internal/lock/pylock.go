package lock

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/python/pep508"
)

// PEP 751.
type pylockFile struct {
	LockVersion string `toml:"lock-version"`
	Packages    []struct {
		Name      string `toml:"name"`
		Version   string `toml:"version"`
		Marker    string `toml:"marker"`
		Index     string `toml:"index"`
		Directory *struct {
			Path     string `toml:"path"`
			Editable bool   `toml:"editable"`
		} `toml:"directory"`
		VCS     any           `toml:"vcs"`
		Archive any           `toml:"archive"`
		Sdist   *pylockFileT  `toml:"sdist"`
		Wheels  []pylockFileT `toml:"wheels"`
	} `toml:"packages"`
}

type pylockFileT struct {
	Name   string            `toml:"name"`
	URL    string            `toml:"url"`
	Path   string            `toml:"path"`
	Hashes map[string]string `toml:"hashes"`
}

type pylockPkg struct {
	pkg    Package
	marker *pep508.Marker
}

type pyLock struct{ pkgs []pylockPkg }

func (f pylockFileT) file() (File, error) {
	name := f.Name
	if name == "" {
		loc := f.URL
		if loc == "" {
			loc = f.Path
		}
		name = loc[strings.LastIndex(loc, "/")+1:]
	}
	sum := strings.ToLower(f.Hashes["sha256"])
	if len(sum) != 64 {
		return File{}, fmt.Errorf("%s has no sha256 hash; GoPythonGo verifies every file", name)
	}
	return File{Name: name, URL: f.URL, SHA256: sum}, nil
}

func readPyLock(data []byte) (selector, string, error) {
	var f pylockFile
	if _, err := toml.Decode(string(data), &f); err != nil {
		return nil, "", err
	}
	if !strings.HasPrefix(f.LockVersion, "1.") {
		return nil, "", fmt.Errorf("lock-version %q: GoPythonGo reads PEP 751 lock-version 1.x", f.LockVersion)
	}
	var l pyLock
	project := ""
	for _, p := range f.Packages {
		name := python.Normalize(p.Name)
		if p.Directory != nil {
			if p.Directory.Path == "." {
				project = name // the project itself, built from its source
				continue
			}
			return nil, "", fmt.Errorf("%s is a directory (%s); only the project itself may be, the rest must be index files with hashes", name, p.Directory.Path)
		}
		if p.VCS != nil || p.Archive != nil {
			return nil, "", fmt.Errorf("%s comes from a VCS or an archive URL; GoPythonGo installs locked index files with hashes only", name)
		}
		pkg := Package{Name: name, Version: p.Version, Index: p.Index}
		for _, w := range p.Wheels {
			file, err := w.file()
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w", name, err)
			}
			pkg.Wheels = append(pkg.Wheels, file)
		}
		if p.Sdist != nil {
			file, err := p.Sdist.file()
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w", name, err)
			}
			pkg.Sdist = &file
		}
		lp := pylockPkg{pkg: pkg}
		if p.Marker != "" {
			m, err := pep508.ParseMarker(p.Marker)
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w", name, err)
			}
			lp.marker = &m
		}
		l.pkgs = append(l.pkgs, lp)
	}
	return &l, project, nil
}

func (l *pyLock) selectFor(t Target) ([]Package, error) {
	env := t.Env.With("extras", strings.Join(t.Extras, ",")).With("dependency_groups", strings.Join(t.Groups, ","))
	var out []Package
	for _, p := range l.pkgs {
		if p.marker != nil {
			ok, err := evalAnyExtra(p.marker, env, t.Extras)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.pkg.Name, err)
			}
			if !ok {
				continue
			}
		}
		out = append(out, p.pkg)
	}
	return out, nil
}

// evalAnyExtra evaluates a marker that may test extra: true when it holds
// without one or with any extra asked for.
func evalAnyExtra(m *pep508.Marker, env python.Environment, extras []string) (bool, error) {
	for _, e := range append([]string{""}, extras...) {
		ok, err := m.Eval(env.With("extra", e))
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}
