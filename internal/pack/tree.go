// Package pack turns the staging tree of gopythongo-build-venv into artifacts:
// .deb, .rpm, tar archives and OCI images, each written deterministically from
// SOURCE_DATE_EPOCH, under a temporary name and renamed when complete.
package pack

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/treesums"
)

// Entry is one file, directory or link of the tree.
type Entry struct {
	// Path is relative to the tree's root, with slashes: opt/hello/bin/python.
	Path string
	Mode fs.FileMode
	Size int64
	// Link is a symlink's target.
	Link string
	// HardLink names an earlier entry that is the same file.
	HardLink string
	// Source is the file on disk.
	Source string
	// Project marks the files of the project's own distribution (its own OCI
	// layer).
	Project bool
	// Data is the content of a file the packer generates (Source is empty).
	Data []byte
	// Stamp is a regular file's inode as the scan saw it: the md5 sums
	// gopythongo-build-venv recorded hold while it does.
	Stamp treesums.Stamp
}

// IsDir reports whether the entry is a directory.
func (e Entry) IsDir() bool { return e.Mode.IsDir() }

// IsSymlink reports whether the entry is a symbolic link.
func (e Entry) IsSymlink() bool { return e.Mode&fs.ModeSymlink != 0 }

// Tree is the staging tree in the order every format writes it.
type Tree struct {
	Root    string // dist/root on disk
	Deploy  string // /opt/hello
	Entries []Entry
	// Outside lists symlinks that point out of the deploy path (reported).
	Outside []string
	// HasELF says whether any file is an ELF binary: the package is then for
	// this machine's architecture, not "all".
	HasELF bool
	// Size is the sum of the regular files' sizes.
	Size int64
}

// Scan reads a staging tree. Every file must be below the deploy path; a
// symlink pointing out of it is kept and reported.
func Scan(root, deploy string, venv *state.Venv) (*Tree, error) {
	if _, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("no staging tree at %s: run gopythongo-build-venv first", root)
	}
	t := &Tree{Root: root, Deploy: deploy}
	dep := strings.TrimPrefix(path.Clean(deploy), "/")
	inodes := map[[2]uint64]string{}
	interp := ""
	if venv != nil {
		interp = venv.Interpreter.Executable
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		inside := rel == dep || strings.HasPrefix(rel, dep+"/")
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if !inside && !(fi.IsDir() && strings.HasPrefix(dep+"/", rel+"/")) {
			return fmt.Errorf("%s is outside the deploy path %s: the package holds the venv only (move it below %s, e.g. with venv.extra_files)", filepath.Join(root, rel), deploy, deploy)
		}
		e := Entry{Path: rel, Mode: fi.Mode(), Source: p}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if e.Link, err = os.Readlink(p); err != nil {
				return err
			}
			target := e.Link
			if !path.IsAbs(target) {
				target = path.Join("/", path.Dir(rel), target)
			}
			if target != "/"+dep && !strings.HasPrefix(target, "/"+dep+"/") && target != interp && !strings.HasPrefix(path.Base(target), "python") {
				t.Outside = append(t.Outside, fmt.Sprintf("/%s -> %s", rel, e.Link))
			}
		case fi.Mode().IsRegular():
			e.Size = fi.Size()
			e.Stamp, _ = treesums.StampOfInfo(fi)
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
				key := [2]uint64{uint64(st.Dev), st.Ino}
				if first, ok := inodes[key]; ok {
					e.HardLink, e.Size = first, 0
				} else {
					inodes[key] = rel
				}
			}
			if e.HardLink == "" {
				t.Size += e.Size
				if !t.HasELF && e.Size > 4 && isELF(p) {
					t.HasELF = true
				}
			}
		case fi.IsDir():
		default:
			return fmt.Errorf("%s is neither a file, a directory nor a symlink", p)
		}
		t.Entries = append(t.Entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if venv != nil {
		if err := t.markProject(venv); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func isELF(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	_, err = f.Read(magic[:])
	return err == nil && string(magic[:]) == "\x7fELF"
}

// markProject marks the project distribution's files, from its RECORD, with
// their bytecode: a change to the project alone then changes one small layer.
func (t *Tree) markProject(venv *state.Venv) error {
	var project *state.Distribution
	for i, d := range venv.Distributions {
		if d.IsProject {
			project = &venv.Distributions[i]
		}
	}
	if project == nil {
		return nil
	}
	sites, _ := filepath.Glob(filepath.Join(t.Root, strings.TrimPrefix(t.Deploy, "/"), "lib", "python*", "site-packages"))
	if len(sites) != 1 {
		return nil
	}
	site := sites[0]
	info := python.FindDistInfo(site, project.Name, project.Version)
	if info == "" {
		return nil
	}
	record, err := python.InstalledRecord(info)
	if err != nil {
		return fmt.Errorf("the project's RECORD: %w", err)
	}
	siteRel, _ := filepath.Rel(t.Root, site)
	mine := map[string]bool{}
	for _, e := range record {
		abs := path.Join(filepath.ToSlash(siteRel), e.Path)
		mine[abs] = true
		if stem, ok := strings.CutSuffix(path.Base(abs), ".py"); ok {
			mine[path.Join(path.Dir(abs), "__pycache__", stem)] = true
		}
	}
	mine[path.Join(filepath.ToSlash(siteRel), filepath.Base(info))] = true
	for i, e := range t.Entries {
		if mine[e.Path] {
			t.Entries[i].Project = true
			continue
		}
		// Bytecode: __pycache__/<stem>.cpython-311.pyc belongs to <stem>.py.
		if dir, file := path.Split(e.Path); strings.HasSuffix(dir, "__pycache__/") {
			stem, _, _ := strings.Cut(file, ".")
			if mine[dir+stem] {
				t.Entries[i].Project = true
			}
		}
		if dir := path.Dir(e.Path); mine[dir] && strings.HasSuffix(dir, ".dist-info") {
			t.Entries[i].Project = true
		}
	}
	// A directory goes with the project when all it holds does.
	other := map[string]bool{}
	for i := len(t.Entries) - 1; i >= 0; i-- {
		e := &t.Entries[i]
		if e.IsDir() && !other[e.Path] {
			e.Project = hasChild(t.Entries, i)
		}
		if !e.Project {
			for d := path.Dir(e.Path); d != "."; d = path.Dir(d) {
				other[d] = true
			}
		}
	}
	return nil
}

// hasChild reports whether the directory at i has any entry below it.
func hasChild(es []Entry, i int) bool {
	return i+1 < len(es) && strings.HasPrefix(es[i+1].Path, es[i].Path+"/")
}

// generated makes the entries of generated files and the directories above
// them that the tree lacks.
func generated(have []Entry, files map[string][]byte, modes map[string]fs.FileMode) []Entry {
	seen := map[string]bool{}
	for _, e := range have {
		seen[e.Path] = true
	}
	var out []Entry
	for p, data := range files {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if !seen[d] {
				seen[d] = true
				out = append(out, Entry{Path: d, Mode: fs.ModeDir | 0o755})
			}
		}
		mode := fs.FileMode(0o644)
		if m, ok := modes[p]; ok {
			mode = m
		}
		out = append(out, Entry{Path: p, Mode: mode, Size: int64(len(data)), Data: data})
	}
	return out
}

// sortEntries orders entries as a depth-first walk with sorted names does:
// component by component, so that a directory comes before what it holds.
func sortEntries(es []Entry) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := strings.Split(es[i].Path, "/"), strings.Split(es[j].Path, "/")
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return len(a) < len(b)
	})
}
