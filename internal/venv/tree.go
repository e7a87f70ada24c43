package venv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/state"
)

// TreeInfo sums up a staging tree.
type TreeInfo struct {
	Files  int
	Size   int64
	Digest string // sha256 over every path, mode, time and content or link target
}

// Inspect walks a tree in sorted order and digests it: two trees with the same
// digest have the same bytes, modes and times.
func Inspect(root string) (TreeInfo, error) {
	var info TreeInfo
	h := sha256.New()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00", filepath.ToSlash(rel), fi.Mode(), fi.ModTime().UnixNano())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			io.WriteString(h, t)
			info.Files++
		case fi.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			n, err := io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
			info.Files++
			info.Size += n
		}
		h.Write([]byte{0})
		return nil
	})
	info.Digest = hex.EncodeToString(h.Sum(nil))
	return info, err
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
	var bs [][]byte
	for _, n := range needles {
		if n != "" && n != "/" {
			bs = append(bs, []byte(n))
		}
	}
	var leaks []Leak
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var data []byte
		if d.Type()&fs.ModeSymlink != 0 {
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			data = []byte(t)
		} else if d.Type().IsRegular() {
			if data, err = os.ReadFile(p); err != nil {
				return err
			}
		}
		for i, b := range bs {
			if bytes.Contains(data, b) {
				rel, _ := filepath.Rel(root, p)
				leaks = append(leaks, Leak{File: "/" + filepath.ToSlash(rel), Needle: needles[i]})
				break
			}
		}
		return nil
	})
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
