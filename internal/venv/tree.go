package venv

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
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
	MD5    string      `json:"md5,omitempty"`    // the same, for a .deb's md5sums (treesums)
	Link   string      `json:"link,omitempty"`   // a symbolic link's target
	MTime  int64       `json:"-"`                // nanoseconds
}

// Inspect walks a tree in sorted order and digests it: two trees with the same
// digest have the same bytes, modes and times.
func Inspect(root string) (TreeInfo, error) {
	entries, _, err := scanTree(root, nil, nil)
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

// knownFile is what the installer learned of a file as it wrote it: its
// hash, size and the needle it holds, if any, with the file's stamp then.
// scanTree takes it instead of reading the file while the stamp holds.
type knownFile struct {
	sha256 string
	md5    string
	size   int64
	leak   string
	st     stamp
}

// needleSet is the build paths a leak check looks for ("" and "/" say
// nothing and are left out), made once for every file.
type needleSet struct {
	names []string
	bs    [][]byte
	max   int
}

func newNeedleSet(needles []string) *needleSet {
	s := &needleSet{}
	for _, n := range needles {
		if n != "" && n != "/" {
			s.names, s.bs = append(s.names, n), append(s.bs, []byte(n))
			s.max = max(s.max, len(n))
		}
	}
	return s
}

// find is the first needle, in the set's order, that b holds ("" none).
func (s *needleSet) find(b []byte) string {
	for i, n := range s.bs {
		if bytes.Contains(b, n) {
			return s.names[i]
		}
	}
	return ""
}

// finder looks for the set's needles in a stream of writes.
func (s *needleSet) finder() *leakFinder { return &leakFinder{set: s} }

// leakFinder looks for needles in a stream of writes, also across the
// boundaries between them.
type leakFinder struct {
	set   *needleSet
	tail  []byte
	found string
}

func (l *leakFinder) Write(p []byte) (int, error) {
	if l.found != "" || len(l.set.bs) == 0 {
		return len(p), nil
	}
	keep := l.set.max - 1
	if len(l.tail) > 0 {
		l.found = l.set.find(append(slices.Clone(l.tail), p[:min(len(p), keep)]...))
	}
	if l.found == "" {
		l.found = l.set.find(p)
	}
	if len(p) >= keep {
		l.tail = append(l.tail[:0], p[len(p)-keep:]...)
	} else {
		l.tail = append(l.tail, p...)
		l.tail = l.tail[max(0, len(l.tail)-keep):]
	}
	return len(p), nil
}

// scanTree lists a tree in walk order with every file's hash, reading each
// file once, on every CPU; it looks for needles in each file and link target
// at the same time. A file in known (by its path below root) whose stamp
// still holds is not read.
func scanTree(root string, needles []string, known map[string]knownFile) ([]Entry, []Leak, error) {
	set := newNeedleSet(needles)
	found, err := walkTree(root)
	if err != nil {
		return nil, nil, err
	}
	entries := make([]Entry, len(found))
	var files []int
	var stamps []stamp
	for i, w := range found {
		entries[i] = w.Entry
		if w.Mode.IsRegular() {
			files = append(files, i)
			stamps = append(stamps, w.st)
		}
	}
	leakOf := make([]string, len(entries))
	err = parallel(len(files), func(i int) error {
		e := &entries[files[i]]
		if k, ok := known[e.Path]; ok && k.st == stamps[i] && k.st != (stamp{}) {
			e.SHA256, e.MD5, e.Size, leakOf[files[i]] = k.sha256, k.md5, k.size, k.leak
			return nil
		}
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(e.Path)))
		if err != nil {
			return err
		}
		sum, m := sha256.Sum256(data), md5.Sum(data)
		e.SHA256, e.MD5, e.Size = hex.EncodeToString(sum[:]), hex.EncodeToString(m[:]), int64(len(data))
		leakOf[files[i]] = set.find(data)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var leaks []Leak
	for i, e := range entries {
		needle := leakOf[i]
		if needle == "" && e.Link != "" {
			needle = set.find([]byte(e.Link))
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

// setEntryTimes gives the entries of the tree at root (in walk order, as
// scanTree lists them) the same time: the files and links that have another
// on every CPU, then the directories deepest first, so that they keep it.
func setEntryTimes(root string, entries []Entry, t time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(t.UnixNano()), unix.NsecToTimespec(t.UnixNano())}
	set := func(e Entry) error {
		p := filepath.Join(root, filepath.FromSlash(e.Path))
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("set the time of %s: %w", p, err)
		}
		return nil
	}
	var files []int
	for i, e := range entries {
		// A file linked from the cache with its time has it already.
		if !e.Mode.IsDir() && e.MTime != t.UnixNano() {
			files = append(files, i)
		}
	}
	if err := parallel(len(files), func(i int) error { return set(entries[files[i]]) }); err != nil {
		return err
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Mode.IsDir() {
			if err := set(entries[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeTree is os.RemoveAll on every CPU: each directory's files are
// unlinked by one worker, through the directory opened without following
// a link, then the directories go, deepest first. What is left (a
// directory that cannot be opened) os.RemoveAll removes.
func removeTree(dir string) error {
	var dirs []string
	var names [][]string // the files of dirs[i]
	index := map[string]int{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			index[p] = len(dirs)
			dirs, names = append(dirs, p), append(names, nil)
		} else if i, ok := index[filepath.Dir(p)]; ok {
			names[i] = append(names[i], d.Name())
		}
		return nil
	})
	parallel(len(dirs), func(i int) error {
		if len(names[i]) == 0 {
			return nil
		}
		fd, err := unix.Open(dirs[i], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil
		}
		defer unix.Close(fd)
		for _, n := range names[i] {
			unix.Unlinkat(fd, n, 0)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		unix.Rmdir(dirs[i])
	}
	return os.RemoveAll(dir)
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
// With only (slash paths below dir), just those paths and their parents
// are looked at: a tree built on a cached one, whose other paths were
// stripped before and whose bytecode, compiled after the strip, must stay.
func strip(dir string, globs []string, only []string) (int, error) {
	if len(globs) == 0 {
		return 0, nil
	}
	if only != nil {
		return stripOnly(dir, globs, only)
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

// stripOnly is strip for the given paths: of each, the shortest prefix a
// glob matches goes, as a walk from the top would find it.
func stripOnly(dir string, globs []string, only []string) (int, error) {
	n := 0
	doomed := map[string]bool{}
	for _, rel := range only {
		parts := strings.Split(rel, "/")
		for i := range parts {
			prefix := strings.Join(parts[:i+1], "/")
			if doomed[prefix] {
				break
			}
			if !slices.ContainsFunc(globs, func(g string) bool { return matchGlob(g, prefix) }) {
				continue
			}
			doomed[prefix] = true
			p := filepath.Join(dir, filepath.FromSlash(prefix))
			if _, err := os.Lstat(p); err != nil {
				break // not made (or gone with a parent): nothing to remove
			}
			if err := os.RemoveAll(p); err != nil {
				return 0, err
			}
			n++
			break
		}
	}
	return n, nil
}

// Leak is a build path found in a file of the tree.
type Leak struct {
	File, Needle string
}

// findLeaks looks for any of needles in every file and link target of the
// tree, .pyc files included: a venv that names its build directory breaks when
// it is deployed.
func findLeaks(root string, needles []string) ([]Leak, error) {
	_, leaks, err := scanTree(root, needles, nil)
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

// dirsBelow lists the directories below dir (relative to it, slash paths).
func dirsBelow(dir string) (map[string]bool, error) {
	out := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = true
		return nil
	})
	return out, err
}
