package venv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gopythongo/gopythongo/internal/fileread"
	"github.com/gopythongo/gopythongo/internal/python/pep508"
)

// The build environments of PEP 517 build isolation: where pip installs a
// backend's declared requirements afresh for every build, GoPythonGo
// resolves them locally and installs them natively once per set of wheels,
// into the cache, and builds with that environment's site-packages in
// place of the interpreter's:
//
//	buildenvs/<key>/lib/pythonX.Y/site-packages   key = the wheels' sha256s, the interpreter, the target

// buildEnv is a build environment: its site-packages, its scripts and what
// it holds.
type buildEnv struct {
	site, scripts string
	versions      map[string]string // normalized name -> version
}

// buildEnv returns the build environment for a backend's requirements, or
// a giveUp error where pip must make it: an isolated builder (which sees the
// cache read-only), or requirements the local resolver leaves to pip.
// Without build isolation the interpreter's own packages are used (nil).
func (b *build) buildEnv(ctx context.Context, requires []string) (*buildEnv, error) {
	if !b.c.Venv.BuildIsolation {
		return nil, nil
	}
	if _, isolated := b.builder.(isolatedBuilder); isolated {
		return nil, giveUp("an isolated builder makes its own build environment")
	}
	if len(requires) == 0 {
		return nil, giveUp("pyproject.toml declares no build requirements")
	}
	r, err := b.localResolver()
	if err != nil {
		return nil, err
	}
	var roots []pep508.Requirement
	for _, s := range requires {
		q, err := pep508.ParseRequirement(s)
		if err != nil {
			return nil, giveUp(fmt.Sprintf("build-system.requires: %v", err))
		}
		roots = append(roots, q)
	}
	dists, err := r.resolve(ctx, roots, nil, nil)
	if err != nil {
		return nil, err
	}
	ws := make([]WheelFile, len(dists))
	sums := make([]string, len(dists))
	env := &buildEnv{versions: map[string]string{}}
	for i, d := range dists {
		if ws[i], err = b.cache.Put(d.path); err != nil {
			return nil, err
		}
		sums[i] = ws[i].SHA256
		env.versions[d.name] = d.meta.Version
	}
	key := Key(map[string]any{"format": 2, "wheels": sums, "python": b.interp.Executable, "version": b.interp.Version, "target": b.target()})
	dir := filepath.Join(b.cache.Dir, "buildenvs", key)
	env.site = filepath.Join(dir, filepath.FromSlash(b.layout().site()))
	env.scripts = filepath.Join(dir, "bin")
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return env, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".new-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	inst := &nativeInstaller{staging: tmp, deploy: dir, layout: b.layout(), limits: b.limits()}
	if err := inst.Install(ctx, b.builder, ws); err != nil {
		return nil, fmt.Errorf("make the build environment of %v: %w", requires, err)
	}
	// The scripts' #! names bin/python: the interpreter, which finds the
	// environment's packages through the sitecustomize on PYTHONPATH that
	// the backend's commands inherit, as in pip's build environment.
	if err := os.MkdirAll(filepath.Join(tmp, "bin"), 0o755); err != nil {
		return nil, err
	}
	if err := os.Symlink(b.interp.Executable, filepath.Join(tmp, "bin", "python")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		return nil, err
	}
	// Another build may have made it meanwhile; its copy is as good.
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) && !isDir(dir) {
		return nil, err
	}
	return env, nil
}

// requiresMet checks that what the backend asks for besides its declared
// requirements (get_requires_for_build_wheel, in the file the hook wrote) is
// in the build environment; pip installs anything else in a second step,
// which is left to it (a giveUp error).
func (b *build) requiresMet(env *buildEnv, file string) error {
	data, err := fileread.Read(file, 1<<20) // written by the backend's hook
	if err != nil {
		return err
	}
	var asked []string
	if err := json.Unmarshal(data, &asked); err != nil {
		return fmt.Errorf("get_requires_for_build_wheel: %w", err)
	}
	for _, s := range asked {
		q, err := pep508.ParseRequirement(s)
		if err != nil {
			return giveUp(fmt.Sprintf("the backend asks for %q: %v", s, err))
		}
		if ok, err := q.Applies(b.interp.Markers.With("extra", "")); err != nil || !ok {
			continue
		}
		v, ok := env.versions[q.Name]
		if !ok || !q.Specifier.Contains(v) || len(q.Extras) > 0 || q.URL != "" {
			return giveUp(fmt.Sprintf("the backend asks for %s, which pip installs in a second step", s))
		}
	}
	return nil
}
