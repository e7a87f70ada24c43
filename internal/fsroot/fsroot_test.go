package fsroot

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tree makes a root with the traps a venv holds: bin/python3 a link to an
// interpreter outside, lib64 a link to lib inside, and a link that climbs out.
func tree(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "venv"), filepath.Join(base, "outside")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "bin"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "lib"), 0o755))
	require.NoError(t, os.MkdirAll(outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "python3"), []byte("interpreter"), 0o755))
	require.NoError(t, os.Symlink(filepath.Join(outside, "python3"), filepath.Join(root, "bin", "python3")))
	require.NoError(t, os.Symlink("lib", filepath.Join(root, "lib64")))
	require.NoError(t, os.Symlink("../outside", filepath.Join(root, "up")))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "abs")))
	return root, outside
}

func opens(t *testing.T) map[string]func(string) (*Root, error) {
	return map[string]func(string) (*Root, error){"openat2": Open, "walk": OpenWalking}
}

func TestCreateNeverFollowsALink(t *testing.T) {
	for mode, open := range opens(t) {
		for _, tc := range []struct {
			rel  string
			want error
		}{
			{"bin/python3", fs.ErrExist},       // the venv's own link: never replaced
			{"lib64/x.py", ErrSymlink},         // a link inside the root
			{"up/python3", ErrSymlink},         // a link that climbs out
			{"abs/new", ErrSymlink},            // an absolute link
			{"abs/python3", ErrSymlink},        // an existing file behind a link
			{"../outside/python3", ErrOutside}, // .. in the name
			{"/etc/passwd", ErrOutside},
			{"bin//x", ErrOutside},
			{"bin/./x", ErrOutside},
			{"", ErrOutside},
		} {
			t.Run(mode+" "+tc.rel, func(t *testing.T) {
				root, outside := tree(t)
				r, err := open(root)
				require.NoError(t, err)
				defer r.Close()
				err = r.WriteFile(tc.rel, []byte("evil"), 0o755)
				require.Error(t, err)
				assert.ErrorIs(t, err, tc.want)
				b, err := os.ReadFile(filepath.Join(outside, "python3"))
				require.NoError(t, err)
				assert.Equal(t, "interpreter", string(b))
				ents, err := os.ReadDir(outside)
				require.NoError(t, err)
				assert.Len(t, ents, 1, "nothing new outside the root")
			})
		}
	}
}

func TestCreateMakesDirectoriesAndModes(t *testing.T) {
	for mode, open := range opens(t) {
		t.Run(mode, func(t *testing.T) {
			root, _ := tree(t)
			r, err := open(root)
			require.NoError(t, err)
			defer r.Close()
			old := umask(0o077)
			defer umask(old)
			require.NoError(t, r.WriteFile("lib/python3.11/site-packages/pkg/__init__.py", []byte("x = 1\n"), 0o644))
			require.NoError(t, r.WriteFile("bin/tool", []byte("#!/bin/sh\n"), 0o755))
			fi, err := os.Stat(filepath.Join(root, "bin", "tool"))
			require.NoError(t, err)
			assert.Equal(t, fs.FileMode(0o755), fi.Mode().Perm(), "the umask does not decide")
			b, err := os.ReadFile(filepath.Join(root, "lib/python3.11/site-packages/pkg/__init__.py"))
			require.NoError(t, err)
			assert.Equal(t, "x = 1\n", string(b))
			err = r.WriteFile("bin/tool", nil, 0o644)
			assert.ErrorIs(t, err, fs.ErrExist, "a second write of one file is refused")
			m, err := r.Lstat("bin/python3")
			require.NoError(t, err)
			assert.NotZero(t, m&fs.ModeSymlink)
			_, err = r.Lstat("bin/missing")
			assert.True(t, errors.Is(err, fs.ErrNotExist))
			_, err = r.Lstat("abs/python3")
			assert.ErrorIs(t, err, ErrSymlink)
		})
	}
}

func TestMkdirAllRefusesALinkAndAFile(t *testing.T) {
	root, outside := tree(t)
	require.NoError(t, os.WriteFile(filepath.Join(root, "file"), nil, 0o644))
	for mode, open := range opens(t) {
		t.Run(mode, func(t *testing.T) {
			r, err := open(root)
			require.NoError(t, err)
			defer r.Close()
			assert.ErrorIs(t, r.MkdirAll("abs/sub", 0o755), ErrSymlink)
			assert.ErrorIs(t, r.MkdirAll("lib64", 0o755), ErrSymlink)
			assert.ErrorIs(t, r.MkdirAll("file/sub", 0o755), syscall.ENOTDIR)
			_, err = os.Stat(filepath.Join(outside, "sub"))
			assert.True(t, os.IsNotExist(err))
		})
	}
}

func TestOpenRefusesALinkAsTheRoot(t *testing.T) {
	root, _ := tree(t)
	_, err := Open(filepath.Join(root, "abs"))
	assert.ErrorIs(t, err, ErrSymlink)
}

// TestMadeDirectoriesAreNoShortcut: a directory Create made and remembers,
// swapped for a link afterwards, is still not written through.
func TestMadeDirectoriesAreNoShortcut(t *testing.T) {
	for mode, open := range opens(t) {
		t.Run(mode, func(t *testing.T) {
			root, outside := tree(t)
			r, err := open(root)
			require.NoError(t, err)
			defer r.Close()
			require.NoError(t, r.WriteFile("pkg/sub/a.py", nil, 0o644))
			require.NoError(t, os.RemoveAll(filepath.Join(root, "pkg")))
			require.NoError(t, os.Symlink(outside, filepath.Join(root, "pkg")))
			require.NoError(t, os.MkdirAll(filepath.Join(outside, "sub"), 0o755))
			assert.ErrorIs(t, r.WriteFile("pkg/sub/b.py", []byte("evil"), 0o644), ErrSymlink)
			_, err = os.Stat(filepath.Join(outside, "sub", "b.py"))
			assert.True(t, os.IsNotExist(err))
		})
	}
}

// TestRemoveLinkMkdirAndChmodStayBeneath: Remove, Link, Mkdir and ChmodDir
// act on the path beneath the root and through no link; a link at the
// path is removed itself, never what it names.
func TestRemoveLinkMkdirAndChmodStayBeneath(t *testing.T) {
	for mode, open := range opens(t) {
		root, outside := tree(t)
		r, err := open(root)
		require.NoError(t, err)
		defer r.Close()
		src, err := os.Open(filepath.Join(outside, "python3"))
		require.NoError(t, err)
		defer src.Close()
		fd := int(src.Fd())

		require.NoError(t, r.Mkdir("lib/new", 0o700), mode)
		require.NoError(t, r.Link(fd, "lib/new/linked"), mode)
		got, err := os.ReadFile(filepath.Join(root, "lib", "new", "linked"))
		require.NoError(t, err)
		assert.Equal(t, "interpreter", string(got))
		require.NoError(t, r.ChmodDir("lib/new", 0o755), mode)
		fi, err := os.Stat(filepath.Join(root, "lib", "new"))
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o755), fi.Mode().Perm())
		require.NoError(t, r.Remove("lib/new/linked"), mode)
		require.NoError(t, r.Remove("lib/new"), mode)
		assert.NoDirExists(t, filepath.Join(root, "lib", "new"))
		assert.ErrorIs(t, r.Mkdir("lib", 0o755), fs.ErrExist, mode)

		for _, rel := range []string{"lib64/x", "up/x", "abs/x", "../x"} {
			assert.Error(t, r.Mkdir(rel, 0o755), "%s %s", mode, rel)
			assert.Error(t, r.Link(fd, rel), "%s %s", mode, rel)
		}
		for _, rel := range []string{"up/python3", "abs/python3"} {
			assert.ErrorIs(t, r.Remove(rel), ErrSymlink, "%s %s", mode, rel)
		}
		assert.ErrorIs(t, r.ChmodDir("lib64", 0o700), ErrSymlink, mode)
		assert.ErrorIs(t, r.ChmodDir("up", 0o700), ErrSymlink, mode)
		assert.NoDirExists(t, filepath.Join(outside, "x"))
		assert.FileExists(t, filepath.Join(outside, "python3"))
		fi, err = os.Stat(outside)
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o755), fi.Mode().Perm(), "what a link names keeps its mode")

		// A link is removed itself.
		require.NoError(t, r.Remove("bin/python3"), mode)
		assert.NoFileExists(t, filepath.Join(root, "bin", "python3"))
		assert.FileExists(t, filepath.Join(outside, "python3"))
	}
}
