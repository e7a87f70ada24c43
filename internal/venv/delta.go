package venv

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gopythongo/gopythongo/internal/fileread"
	"github.com/gopythongo/gopythongo/internal/fsroot"
	"github.com/gopythongo/gopythongo/internal/python"
)

// An app-only change (a new commit of the project, the same dependencies)
// is most CI builds. Its tree differs from the last one's only in what the
// project's wheel made: its files, the bytecode compiled from them and the
// directories only they needed. So the tree cache records, with each tree,
// which of its entries those are (projectPart), under a base key that names
// every input of the tree but the project's wheel. A build whose tree is not
// cached but whose base is links every other entry from that tree (checked
// as a restore checks), installs the new project wheel, strips and compiles
// only its files, and checks the tree as any build does: the tree a build
// from nothing makes, in the time the project takes.
//
// It is used only where that holds by construction: the native installer,
// which tells what each wheel puts where, and no post_build or extra_files,
// which may read or write anything. Anything that goes wrong before the
// check (a file of the new project that another wheel owns, a .pyc it would
// share with another wheel) drops the base and builds the tree whole, which
// says what is wrong as a build from nothing does.

// projectPart is what of a cached tree the project's wheel made.
type projectPart struct {
	// Base names the tree's inputs but the project's wheel (baseKey).
	Base string `json:"base"`
	// Owned are the entries (paths below the root) that exist because of the
	// project's wheel: its files, their bytecode and the directories only
	// they needed.
	Owned []string `json:"owned"`
	// Needles are the paths the check looked for (but the build's own
	// directory): where they are the same, the linked files need not be
	// read again.
	Needles []string `json:"needles"`
	// ELF says whether any of the entries is an ELF file: where neither
	// this project's nor the next one's are, the next tree needs what this
	// one needs of the system (state.Venv's Depends).
	ELF bool `json:"elf"`
}

// baseKey is the tree key without the project's wheel, "" when an app-only
// change cannot be built from a cached tree (see above).
func (b *build) baseKey(in map[string]any) string {
	c := b.c
	if b.project == nil || c.Venv.Installer != "native" || len(c.Venv.PostBuild) > 0 || len(c.Venv.ExtraFiles) > 0 {
		return ""
	}
	base := maps.Clone(in)
	sums, _ := in["wheels"].([]string)
	i := slices.Index(sums, b.project.SHA256)
	if i < 0 {
		return ""
	}
	base["wheels"] = slices.Delete(slices.Clone(sums), i, i+1)
	base["base_of"] = python.Normalize(projectName(b.project.File))
	return Key(base)
}

// checkNeedles are the needles of the check that are the same for every
// build of a workspace: all but the build's own directory.
func (b *build) checkNeedles() []string { return b.needles()[1:] }

// findBase finds the most recently used cached tree with the base key.
func (c *Cache) findBase(base string) (string, *treeRecord, bool) {
	ents, err := os.ReadDir(filepath.Join(c.Dir, "trees"))
	if err != nil {
		return "", nil, false
	}
	var best string
	var used time.Time
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := c.treeDir(e.Name())
		data, err := fileread.Read(filepath.Join(dir, "base"), 256)
		if err != nil || string(data) != base {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, "record.json")); err == nil && (best == "" || fi.ModTime().After(used)) {
			best, used = e.Name(), fi.ModTime()
		}
	}
	if best == "" {
		return "", nil, false
	}
	rec, ok := c.lookupTree(best)
	if !ok || rec.Project == nil || rec.Project.Base != base {
		return "", nil, false
	}
	return best, rec, true
}

// fromBase builds the tree of an app-only change from the cached tree of
// the same dependencies; false (and nothing in the build directory) when
// there is none or it could not be used, and the tree is built whole.
func (b *build) fromBase(ctx context.Context, key string, wheels []WheelFile) (bool, error) {
	if b.base == "" || b.o.NoCache {
		return false, nil
	}
	oldKey, rec, ok := b.cache.findBase(b.base)
	if !ok {
		return false, nil
	}
	owned := make(map[string]bool, len(rec.Project.Owned))
	for _, p := range rec.Project.Owned {
		owned[p] = true
	}
	all := rec.stamps
	var entries []Entry
	var stamps []stamp
	for i, e := range rec.Entries {
		if owned[e.Path] {
			continue
		}
		entries = append(entries, e)
		if all != nil {
			stamps = append(stamps, all[i])
		}
	}
	if err := validEntries(entries); err != nil {
		b.o.Log.Warnf("the cached tree %s does not say what of it the project made (%v), so the venv is built whole", oldKey[:12], err)
		return false, nil
	}
	root := filepath.Join(b.tmp, RootDir)
	prefix, err := filepath.Rel(root, b.stagingVenv())
	if err != nil {
		return false, err
	}
	prefix = filepath.ToSlash(prefix)
	giveUp := func(what string, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, context.Cause(ctx)
		}
		b.o.Log.Warnf("%s (%v), so the venv is built whole", what, err)
		b.known, b.placed, b.reduced, b.linked, b.compileOnly, b.stripOnly, b.wheels = nil, nil, nil, nil, nil, nil, nil
		b.baseTree, b.baseOwned, b.baseVenv = "", nil, nil
		if err := removeTree(root); err != nil {
			return false, err
		}
		return false, os.MkdirAll(b.staging, 0o755)
	}
	if err := b.phase("tree", func() (string, error) {
		// dist/root as the last build left it is that tree already: it
		// moves here and only its project's entries go.
		if sameTree(b.walkRoot(), rec.Entries, all, time.Time{}) {
			if err := b.takeRoot(root, rec.Project.Owned); err != nil {
				return "", err
			}
			b.setBase(oldKey, rec, entries, prefix, stamps)
			files := 0
			for _, e := range entries {
				if e.Mode.IsRegular() {
					files++
				}
			}
			return fmt.Sprintf("from the cache: %s is the tree %s, which has the same dependencies, as the last build left it: the %d entries its project made removed, the %d files of the rest kept",
				b.c.Project.Dist+"/"+RootDir, oldKey[:12], len(rec.Project.Owned), files), nil
		}
		after := make([]stamp, len(entries))
		done, err := restoreTree(entries, filepath.Join(b.cache.treeDir(oldKey), "root"), root, true, b.o.Epoch, stamps, after)
		if err != nil {
			return "", err
		}
		b.setBase(oldKey, rec, entries, prefix, after)
		return fmt.Sprintf("from the cache: %d files of the tree %s, which has the same dependencies, linked (%d checked against their sha256); the %d entries its project made left out",
			done.files, oldKey[:12], done.hashed, len(rec.Project.Owned)), nil
	}); err != nil {
		// A tree that cannot be restored once cannot be restored again.
		if err := forceRemoveAll(b.cache.treeDir(oldKey)); err != nil {
			return false, fmt.Errorf("remove the unusable cached tree: %w", err)
		}
		return giveUp(fmt.Sprintf("the cached tree %s cannot be used", oldKey[:12]), err)
	}
	if err := b.phase("install", func() (string, error) {
		if _, err := b.install(ctx, []WheelFile{*b.project}); err != nil {
			return "", err
		}
		only, err := b.projectSources(prefix)
		if err != nil {
			return "", err
		}
		b.compileOnly = only
		b.stripOnly = b.placed[b.project.File]
		if b.stripOnly == nil {
			b.stripOnly = []string{}
		}
		return fmt.Sprintf("the project's %s into it, native installer", b.project.File), nil
	}); err != nil {
		return giveUp("the project's wheel cannot go into the cached tree of its dependencies", err)
	}
	if err := b.phase("finish", func() (string, error) { return b.finish(ctx) }); err != nil {
		return giveUp("the project's files cannot be finished in the cached tree of its dependencies", err)
	}
	b.res.FromBase = true
	b.wheels = wheels
	var placed []string
	for _, rel := range b.placed[b.project.File] {
		placed = append(placed, path.Join(prefix, rel))
	}
	if b.baseVenv != nil && anyELF(root, placed) {
		b.baseVenv = nil // the tree's ELF files are not the base's: asked again
	}
	return true, b.seal(ctx, key, wheels)
}

// setBase records the cached tree a build goes on from, and the entries
// (with the files' stamps) it took from it.
func (b *build) setBase(key string, rec *treeRecord, entries []Entry, prefix string, stamps []stamp) {
	b.baseTree, b.baseOwned = key, rec.Project.Owned
	if !rec.Project.ELF {
		b.baseVenv = &rec.Venv
	}
	b.reduced = make(map[string]bool, len(entries))
	for _, e := range entries {
		b.reduced[e.Path] = true
	}
	if slices.Equal(rec.Project.Needles, b.checkNeedles()) && len(stamps) == len(entries) {
		// The build that made these files looked for the same paths.
		b.linked = make(map[string]knownFile, len(entries))
		for i, e := range entries {
			if e.Mode.IsRegular() && stamps[i] != (stamp{}) {
				b.linked[e.Path] = knownFile{sha256: e.SHA256, md5: e.MD5, size: e.Size, st: stamps[i]}
			}
		}
	}
}

// takeRoot moves dist/root, which is the cached tree of the same
// dependencies, to root and removes the entries its project made (in walk
// order). Should the build fail from here, there is no dist/root.
func (b *build) takeRoot(root string, owned []string) error {
	if err := removeTree(root); err != nil {
		return err
	}
	if err := os.Rename(b.res.Root, root); err != nil {
		return fmt.Errorf("take %s: %w", b.res.Root, err)
	}
	r, err := fsroot.Open(root)
	if err != nil {
		return err
	}
	defer r.Close()
	for i := len(owned) - 1; i >= 0; i-- {
		if err := r.Remove(owned[i]); err != nil {
			return err
		}
	}
	return nil
}

// projectSources are the project's Python files that compileall compiles
// (those below lib), at the deploy path; prefix is the venv below the root. A .pyc of one of them that is in
// the tree already is another wheel's: an error, and the tree is built whole.
func (b *build) projectSources(prefix string) ([]string, error) {
	compiled := map[string]string{} // source -> a .pyc of it in the tree
	for p := range b.reduced {
		if src, ok := pycSource(p); ok {
			compiled[src] = p
		}
	}
	var out []string
	for _, rel := range b.placed[b.project.File] {
		if !strings.HasPrefix(rel, "lib/") || !strings.HasSuffix(rel, ".py") {
			continue
		}
		if pyc, ok := compiled[prefix+"/"+rel]; ok {
			return nil, fmt.Errorf("%s, the bytecode of the project's %s, comes from another wheel", pyc, rel)
		}
		out = append(out, path.Join(b.deploy, rel))
	}
	if out == nil {
		out = []string{} // nothing to compile, not everything
	}
	return out, nil
}

// pycSource is the source a .pyc in a __pycache__ directory is compiled
// from (lib/x/__pycache__/m.cpython-311.pyc: lib/x/m.py).
func pycSource(rel string) (string, bool) {
	dir, name := path.Split(rel)
	if path.Base(dir) != "__pycache__" || !strings.HasSuffix(name, ".pyc") {
		return "", false
	}
	module, _, ok := strings.Cut(name, ".")
	if !ok || module == "" {
		return "", false
	}
	return path.Join(path.Dir(path.Clean(dir)), module+".py"), true
}

// projectOwned lists the entries of the finished tree that exist because of
// the project's wheel, for the next app-only change; nil when the project's
// part cannot be told apart (then that change builds the tree whole).
func (b *build) projectOwned(entries []Entry, root string) *projectPart {
	if b.base == "" || b.placed == nil {
		return nil
	}
	rels, ok := b.placed[b.project.File]
	if !ok {
		return nil
	}
	rel, err := filepath.Rel(root, b.stagingVenv())
	if err != nil {
		return nil
	}
	prefix := filepath.ToSlash(rel)
	var foreign func(rel string, dir bool) bool
	if b.reduced != nil {
		// Made from a cached tree: what was there before the project is
		// the rest's.
		foreign = func(rel string, _ bool) bool { return b.reduced[prefix+"/"+rel] }
	} else {
		files, dirs := map[string]bool{}, map[string]bool{}
		for file, rels := range b.placed {
			if file == b.project.File {
				continue
			}
			for _, r := range rels {
				files[r] = true
				for d := path.Dir(r); d != "."; d = path.Dir(d) {
					dirs[d] = true
				}
			}
		}
		foreign = func(rel string, dir bool) bool {
			if dir {
				return b.skeleton[rel] || dirs[rel]
			}
			return files[rel]
		}
	}
	owned, err := ownedByProject(entries, prefix, rels, foreign)
	if err != nil {
		b.o.Log.Printf("the next app-only change builds the tree whole: %v", err)
		return nil
	}
	return &projectPart{Base: b.base, Owned: owned, Needles: b.checkNeedles(), ELF: anyELF(root, owned)}
}

// anyELF says whether any of the files at paths below root is an ELF file
// (or cannot be read, which counts as one).
func anyELF(root string, paths []string) bool {
	for _, p := range paths {
		f, err := os.Open(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // left out by venv.strip
			}
			return true
		}
		magic := make([]byte, 4)
		n, _ := io.ReadFull(f, magic)
		f.Close()
		if n == 4 && bytes.Equal(magic, []byte(elf.ELFMAG)) {
			return true
		}
	}
	return false
}

// ownedByProject lists the entries (in walk order, paths below the root) that
// exist because of the project: the files its wheel put into the venv (rels,
// below the venv at prefix), the .pyc of its sources that no other wheel
// ships, and the directories that hold nothing else and that neither the
// venv nor another wheel needs (foreign) — or only __pycache__ with its
// .pyc. The venv's root and what is above it are never the project's.
func ownedByProject(entries []Entry, prefix string, rels []string, foreign func(rel string, dir bool) bool) ([]string, error) {
	mine := make(map[string]bool, len(rels))
	dirs := map[string]bool{}
	for _, r := range rels {
		if slices.Contains(strings.Split(r, "/"), "__pycache__") {
			return nil, fmt.Errorf("the project's wheel puts %s into a __pycache__ directory, which compileall writes", r)
		}
		mine[r] = true
		for d := path.Dir(r); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	owned := make([]bool, len(entries))
	type count struct{ all, owned int }
	children := map[string]count{}
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		rel, ok := strings.CutPrefix(e.Path, prefix+"/")
		if !ok {
			continue
		}
		var own bool
		if e.Mode.IsDir() {
			c := children[rel]
			own = !foreign(rel, true) && c.all == c.owned && (dirs[rel] || path.Base(rel) == "__pycache__" && c.all > 0)
		} else if own = mine[rel]; !own {
			if src, ok := pycSource(rel); ok && mine[src] {
				if foreign(rel, false) {
					return nil, fmt.Errorf("%s, the bytecode of the project's %s, comes from another wheel too", rel, src)
				}
				own = true
			}
		}
		owned[i] = own
		c := children[path.Dir(rel)]
		c.all++
		if own {
			c.owned++
		}
		children[path.Dir(rel)] = c
	}
	var out []string
	for i, e := range entries {
		if owned[i] {
			out = append(out, e.Path)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("nothing in the tree is the project's")
	}
	return out, nil
}

// keepFromBase keeps the tree of an app-only change in the cache by making
// the cached tree it was made from into it (moveTree); where that fails,
// by linking every file (keepTree).
func (b *build) keepFromBase(key, root string, entries []Entry, record func() (treeRecord, error)) (bool, error) {
	var added []string
	for _, e := range entries {
		if !b.reduced[e.Path] {
			added = append(added, e.Path)
		}
	}
	linked, err := b.cache.moveTree(b.baseTree, b.baseOwned, key, root, entries, added, record)
	if err == nil {
		return linked, nil
	}
	if _, recErr := record(); recErr != nil {
		return false, recErr
	}
	b.o.Log.Warnf("the cached tree %s could not be made into this one (%v), so every file is linked into the cache", b.baseTree[:12], err)
	linked, err = b.cache.keepTree(key, root, entries, record)
	if err != nil || !linked {
		return linked, err
	}
	_, err = b.cache.pruneTrees(keptTrees)
	return true, err
}
