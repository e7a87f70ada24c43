package venv

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/testutil"
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

const libConfig = `schema: 1
project: {name: hello-lib, python: /usr/bin/python3}
venv:
  find_links: [/usr/share/python-wheels]
  no_index: true
  build_isolation: %s
`

// TestDistOnly builds hello-lib's wheel and sdist with the state file's
// version, with and without build isolation, reproducibly.
func TestDistOnly(t *testing.T) {
	for _, isolation := range []string{"false", "true"} {
		t.Run("isolation "+isolation, func(t *testing.T) {
			p := testutil.LibProject(t, fmt.Sprintf(libConfig, isolation))
			dist := filepath.Join(p.Dir, "dist")
			st := &state.State{Commit: state.Commit{SHA: p.Head(), Provider: "local", Time: 1700000000},
				Version: &state.Version{PEP440: "1.3.0.dev4+gabc", SemVer: "1.3.0-dev.4+gabc"}}
			require.NoError(t, st.Save(dist))
			env := map[string]string{"GOPYTHONGO_VENV_CACHE_DIR": t.TempDir()}
			code, stdout, stderr := runStep(t, p.Dir, env, "--dist-only")
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, stdout, "wheel=dist/python/hello_lib-1.3.0.dev4+gabc-py3-none-any.whl\n")
			assert.Regexp(t, `sdist=dist/python/hello[-_]lib-1\.3\.0\.dev4\+gabc\.tar\.gz\n`, stdout, "the name is the backend's (setuptools 66 keeps the dash)")
			got, err := state.Load(dist)
			require.NoError(t, err)
			require.Len(t, got.Artifacts, 2)
			assert.Nil(t, got.Venv, "no venv in a dist-only build")
			sums := map[string]string{}
			for _, a := range got.Artifacts {
				sums[a.Path] = a.SHA256
				m, err := metadataOf(filepath.Join(dist, a.Path))
				require.NoError(t, err)
				assert.Equal(t, "1.3.0.dev4+gabc", m.Version, a.Path)
			}
			_, err = os.Stat(filepath.Join(p.Dir, "build"))
			assert.True(t, os.IsNotExist(err), "the workspace gets no build/")

			// Again, without the cache's records: the same bytes.
			code, _, stderr = runStep(t, p.Dir, env, "--dist-only", "--no-cache")
			require.Equal(t, 0, code, stderr)
			got, err = state.Load(dist)
			require.NoError(t, err)
			for _, a := range got.Artifacts {
				assert.Equal(t, sums[a.Path], a.SHA256, "%s is reproducible", a.Path)
			}
		})
	}
}

func metadataOf(p string) (python.Metadata, error) {
	if filepath.Ext(p) == ".whl" {
		return python.WheelMetadata(p)
	}
	return python.SdistMetadata(p)
}

// TestBuildSetsVersionAndDists builds the application with the state file's
// version, and its wheel and sdist beside the venv (venv.dists).
func TestBuildSetsVersionAndDists(t *testing.T) {
	p := testutil.HelloProject(t, helloConfig)
	dist := filepath.Join(p.Dir, "dist")
	st := &state.State{Commit: state.Commit{SHA: p.Head(), Provider: "local", Time: 1700000000},
		Version: &state.Version{PEP440: "1.3.0rc2", SemVer: "1.3.0-rc.2"}}
	require.NoError(t, st.Save(dist))
	code, stdout, stderr := runStep(t, p.Dir, map[string]string{"GOPYTHONGO_VENV_CACHE_DIR": t.TempDir()}, "--dists")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "wheel=dist/python/hello-1.3.0rc2-py3-none-any.whl\n")
	got, err := state.Load(dist)
	require.NoError(t, err)
	require.NotNil(t, got.Venv)
	versions := map[string]string{}
	for _, d := range got.Venv.Distributions {
		versions[d.Name] = d.Version
	}
	assert.Equal(t, "1.3.0rc2", versions["hello"], "the venv holds the version being built, not pyproject's 1.0.0")
	assert.Len(t, got.Artifacts, 2)
}
