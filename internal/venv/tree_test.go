package venv

import (
	"archive/zip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

	n, err := strip(root, []string{"**/tests", "include/*.h"})
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
