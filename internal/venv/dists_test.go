package venv

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/python"
)

func TestSetVersion(t *testing.T) {
	tests := []struct {
		name, in, want, err string
		env                 bool
	}{
		{name: "static", in: "[build-system]\nrequires = []\n\n[project]\nname = \"a\"\nversion = \"1.0\" # bumped by hand\n\n[tool.x]\nversion = \"9\"\n",
			want: "[build-system]\nrequires = []\n\n[project]\nname = \"a\"\nversion = \"1.3.0.dev4+gabc\" # bumped by hand\n\n[tool.x]\nversion = \"9\"\n"},
		{name: "single quotes, CRLF", in: "[project]\r\nname = 'a'\r\nversion = '1.0'\r\n", want: "[project]\r\nname = 'a'\r\nversion = \"1.3.0.dev4+gabc\"\r\n"},
		{name: "dynamic", in: "[project]\nname = \"a\"\ndynamic = [\"version\"]\n", env: true},
		{name: "no project table", in: "[build-system]\nrequires = []\n", env: true},
		{name: "inline", in: "project = {name = \"a\", version = \"1.0\"}\n", err: "on a line of its own"},
		{name: "broken", in: "[project\n", err: "pyproject.toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "pyproject.toml")
			require.NoError(t, os.WriteFile(file, []byte(tt.in), 0o644))
			env, err := setVersion(dir, "1.3.0.dev4+gabc")
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			got, _ := os.ReadFile(file)
			if tt.env {
				assert.Contains(t, env, "SETUPTOOLS_SCM_PRETEND_VERSION=1.3.0.dev4+gabc")
				assert.Equal(t, tt.in, string(got), "the file is left alone")
			} else {
				assert.Empty(t, env)
				assert.Equal(t, tt.want, string(got))
			}
		})
	}
}

func TestCheckVersion(t *testing.T) {
	assert.NoError(t, checkVersion("a.whl", "1.3.0.dev4+gabc", "1.3.0.dev4+gabc"))
	assert.NoError(t, checkVersion("a.whl", "1.3.0-dev4", "1.3.0.dev4"), "PEP 440 normal forms compare equal")
	assert.ErrorContains(t, checkVersion("a.whl", "1.0.0", "1.3.0"), "venv.set_version: false")
}

func writeTarGz(t *testing.T, path string, entries map[string]string) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for name, body := range entries {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o664, Size: int64(len(body)), ModTime: time.Now(), Uid: 1000, Uname: "me"}))
		tw.Write([]byte(body))
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
}

func TestNormalizeSdist(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "a-1.0.tar.gz")
	writeTarGz(t, src, map[string]string{"a-1.0/PKG-INFO": "Metadata-Version: 2.1\nName: a\nVersion: 1.0\n\n"})
	epoch := time.Unix(1700000000, 0)
	require.NoError(t, normalizeSdist(src, filepath.Join(dir, "one.tar.gz"), epoch))
	time.Sleep(1100 * time.Millisecond) // a new mtime in the source archive
	writeTarGz(t, src, map[string]string{"a-1.0/PKG-INFO": "Metadata-Version: 2.1\nName: a\nVersion: 1.0\n\n"})
	require.NoError(t, normalizeSdist(src, filepath.Join(dir, "two.tar.gz"), epoch))
	one, _ := os.ReadFile(filepath.Join(dir, "one.tar.gz"))
	two, _ := os.ReadFile(filepath.Join(dir, "two.tar.gz"))
	assert.Equal(t, one, two)
	m, err := python.SdistMetadata(filepath.Join(dir, "two.tar.gz"))
	require.NoError(t, err)
	assert.Equal(t, "1.0", m.Version)

	writeTarGz(t, src, map[string]string{"../evil": "x"})
	err = normalizeSdist(src, filepath.Join(dir, "evil.tar.gz"), epoch)
	assert.ErrorContains(t, err, "evil")
	assert.NoFileExists(t, filepath.Join(dir, "evil.tar.gz"))
}
