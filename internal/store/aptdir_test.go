package store

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
)

func TestAptDirExisting(t *testing.T) {
	root := t.TempDir()
	c := &config.Config{Dir: root}
	st, err := New(config.StoreConfig{Name: "apt", Type: "apt-dir", Path: "repo", Distribution: "bookworm", Component: "main"}, Env{Config: c})
	require.NoError(t, err)

	rels, err := st.Existing(context.Background(), "hello")
	require.NoError(t, err)
	assert.Empty(t, rels, "an empty or missing repository holds nothing")

	amd := filepath.Join(root, "repo", "dists", "bookworm", "main", "binary-amd64")
	all := filepath.Join(root, "repo", "dists", "bookworm", "main", "binary-all")
	require.NoError(t, os.MkdirAll(amd, 0o755))
	require.NoError(t, os.MkdirAll(all, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(all, "Packages"), []byte("Package: hello\nVersion: 1.0-1\nArchitecture: all\nSHA256: aa\nGopythongo-Commit: c1\n\nPackage: other\nVersion: 9\n"), 0o644))
	f, err := os.Create(filepath.Join(amd, "Packages.gz"))
	require.NoError(t, err)
	gz := gzip.NewWriter(f)
	_, _ = gz.Write([]byte("Package: hello\nVersion: 1.0-2\nArchitecture: amd64\nSHA256: bb\n"))
	require.NoError(t, gz.Close())
	require.NoError(t, f.Close())

	rels, err = st.Existing(context.Background(), "hello")
	require.NoError(t, err)
	assert.ElementsMatch(t, []Release{
		{Name: "hello", Version: "1.0-1", Arch: "all", SHA256: "aa", Commit: "c1"},
		{Name: "hello", Version: "1.0-2", Arch: "amd64", SHA256: "bb"},
	}, rels)

	require.NoError(t, os.WriteFile(filepath.Join(all, "Packages"), []byte(" broken\n"), 0o644))
	_, err = st.Existing(context.Background(), "hello")
	assert.ErrorContains(t, err, "continuation line")

	_, err = New(config.StoreConfig{Name: "x", Type: "nexus"}, Env{Config: c})
	assert.ErrorContains(t, err, `unknown type "nexus"`)
}
