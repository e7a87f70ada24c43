package venv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/state"
)

// TreeInfo sums up a staging tree.
type TreeInfo struct {
	Files  int
	Size   int64
	Digest string // sha256 over every path, mode, time and content hash or link target
}

// Entry is one path of a tree, as the digest and the tree cache see it.
type Entry struct {
	Path   string      `json:"path"` // slash path below the root; "." is the root
	Mode   fs.FileMode `json:"mode"`
	Size   int64       `json:"size,omitempty"`
	SHA256 string      `json:"sha256,omitempty"` // a regular file's content
	Link   string      `json:"link,omitempty"`   // a symbolic link's target
	MTime  int64       `json:"-"`                // nanoseconds
}

// Inspect walks a tree in sorted order and digests it: two trees with the same
// digest have the same bytes, modes and times.
func Inspect(root string) (TreeInfo, error) {
	entries, _, err := scanTree(root, nil)
	if err != nil {
		return TreeInfo{}, err
	}
	return summarize(entries), nil
}

// summarize counts and digests a tree's entries (in walk order).
func summarize(entries []Entry) TreeInfo {
	var info TreeInfo
	h := sha256.New()
	for _, e := range entries {
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00%s%s\x00", e.Path, e.Mode, e.MTime, e.SHA256, e.Link)
		if e.Mode.IsRegular() || e.Mode&fs.ModeSymlink != 0 {
			info.Files++
			info.Size += e.Size
		}
	}
	info.Digest = hex.EncodeToString(h.Sum(nil))
	return info
}

// scanTree lists a tree in walk order with every file's hash, reading each
// file once, on every CPU; it looks for needles in each file and link target
// at the same time.
func scanTree(root string, needles []string) ([]Entry, []Leak, error) {
	var bs [][]byte
	for _, n := range needles {
		if n != "" && n != "/" {
			bs = append(bs, []byte(n))
		}
	}
	var entries []Entry
	var files []int
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e := Entry{Path: filepath.ToSlash(rel), Mode: fi.Mode(), MTime: fi.ModTime().UnixNano()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if e.Link, err = os.Readlink(p); err != nil {
				return err
			}
			e.Size = int64(len(e.Link))
		case fi.Mode().IsRegular():
			files = append(files, len(entries))
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	leakOf := make([]string, len(entries))
	err = parallel(len(files), func(i int) error {
		e := &entries[files[i]]
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(e.Path)))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		e.SHA256, e.Size = hex.EncodeToString(sum[:]), int64(len(data))
		for j, b := range bs {
			if bytes.Contains(data, b) {
				leakOf[files[i]] = needles[j]
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var leaks []Leak
	for i, e := range entries {
		needle := leakOf[i]
		if needle == "" && e.Link != "" {
			for j, b := range bs {
				if bytes.Contains([]byte(e.Link), b) {
					needle = needles[j]
					break
				}
			}
		}
		if needle != "" {
			leaks = append(leaks, Leak{File: "/" + e.Path, Needle: needle})
		}
	}
	return entries, leaks, nil
}

// parallel runs f for 0..n-1 on every CPU and returns the first error.
func parallel(n int, f func(i int) error) error {
	return parallelWorkers(n, func() (func(i int) error, func()) { return f, func() {} })
}

// parallelWorkers is parallel with a worker of its own on every CPU: each
// is made by newWorker, runs items, and is closed when there are no more.
func parallelWorkers(n int, newWorker func() (run func(i int) error, close func())) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range min(runtime.NumCPU(), max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, done := newWorker()
			defer done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n)) // the others stop at their next item
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// setTimes gives every file, link and directory of a tree the same time,
// SOURCE_DATE_EPOCH, deepest first so that directories keep it.
func setTimes(root string, t time.Time) error {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		paths = append(paths, p)
		return err
	})
	if err != nil {
		return err
	}
	ts := []unix.Timespec{unix.NsecToTimespec(t.UnixNano()), unix.NsecToTimespec(t.UnixNano())}
	for i := len(paths) - 1; i >= 0; i-- {
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, paths[i], ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("set the time of %s: %w", paths[i], err)
		}
	}
	return nil
}

// matchGlob matches a slash path against a glob in which ** matches any number
// of directories.
func matchGlob(glob, name string) bool {
	gs, ns := strings.Split(glob, "/"), strings.Split(name, "/")
	var match func(gs, ns []string) bool
	match = func(gs, ns []string) bool {
		for len(gs) > 0 {
			if gs[0] == "**" {
				for i := 0; i <= len(ns); i++ {
					if match(gs[1:], ns[i:]) {
						return true
					}
				}
				return false
			}
			if len(ns) == 0 {
				return false
			}
			if ok, _ := path.Match(gs[0], ns[0]); !ok {
				return false
			}
			gs, ns = gs[1:], ns[1:]
		}
		return len(ns) == 0
	}
	return match(gs, ns)
}

// strip removes what the globs match below dir; it returns how many paths.
func strip(dir string, globs []string) (int, error) {
	if len(globs) == 0 {
		return 0, nil
	}
	var doomed []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		for _, g := range globs {
			if matchGlob(g, rel) {
				doomed = append(doomed, p)
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, p := range doomed {
		if err := os.RemoveAll(p); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}

// Leak is a build path found in a file of the tree.
type Leak struct {
	File, Needle string
}

// findLeaks looks for any of needles in every file and link target of the
// tree, .pyc files included: a venv that names its build directory breaks when
// it is deployed.
func findLeaks(root string, needles []string) ([]Leak, error) {
	_, leaks, err := scanTree(root, needles)
	return leaks, err
}

// distributions lists what is installed in a venv, from its dist-info
// directories, with the sha256 of the wheel each came from.
func distributions(venv string, wheels []WheelFile, project string) ([]state.Distribution, error) {
	byName := map[string]string{}
	for _, w := range wheels {
		if pw, err := python.ParseWheelName(w.File); err == nil {
			byName[python.Normalize(pw.Name)] = w.SHA256
		}
	}
	infos, _ := filepath.Glob(filepath.Join(venv, "lib", "python*", "site-packages", "*.dist-info"))
	var out []state.Distribution
	for _, info := range infos {
		md, err := python.InstalledMetadata(info)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", info, err)
		}
		n := python.Normalize(md.Name)
		out = append(out, state.Distribution{Name: md.Name, Version: md.Version, SHA256: byName[n], License: md.License, IsProject: n == python.Normalize(project)})
	}
	sort.Slice(out, func(i, j int) bool { return python.Normalize(out[i].Name) < python.Normalize(out[j].Name) })
	return out, nil
}
