package venv

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/lock"
	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

// TestFetchFromTheLocksOwnIndex: a poetry.lock names only the source index
// of a package; a file the configured index lacks is taken from there, with
// the credentials of the configured index on the same host, and verified.
func TestFetchFromTheLocksOwnIndex(t *testing.T) {
	corpus := testutil.StartPypiserver(t, false, testutil.Corpus(t))
	empty := testutil.StartPypiserver(t, true)
	dir := t.TempDir()
	f := &fetcher{cache: &Cache{Dir: filepath.Join(dir, "cache")}, indexes: []string{strings.TrimSuffix(empty.AuthURL(), "/")},
		client: http.DefaultClient, scratch: dir, pages: map[string][]python.IndexFile{}}
	name := "six-1.17.0-py2.py3-none-any.whl"
	data, err := os.ReadFile(filepath.Join(testutil.Corpus(t), name))
	require.NoError(t, err)
	pkg := lock.Package{Name: "six", Version: "1.17.0", Index: corpus.URL}
	path, err := f.fetch(t.Context(), pkg, lock.File{Name: name, SHA256: sha256Hex(data)})
	require.NoError(t, err)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, data, got)

	_, err = f.fetch(t.Context(), pkg, lock.File{Name: "six-1.17.0-cp311-cp311-manylinux_2_17_x86_64.whl", SHA256: sha256Hex(data)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "six 1.17.0: six-1.17.0-cp311-cp311-manylinux_2_17_x86_64.whl is on none of the indexes")
	assert.NotContains(t, err.Error(), empty.Pass)
}

// TestFetchRefusesHostileNames: a file name from a lock or an index is joined
// to directories, so anything but a distribution file of the package is
// refused before it is used.
func TestFetchRefusesHostileNames(t *testing.T) {
	dir := t.TempDir()
	f := &fetcher{cache: &Cache{Dir: filepath.Join(dir, "cache")}, noIndex: true, client: http.DefaultClient, scratch: filepath.Join(dir, "scratch"), pages: map[string][]python.IndexFile{}}
	pkg := lock.Package{Name: "six", Version: "1.17.0"}
	sum := strings.Repeat("ab", 32)
	for _, name := range []string{"../../../etc/six-1.17.0-py3-none-any.whl", "..", ".six-1.17.0.tar.gz", "other-1.0-py3-none-any.whl", "six-1.16.0.tar.gz", "six-1.17.0.exe", "six-1.17.0-py3-none-any.whl\x00"} {
		_, err := f.fetch(t.Context(), pkg, lock.File{Name: name, SHA256: sum})
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "is not a file name of a wheel or sdist of six 1.17.0", name)
	}
	_, err := f.fetch(t.Context(), pkg, lock.File{Name: "six-1.17.0-py3-none-any.whl"})
	assert.ErrorContains(t, err, "has no sha256")
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 0, "nothing written")
}
