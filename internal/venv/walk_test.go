package venv

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// walkDirOf is the tree at root as filepath.WalkDir and os.Lstat see it:
// what walkTree must give, in the same order.
func walkDirOf(t *testing.T, root string) []walked {
	var out []walked
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		w := walked{Entry: Entry{Path: filepath.ToSlash(rel), Mode: fi.Mode(), MTime: fi.ModTime().UnixNano()}}
		switch {
		case fi.Mode().IsRegular():
			st := fi.Sys().(*syscall.Stat_t)
			w.st = stamp{Dev: st.Dev, Ino: st.Ino, Size: uint64(st.Size), Mode: uint64(st.Mode), Ctime: st.Ctim.Nano()}
		case fi.Mode()&fs.ModeSymlink != 0:
			w.Link, err = os.Readlink(p)
			require.NoError(t, err)
			w.Size = int64(len(w.Link))
		}
		out = append(out, w)
		return nil
	}))
	return out
}

// TestWalkTreeIsWalkDir: walkTree, which reads directories on every CPU
// through their descriptors, lists a tree as WalkDir does: the same order
// (sorted by bytes, each directory before its contents), modes with their
// special bits, times, links not followed, and a root that is a file or a
// link as a tree of one entry.
func TestWalkTreeIsWalkDir(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	mk := func(p string, mode fs.FileMode) {
		require.NoError(t, os.MkdirAll(filepath.Join(tree, p), 0o755))
		require.NoError(t, os.Chmod(filepath.Join(tree, p), mode))
	}
	write := func(p, content string, mode fs.FileMode) {
		require.NoError(t, os.WriteFile(filepath.Join(tree, p), []byte(content), mode))
	}
	// Enough directories, wide and deep, that several are walked at once.
	for i := range 40 {
		d := fmt.Sprintf("lib/pkg%02d/sub/deeper", i)
		mk(d, 0o755)
		for j := range 5 {
			write(fmt.Sprintf("%s/m%d.py", d, j), "x", 0o644)
		}
		write(fmt.Sprintf("lib/pkg%02d/__init__.py", i), "", 0o644)
	}
	mk("empty", 0o700)
	mk("setgid", 0o2755)
	mk("sticky", 0o1777)
	write("bin-script", "#!/bin/sh\n", 0o755)
	write("setuid", "", 0o4755)
	write("B", "upper before lower", 0o600)
	write("a b,é\nc", "odd name", 0o644)
	require.NoError(t, os.Symlink("lib", filepath.Join(tree, "link-to-dir")))
	require.NoError(t, os.Symlink("/nowhere/at/all", filepath.Join(tree, "dangling")))
	require.NoError(t, unix.Mkfifo(filepath.Join(tree, "fifo"), 0o644))
	require.NoError(t, os.Link(filepath.Join(tree, "B"), filepath.Join(tree, "hardlink")))

	for _, root := range []string{tree, filepath.Join(tree, "B"), filepath.Join(tree, "link-to-dir"), filepath.Join(tree, "empty")} {
		got, err := walkTree(root)
		require.NoError(t, err, root)
		assert.Equal(t, walkDirOf(t, root), got, root)
	}
	got, err := walkTree(tree)
	require.NoError(t, err)
	assert.Greater(t, len(got), 350)

	_, err = walkTree(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
}
