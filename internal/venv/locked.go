package venv

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gopythongo/gopythongo/internal/lock"
	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/python/pep508"
)

// resolveLock takes exactly the distributions venv.lock pins for the target:
// selected by the target interpreter's markers and the extras, each wheel
// chosen by the target's tags, every file verified against its locked hash,
// nothing resolved. An sdist is built only where no locked wheel runs.
func (b *build) resolveLock(ctx context.Context, lockPath string, extras []string, project *WheelFile) ([]WheelFile, string, error) {
	c := b.c
	if len(b.interp.Markers) == 0 {
		return nil, "", fmt.Errorf("the interpreter %s reported no marker variables, which a lock needs", b.interp.Path)
	}
	lk, err := lock.Read(lockPath)
	if err != nil {
		return nil, "", err
	}
	target := lock.Target{Env: b.interp.Markers, Extras: extras}
	pkgs, err := lk.Select(target)
	if err != nil {
		return nil, "", err
	}
	if c.Venv.Project {
		if err := lk.CheckProject(filepath.Join(c.Dir, "pyproject.toml"), target, pkgs); err != nil {
			return nil, "", err
		}
	}
	sum, err := sha256File(lockPath)
	if err != nil {
		return nil, "", err
	}
	key := Key(map[string]any{"lock": sum, "extras": extras, "target": b.target(), "python": b.interp.Executable, "version": b.interp.Version,
		"tags": firstTag(b.interp), "no_build": c.Venv.NoBuild, "isolation": c.Venv.BuildIsolation})
	if ws, ok := b.cache.Recorded("locks", key); ok && !b.o.NoCache && !b.recordless {
		b.unverified = true // hashed when read (wheelsVerified)
		if project != nil {
			ws = append(ws, *project)
		}
		return ws, fmt.Sprintf("%d distribution(s) of %s from the cache, nothing downloaded", len(ws), filepath.Base(lockPath)), nil
	}
	f, err := b.newFetcher()
	if err != nil {
		return nil, "", err
	}
	var ws []WheelFile
	built, platform := 0, 0
	for _, p := range pkgs {
		if err := ctx.Err(); err != nil {
			return nil, "", context.Cause(ctx)
		}
		w, how, err := b.lockedWheel(ctx, f, p)
		if err != nil {
			return nil, "", err
		}
		switch how {
		case "built":
			built++
		case "platform":
			platform++
		}
		ws = append(ws, w)
	}
	all := slices.Clone(ws)
	if project != nil {
		all = append(all, *project)
	}
	if err := complete(all, b.interp.Markers, project, extras); err != nil {
		return nil, "", fmt.Errorf("venv.lock %s: %w", filepath.Base(lockPath), err)
	}
	if err := b.cache.Record("locks", key, ws); err != nil {
		return nil, "", err
	}
	return all, fmt.Sprintf("%d distribution(s) of %s for %s (%d platform wheel(s), %d built from sdists), every hash verified", len(ws), filepath.Base(lockPath), firstTag(b.interp), platform, built), nil
}

// lockedWheel gets the wheel of one locked package: the locked wheel whose
// tags fit the target best, else its sdist built for the target.
func (b *build) lockedWheel(ctx context.Context, f *fetcher, p lock.Package) (WheelFile, string, error) {
	files, err := f.candidates(ctx, p)
	if err != nil {
		return WheelFile{}, "", err
	}
	var wheels []string
	var sdist *lock.File
	byName := map[string]lock.File{}
	for _, file := range files {
		if strings.HasSuffix(file.Name, ".whl") {
			wheels = append(wheels, file.Name)
			byName[file.Name] = file
		} else if sdist == nil {
			file := file
			sdist = &file
		}
	}
	choice := b.interp.ChooseWheel(wheels)
	if choice.File == "" {
		if sdist == nil || b.c.Venv.NoBuild {
			why := "the lock holds no sdist"
			if sdist != nil {
				why = "venv.no_build refuses to build its sdist"
			}
			return WheelFile{}, "", fmt.Errorf("%s %s: no locked wheel runs on the target (%s %s, %s, %s) and %s; refused:\n  %s",
				p.Name, p.Version, b.interp.Implementation, b.interp.Version, b.interp.Markers["platform_machine"], b.interp.Libc, why, strings.Join(choice.Refused, "\n  "))
		}
		path, err := f.fetch(ctx, p, *sdist)
		if err != nil {
			return WheelFile{}, "", err
		}
		w, err := b.buildSdist(ctx, path, sdist.SHA256)
		if err != nil {
			return WheelFile{}, "", fmt.Errorf("%s %s: build %s for the target (no locked wheel runs there): %w", p.Name, p.Version, sdist.Name, err)
		}
		b.o.Log.Printf("  %s %s: built from %s (%d locked wheel(s) refused)", p.Name, p.Version, sdist.Name, len(choice.Refused))
		return w, "built", nil
	}
	path, err := f.fetch(ctx, p, byName[choice.File])
	if err != nil {
		return WheelFile{}, "", err
	}
	how := "pure"
	if choice.Tag.Platform != "any" {
		how = "platform"
		if len(choice.Refused) > 0 {
			b.o.Log.Printf("  %s %s: %s, %s; %d other wheel(s) refused%s", p.Name, p.Version, choice.File, choice.Tag, len(choice.Refused), b.refusals(choice))
		}
	}
	return WheelFile{Path: path, File: choice.File, SHA256: byName[choice.File].SHA256}, how, nil
}

// refusals lists why other wheels were not taken, in verbose runs.
func (b *build) refusals(c python.Choice) string {
	if !b.o.Verbose {
		return " (--verbose says why)"
	}
	return ":\n    " + strings.Join(c.Refused, "\n    ")
}

// buildSdist builds a locked sdist into a wheel for the target with pip, once
// per sdist and target.
func (b *build) buildSdist(ctx context.Context, sdist, sum string) (WheelFile, error) {
	key := Key(map[string]any{"sdist": sum, "target": b.target(), "python": b.interp.Executable, "version": b.interp.Version,
		"isolation": b.c.Venv.BuildIsolation, "epoch": b.o.Epoch.Unix()})
	if ws, ok := b.cache.Lookup("sdist-builds", key); ok && !b.o.NoCache {
		return ws[0], nil
	}
	out := b.scratch("sdist-" + sum[:12])
	args := append([]string{"wheel", "--no-deps", "--wheel-dir", out}, b.pip.Index...)
	if !b.c.Venv.BuildIsolation {
		args = append(args, "--no-build-isolation")
	}
	if err := b.pip.run(ctx, b.builder, "/", append(args, sdist)...); err != nil {
		return WheelFile{}, err
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.whl"))
	if len(files) != 1 {
		return WheelFile{}, fmt.Errorf("building %s gave %d wheels, expected 1", filepath.Base(sdist), len(files))
	}
	w, err := b.cache.Put(files[0])
	if err != nil {
		return WheelFile{}, err
	}
	return w, b.cache.Record("sdist-builds", key, []WheelFile{w})
}

// complete checks that every dependency of what is installed is installed at
// a version it accepts, for the target (as pip check): a lock missing one
// for this target would give a venv that fails at import time.
func complete(ws []WheelFile, env python.Environment, project *WheelFile, extras []string) error {
	versions := map[string]string{}
	metas := map[string]python.Metadata{}
	for _, w := range ws {
		md, err := python.WheelMetadata(w.Path)
		if err != nil {
			return fmt.Errorf("%s: %w", w.File, err)
		}
		versions[python.Normalize(md.Name)] = md.Version
		metas[w.File] = md
	}
	for _, w := range ws {
		md := metas[w.File]
		with := []string{""}
		if project != nil && w.SHA256 == project.SHA256 {
			with = append(with, extras...)
		}
		for _, text := range md.RequiresDist {
			r, err := pep508.ParseRequirement(text)
			if err != nil {
				return fmt.Errorf("%s: %w", w.File, err)
			}
			applies := false
			for _, e := range with {
				ok, err := r.Applies(env.With("extra", e))
				if err != nil {
					return fmt.Errorf("%s: %w", w.File, err)
				}
				applies = applies || ok
			}
			if !applies {
				continue
			}
			v, ok := versions[r.Name]
			if !ok {
				return fmt.Errorf("it is incomplete for this target: %s %s requires %s, which the lock does not hold for it; lock again", md.Name, md.Version, r.Text)
			}
			if !r.Specifier.Contains(v) {
				return fmt.Errorf("it does not fit together: %s %s requires %s, the lock holds %s %s; lock again", md.Name, md.Version, r.Text, r.Name, v)
			}
		}
	}
	return nil
}
