package venv

import (
	"archive/zip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/testutil"
)

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		glob, name string
		want       bool
	}{
		{"**/tests", "lib/python3.11/site-packages/pkg/tests", true},
		{"**/tests", "tests", true},
		{"**/tests", "lib/testsuite", false},
		{"**/*.h", "include/site/python3.11/x.h", true},
		{"lib/*/site-packages/*.pth", "lib/python3.11/site-packages/a.pth", true},
		{"lib/*/site-packages/*.pth", "lib/python3.11/site-packages/x/a.pth", false},
		{"bin/activate*", "bin/activate.fish", true},
		{"**", "anything/at/all", true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, matchGlob(tt.glob, tt.name), "%s ~ %s", tt.glob, tt.name)
	}
}

func TestStripAndLeaksAndTimes(t *testing.T) {
	root := t.TempDir()
	write := func(p, c string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, p), []byte(c), 0o644))
	}
	write("lib/pkg/tests/test_a.py", "x")
	write("lib/pkg/a.py", "clean")
	write("lib/pkg/__pycache__/a.cpython-311.pyc", "\x00\x01/build/dir/secret\x00")
	write("include/x.h", "y")
	require.NoError(t, os.Symlink("/build/dir/target", filepath.Join(root, "link")))

	n, err := strip(root, []string{"**/tests", "include/*.h"}, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	_, err = os.Stat(filepath.Join(root, "lib/pkg/tests"))
	assert.True(t, os.IsNotExist(err))

	leaks, err := findLeaks(root, []string{"/build/dir", "/"})
	require.NoError(t, err)
	assert.ElementsMatch(t, []Leak{{File: "/link", Needle: "/build/dir"}, {File: "/lib/pkg/__pycache__/a.cpython-311.pyc", Needle: "/build/dir"}}, leaks)

	ts := time.Unix(1234567890, 0)
	require.NoError(t, setTimes(root, ts))
	for _, p := range []string{"link", "lib", "lib/pkg/a.py"} {
		fi, err := os.Lstat(filepath.Join(root, p))
		require.NoError(t, err)
		assert.Equal(t, ts.Unix(), fi.ModTime().Unix(), p)
	}
	a, err := Inspect(root)
	require.NoError(t, err)
	b, err := Inspect(root)
	require.NoError(t, err)
	assert.Equal(t, a, b)
	write("lib/pkg/a.py", "dirty")
	require.NoError(t, setTimes(root, ts))
	c, _ := Inspect(root)
	assert.NotEqual(t, a.Digest, c.Digest)
}

func TestUnzipRefusesEscapingEntries(t *testing.T) {
	for _, name := range []string{"../evil.py", "/etc/passwd", "a/../../evil"} {
		archive := filepath.Join(t.TempDir(), "x.whl")
		f, err := os.Create(archive)
		require.NoError(t, err)
		zw := zip.NewWriter(f)
		w, _ := zw.Create(name)
		w.Write([]byte("x"))
		require.NoError(t, zw.Close())
		require.NoError(t, f.Close())
		dst := t.TempDir()
		err = unzip(archive, dst)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), name)
	}
}

func TestLeakFinderAcrossWrites(t *testing.T) {
	needles := []string{"/work/project", "/root/.cache/gopythongo", "/"}
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"none", []string{"hello ", "world"}, ""},
		{"inside one write", []string{"x = '/work/project/src'"}, "/work/project"},
		{"across two writes", []string{"x = '/work/pr", "oject/src'"}, "/work/project"},
		{"across three writes", []string{"/root/.ca", "che/gopy", "thongo/pip"}, "/root/.cache/gopythongo"},
		{"byte by byte", strings.Split("..../work/project....", ""), "/work/project"},
		{"at the very end", []string{"abc", "/work/projec", "t"}, "/work/project"},
		{"a prefix only", []string{"/work/proj", "ec"}, ""},
	}
	for _, tt := range tests {
		l := newNeedleSet(needles).finder()
		for _, w := range tt.writes {
			n, err := l.Write([]byte(w))
			require.NoError(t, err)
			require.Equal(t, len(w), n)
		}
		assert.Equal(t, tt.want, l.found, tt.name)
	}
	// "" and "/" say nothing and are left out; a leak is named by the
	// needle found (it took the name at the left-out one's index before).
	set := newNeedleSet([]string{"", "/", "/work/project", "/root/.cache"})
	assert.Equal(t, "/root/.cache", set.find([]byte("x = '/root/.cache/pip'")))
	assert.Equal(t, "", set.find([]byte("/ and nothing else")))
}

// TestCheckReadsWhatTheInstallerDidNotVouchFor: the check takes the hash of
// a file the native installer wrote from what it saw while writing it, and
// finds a build path in it then; a file changed after it was installed
// (post_build) is read again. The digest of the check is the digest of the
// tree as it is on disk.
func TestCheckReadsWhatTheInstallerDidNotVouchFor(t *testing.T) {
	t.Parallel()
	t.Run("a wheel that names the checkout", func(t *testing.T) {
		t.Parallel()
		p := testutil.HelloProject(t, helloConfig+"  packages: [leaky]\n")
		writeFakeWheel(t, filepath.Join(p.Dir, "wheels"), fakeDist{name: "leaky", version: "1.0",
			files: map[string]string{"leaky/paths.txt": strings.Repeat("x", 300<<10) + "built in " + p.Dir + "\n"}})
		run := buildIn(t, p.Dir, t.TempDir())
		require.Error(t, run.err)
		assert.Contains(t, run.err.Error(), "site-packages/leaky/paths.txt contains "+p.Dir)
	})
	t.Run("bytecode of a source that names the checkout", func(t *testing.T) {
		// The .pyc's leak check comes from the compile script's pack.
		t.Parallel()
		p := testutil.HelloProject(t, helloConfig+"  packages: [leaky]\n")
		writeFakeWheel(t, filepath.Join(p.Dir, "wheels"), fakeDist{name: "leaky", version: "1.0",
			files: map[string]string{"leaky/where.py": "BUILT_IN = " + strconv.Quote(p.Dir) + "\n"}})
		run := buildIn(t, p.Dir, t.TempDir())
		require.Error(t, run.err)
		assert.Contains(t, run.err.Error(), "site-packages/leaky/where.py contains "+p.Dir)
		assert.Regexp(t, `site-packages/leaky/__pycache__/where\.cpython-\d+\.pyc contains `+regexp.QuoteMeta(p.Dir), run.err.Error())
	})
	t.Run("an installed file changed by post_build", func(t *testing.T) {
		t.Parallel()
		p := testutil.HelloProject(t, "")
		p.WriteFile(".gopythongo.yaml", helloConfig+"  post_build: [[-c, 'import hello_lib, pathlib; f = pathlib.Path(hello_lib.__file__); f.write_text(f.read_text() + \"# "+p.Dir+"\\n\")']]\n")
		run := buildIn(t, p.Dir, t.TempDir())
		require.Error(t, run.err)
		assert.Contains(t, run.err.Error(), "site-packages/hello_lib/__init__.py contains "+p.Dir)
	})
	t.Run("a clean tree", func(t *testing.T) {
		t.Parallel()
		p := testutil.HelloProject(t, helloConfig)
		run := buildIn(t, p.Dir, t.TempDir())
		require.NoError(t, run.err, run.log)
		info, err := Inspect(run.res.Root)
		require.NoError(t, err)
		assert.Equal(t, info.Digest, run.res.Venv.Digest, "the digest of what is on disk")
	})
}

// TestRemoveTreeRemovesAllAndFollowsNoLink: every file goes, those after a
// subdirectory in the walk too; a link to a directory outside is removed,
// not followed.
func TestRemoveTreeRemovesAllAndFollowsNoLink(t *testing.T) {
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "keep"), []byte("x"), 0o644))
	dir := filepath.Join(t.TempDir(), "tree")
	for _, f := range []string{"a/1", "a/b/2", "a/b/c/3", "a/z", "m", "z/4"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(f), 0o444))
	}
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "a", "out")))
	require.NoError(t, removeTree(dir))
	assert.NoDirExists(t, dir)
	assert.FileExists(t, filepath.Join(outside, "keep"))
}

// setTimes gives every entry of the tree at root the time t, as the check
// does with what its scan listed.
func setTimes(root string, t time.Time) error {
	entries, _, err := scanTree(root, nil, nil)
	if err != nil {
		return err
	}
	return setEntryTimes(root, entries, t)
}

// TestStripOnlyTheGivenPathsAsTheWalkWould: for the given paths, strip
// removes what the walk removes (the shortest matching prefix, once), and
// nothing else: a match elsewhere (the cached tree's bytecode) stays.
func TestStripOnlyTheGivenPathsAsTheWalkWould(t *testing.T) {
	files := []string{"lib/app/tests/t.py", "lib/app/tests/deep/u.py", "lib/app/a.py", "lib/app/x.h", "lib/dep/tests/d.py", "lib/dep/__pycache__/d.pyc", "lib/app/__pycache__/a.pyc"}
	project := []string{"lib/app/tests/t.py", "lib/app/tests/deep/u.py", "lib/app/a.py", "lib/app/x.h", "lib/missing/x.h"}
	globs := []string{"**/tests", "**/*.h", "lib/missing", "**/__pycache__"}
	tree := func() string {
		root := t.TempDir()
		for _, f := range files {
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, f), []byte(f), 0o644))
		}
		return root
	}
	only := tree()
	n, err := strip(only, globs, project)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "lib/app/tests once, lib/app/x.h")
	for _, gone := range []string{"lib/app/tests", "lib/app/x.h"} {
		assert.NoFileExists(t, filepath.Join(only, gone))
		assert.NoDirExists(t, filepath.Join(only, gone))
	}
	for _, kept := range []string{"lib/app/a.py", "lib/dep/tests/d.py", "lib/dep/__pycache__/d.pyc", "lib/app/__pycache__/a.pyc"} {
		assert.FileExists(t, filepath.Join(only, kept), "not a path of the project")
	}
	// The walk removes the same of the project's paths, and the rest too.
	walked := tree()
	_, err = strip(walked, globs, nil)
	require.NoError(t, err)
	for _, p := range project {
		_, errOnly := os.Lstat(filepath.Join(only, p))
		_, errWalked := os.Lstat(filepath.Join(walked, p))
		assert.Equal(t, os.IsNotExist(errWalked), os.IsNotExist(errOnly), p)
	}
	assert.NoDirExists(t, filepath.Join(walked, "lib/dep/tests"))
}
