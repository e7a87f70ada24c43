// Package lock reads the lock files Python projects keep — uv.lock, PEP 751
// pylock.toml, poetry.lock and requirements files pinned with --hash — and
// selects from each exactly the distributions a target installs: by its marker
// variables, the extras and the dependency groups asked for. Nothing is
// resolved; a lock that does not cover what pyproject.toml asks for is stale.
package lock

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/python/pep508"
)

// Format is a kind of lock file.
type Format string

// The lock formats, named as their files are.
const (
	UV           Format = "uv.lock"
	PyLock       Format = "pylock.toml"
	Poetry       Format = "poetry.lock"
	Requirements Format = "requirements"
)

// File is a distribution file the lock pins.
type File struct {
	Name   string // file name; "" when the lock names only the hash (requirements)
	URL    string // where the lock says it is, "" unknown
	SHA256 string // hex
}

// Package is one locked distribution.
type Package struct {
	Name    string // normalized
	Version string
	Wheels  []File
	Sdist   *File
	// Index is the simple index the lock says it came from, "" unknown.
	Index string
	// Hashes are a requirements line's pins, which name no file.
	Hashes []string
}

// Lock is a lock file, read.
type Lock struct {
	Format Format
	Path   string
	// Project is the project the lock was made for, when it says (uv.lock,
	// pylock.toml).
	Project string
	sel     selector
}

// Target is what a selection is made for.
type Target struct {
	Env    python.Environment
	Extras []string // of the project
	Groups []string // dependency groups (PEP 735) / poetry groups besides main
}

type selector interface {
	selectFor(t Target) ([]Package, error)
}

// maxSize bounds a lock file read: the largest real ones are a few MiB.
const maxSize = 64 << 20

// DetectFormat names a lock file's format by its name.
func DetectFormat(path string) (Format, error) {
	base := filepath.Base(path)
	switch {
	case base == "uv.lock":
		return UV, nil
	case base == "pylock.toml" || strings.HasPrefix(base, "pylock.") && strings.HasSuffix(base, ".toml"):
		return PyLock, nil
	case base == "poetry.lock":
		return Poetry, nil
	case strings.HasSuffix(base, ".txt") || strings.HasSuffix(base, ".in"):
		return Requirements, nil
	}
	return "", fmt.Errorf("venv.lock %s is no lock file GoPythonGo reads: name it uv.lock, pylock.toml (or pylock.<name>.toml, PEP 751), poetry.lock, or a requirements file *.txt pinned with --hash", base)
}

// Read reads a lock file of any format.
func Read(path string) (*Lock, error) {
	format, err := DetectFormat(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("venv.lock: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("venv.lock: read %s: %w", path, err)
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("venv.lock: %s is larger than %d MiB; no real lock file is", path, maxSize>>20)
	}
	l := &Lock{Format: format, Path: path}
	switch format {
	case UV:
		l.sel, l.Project, err = readUV(data)
	case PyLock:
		l.sel, l.Project, err = readPyLock(data)
	case Poetry:
		l.sel, err = readPoetry(data)
	case Requirements:
		l.sel, err = readRequirements(data)
	}
	if err != nil {
		return nil, fmt.Errorf("venv.lock: %s (%s): %w", path, format, err)
	}
	return l, nil
}

// Select lists the distributions the target installs, sorted by name; the
// project itself is not among them.
func (l *Lock) Select(t Target) ([]Package, error) {
	pkgs, err := l.sel.selectFor(t)
	if err != nil {
		return nil, fmt.Errorf("venv.lock %s: %w", filepath.Base(l.Path), err)
	}
	slices.SortFunc(pkgs, func(a, b Package) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(pkgs); i++ {
		if pkgs[i].Name == pkgs[i-1].Name {
			return nil, fmt.Errorf("venv.lock %s: %s is locked twice for this target (%s and %s)", filepath.Base(l.Path), pkgs[i].Name, pkgs[i-1].Version, pkgs[i].Version)
		}
	}
	return pkgs, nil
}

// StaleError says which package shows that a lock no longer matches
// pyproject.toml.
type StaleError struct {
	Lock, Package, Reason string
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("venv.lock %s is stale against pyproject.toml: %s %s; lock again (uv lock, poetry lock, pip-compile) and commit the lock", e.Lock, e.Package, e.Reason)
}

// CheckProject holds a selection against what pyproject.toml asks for the
// target: every dependency that applies (with the extras) must be locked at
// a version it accepts.
func (l *Lock) CheckProject(pyproject string, t Target, selected []Package) error {
	reqs, err := ProjectRequirements(pyproject, t.Extras, t.Groups)
	if err != nil {
		return err
	}
	byName := map[string]Package{}
	for _, p := range selected {
		byName[p.Name] = p
	}
	for _, r := range reqs {
		ok, err := applies(r, t.Env, t.Extras)
		if err != nil {
			return fmt.Errorf("pyproject.toml: %w", err)
		}
		if !ok {
			continue
		}
		p, found := byName[r.Name]
		if !found {
			return &StaleError{filepath.Base(l.Path), r.Name, fmt.Sprintf("is required (%s) but not locked for this target", r.Text)}
		}
		if !r.Specifier.Contains(p.Version) {
			return &StaleError{filepath.Base(l.Path), r.Name, fmt.Sprintf("is locked at %s, which %s does not accept", p.Version, r.Text)}
		}
	}
	if s, ok := l.sel.(*uvLock); ok {
		return s.checkMetadata(filepath.Base(l.Path), pyproject)
	}
	return nil
}

// applies evaluates a requirement's marker with no extra and with each extra
// asked for.
func applies(r pep508.Requirement, env python.Environment, extras []string) (bool, error) {
	if r.Marker == nil {
		return true, nil
	}
	return evalAnyExtra(r.Marker, env, extras)
}
