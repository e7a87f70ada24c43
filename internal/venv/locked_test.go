package venv

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gopythongo/gopythongo/internal/ui"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/testutil"
)

// lockedApp is a project with real dependencies from the corpus: compiled
// (numpy, orjson, pyyaml, psycopg2 from its sdist) and pure (requests).
func lockedApp(t *testing.T, config string) *testutil.GitRepo {
	t.Helper()
	r := testutil.NewGitRepo(t)
	r.WriteFile("pyproject.toml", `[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "locked-app"
version = "1.0.0"
requires-python = ">=3.11,<4"
dependencies = ["numpy>=2", "orjson>=3.9", "requests>=2.31", "pyyaml>=6", "psycopg2>=2.9"]

[project.optional-dependencies]
test = ["pytest>=7"]

[tool.setuptools]
packages = ["locked_app"]
`)
	r.WriteFile("locked_app/__init__.py", "import numpy, orjson, psycopg2, requests, yaml\n\ndef answer():\n    return int(numpy.int64(42))\n")
	r.WriteFile(".gopythongo.yaml", "schema: 1\nproject: {name: locked-app, deploy_path: /opt/locked-app, python: /usr/bin/python3}\nvenv:\n  build_isolation: false\n  compile: false\n"+config)
	r.Git("add", "-A")
	r.Commit("locked app")
	return r
}

// uvTool runs the pinned uv with a clean environment.
func uvTool(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(testutil.PyTool(t, "uv"), args...)
	cmd.Dir = dir
	cmd.Env = append(testutil.CleanEnv(), append(env, "UV_NO_CONFIG=1", "UV_CACHE_DIR="+filepath.Join(t.TempDir(), "uv"))...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "uv %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

var installedDist = regexp.MustCompile(`^([A-Za-z0-9_.]+)-([^-]+)\.dist-info$`)

// installedDists lists name==version of the built venv's site-packages.
func installedDists(t *testing.T, root string) []string {
	t.Helper()
	site, err := filepath.Glob(filepath.Join(root, "opt", "*", "lib", "python3.*", "site-packages"))
	require.NoError(t, err)
	require.Len(t, site, 1)
	entries, err := os.ReadDir(site[0])
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if m := installedDist.FindStringSubmatch(e.Name()); m != nil {
			out = append(out, strings.ToLower(strings.ReplaceAll(m[1], "_", "-"))+"=="+m[2])
		}
	}
	return out
}

// TestLockedBuildFromAnIndexWithCredentials locks the app with uv against
// pypiserver (htpasswd auth) serving the corpus, and builds it from uv.lock
// with the credentials in ${VAR}s: exactly the locked distributions, numpy's
// manylinux wheel chosen over the locked musl, macOS, aarch64 and CPython 3.12
// ones, psycopg2 compiled from its sdist against libpq-dev; a rebuild takes
// everything from the cache.
func TestLockedBuildFromAnIndexWithCredentials(t *testing.T) {
	t.Parallel()
	ix := testutil.StartPypiserver(t, true, testutil.Corpus(t))
	p := lockedApp(t, "  lock: uv.lock\n  index_url: http://${IDX_USER}:${IDX_PASS}@"+strings.TrimPrefix(ix.URL, "http://")+"\n")
	uvTool(t, p.Dir, []string{"UV_DEFAULT_INDEX=" + ix.AuthURL()}, "lock", "-p", testutil.DebianPython)
	lockText, err := os.ReadFile(filepath.Join(p.Dir, "uv.lock"))
	require.NoError(t, err)
	assert.NotContains(t, string(lockText), ix.Pass, "uv keeps no credential in the lock")
	require.Contains(t, string(lockText), "numpy-2.4.6-cp311-cp311-musllinux_1_2_x86_64.whl", "the lock holds wheels for other targets")
	p.Git("add", "uv.lock")
	p.Commit("lock")
	creds := []string{"IDX_USER=" + ix.User, "IDX_PASS=" + ix.Pass}
	cache := t.TempDir()
	run := buildIn(t, p.Dir, cache, creds...)
	require.NoError(t, run.err, run.log)
	assert.NotContains(t, run.log, ix.Pass)
	assert.Regexp(t, `numpy 2\.4\.6: numpy-2\.4\.6-cp311-cp311-manylinux_2_27_x86_64\.manylinux_2_28_x86_64\.whl, cp311-cp311-manylinux_2_\d+_x86_64; 4 other wheel\(s\) refused`, run.log)
	assert.Regexp(t, `psycopg2 2\.9\.\d+: built from psycopg2-2\.9\.\d+\.tar\.gz`, run.log)
	assert.Contains(t, run.log, "every hash verified")
	want := []string{"certifi==", "charset-normalizer==", "idna==", "locked-app==", "numpy==2.4.6", "orjson==", "psycopg2==", "pyyaml==", "requests==", "urllib3=="}
	got := installedDists(t, run.res.Root)
	require.Len(t, got, len(want), "%v", got)
	for i := range want {
		assert.True(t, strings.HasPrefix(got[i], want[i]), "%s, want %s", got[i], want[i])
	}
	assert.Equal(t, "42\n", inNamespace(t, run.res.Root, "/opt/locked-app", "/opt/locked-app/bin/python", "-c", "import locked_app; print(locked_app.answer())"))

	// The test venv comes from the same lock: pytest of the test extra.
	cfg := run.cfg
	tv, err := TestEnv(t.Context(), Options{Config: cfg, Epoch: epoch, Getenv: envWith(creds), Log: ui.New(io.Discard, "test", nil), Output: io.Discard},
		filepath.Join(t.TempDir(), "test-venv"), []string{"test"}, nil, false, false)
	require.NoError(t, err)
	out, err := exec.Command(tv.Python, "-c", "import pytest, numpy; print(pytest.__version__, numpy.__version__)").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Regexp(t, `^9\.\d+\.\d+ 2\.4\.6\n$`, string(out))
	require.NoError(t, tv.Close())
	_, err = TestEnv(t.Context(), Options{Config: cfg, Epoch: epoch, Getenv: envWith(creds), Log: ui.New(io.Discard, "test", nil), Output: io.Discard},
		filepath.Join(t.TempDir(), "test-venv"), []string{"test"}, []string{"requirements-test.txt"}, false, false)
	assert.ErrorContains(t, err, "test.requirements cannot be used with venv.lock")

	again := buildIn(t, p.Dir, cache, creds...)
	require.NoError(t, again.err, again.log)
	assert.Contains(t, again.log, "from the cache, nothing downloaded")
	assert.Equal(t, run.res.Venv.Digest, again.res.Venv.Digest)

	// The index serves other bytes than the lock pins.
	numpy, err := os.ReadFile(filepath.Join(testutil.Corpus(t), "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(p.Dir, "uv.lock"), []byte(strings.Replace(string(lockText), sha256Hex(numpy), strings.Repeat("0", 64), 1)), 0o644))
	bad := buildIn(t, p.Dir, t.TempDir(), creds...)
	require.Error(t, bad.err)
	assert.Contains(t, bad.err.Error(), "numpy 2.4.6: numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl from http://")
	assert.Contains(t, bad.err.Error(), "the lock pins "+strings.Repeat("0", 64))
	assert.NotContains(t, bad.err.Error(), ix.Pass)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// zeroHashes replaces the hashes of one pinned requirement.
func zeroHashes(lock, pin string) string {
	lines := strings.Split(lock, "\n")
	in := false
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, pin):
			in = true
		case l != "" && l[0] != ' ':
			in = false
		}
		if in {
			lines[i] = regexp.MustCompile(`sha256:[0-9a-f]{64}`).ReplaceAllString(l, "sha256:"+strings.Repeat("0", 64))
		}
	}
	return strings.Join(lines, "\n")
}

// TestLockedBuildRefusesWhatItCannotTrust builds offline from a requirements
// lock made by uv pip compile: it works as made, and fails naming the package
// when a hash is wrong, the lock is stale, or no locked wheel runs here.
func TestLockedBuildRefusesWhatItCannotTrust(t *testing.T) {
	t.Parallel()
	p := lockedApp(t, "  lock: requirements.lock.txt\n  no_index: true\n  find_links: ["+testutil.Corpus(t)+"]\n")
	uvTool(t, p.Dir, nil, "pip", "compile", "-q", "--generate-hashes", "--no-index", "--find-links", testutil.Corpus(t), "-p", testutil.DebianPython, "-o", "requirements.lock.txt", "pyproject.toml")
	p.Git("add", "-A")
	p.Commit("lock")
	lockFile := filepath.Join(p.Dir, "requirements.lock.txt")
	orig, err := os.ReadFile(lockFile)
	require.NoError(t, err)
	run := buildIn(t, p.Dir, t.TempDir())
	require.NoError(t, run.err, run.log)
	assert.Contains(t, installedDists(t, run.res.Root), "numpy==2.4.6")

	numpy, err := os.ReadFile(filepath.Join(testutil.Corpus(t), "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"))
	require.NoError(t, err)
	numpySum := sha256Hex(numpy)
	require.Contains(t, string(orig), numpySum)
	musl, err := os.ReadFile(filepath.Join(testutil.Corpus(t), "numpy-2.4.6-cp311-cp311-musllinux_1_2_x86_64.whl"))
	require.NoError(t, err)
	pyproject, err := os.ReadFile(filepath.Join(p.Dir, "pyproject.toml"))
	require.NoError(t, err)
	tests := []struct {
		name      string
		lock      string
		pyproject string
		wantAll   []string
	}{
		{"pinned hashes no file has", zeroHashes(string(orig), "numpy==2.4.6"), "",
			[]string{"numpy 2.4.6", "no file with a pinned hash"}},
		{"only a wheel for musl", strings.Replace(string(orig), numpySum, sha256Hex(musl), 1), "",
			[]string{"numpy 2.4.6: no locked wheel runs on the target (cpython 3.11", "glibc 2.36", "musllinux wheels need musl"}},
		{"stale against pyproject.toml", string(orig), strings.Replace(string(pyproject), `"pyyaml>=6"`, `"pyyaml>=6", "rich>=13"`, 1),
			[]string{"stale against pyproject.toml", "rich"}},
		{"stale version", string(orig), strings.Replace(string(pyproject), `"orjson>=3.9"`, `"orjson>=99"`, 1),
			[]string{"stale against pyproject.toml", "orjson", "which orjson>=99 does not accept"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(lockFile, []byte(tt.lock), 0o644))
			defer os.WriteFile(lockFile, orig, 0o644)
			if tt.pyproject != "" {
				require.NoError(t, os.WriteFile(filepath.Join(p.Dir, "pyproject.toml"), []byte(tt.pyproject), 0o644))
				defer os.WriteFile(filepath.Join(p.Dir, "pyproject.toml"), pyproject, 0o644)
			}
			before, err := os.ReadFile(filepath.Join(run.res.Root, "opt", "locked-app", "pyvenv.cfg"))
			require.NoError(t, err)
			bad := buildIn(t, p.Dir, t.TempDir())
			require.Error(t, bad.err)
			for _, w := range tt.wantAll {
				assert.Contains(t, bad.err.Error(), w)
			}
			after, err := os.ReadFile(filepath.Join(run.res.Root, "opt", "locked-app", "pyvenv.cfg"))
			require.NoError(t, err, "the tree of the last good build stays")
			assert.Equal(t, before, after)
		})
	}
}

// TestUVResolver resolves the app with uv for the target instead of pip, and
// installs it with uv.
func TestUVResolverAndInstaller(t *testing.T) {
	t.Parallel()
	ix := testutil.StartPypiserver(t, true, testutil.Corpus(t))
	p := lockedApp(t, "  resolver: uv\n  installer: uv\n  uv: "+testutil.PyTool(t, "uv")+"\n  index_url: http://${IDX_USER}:${IDX_PASS}@"+strings.TrimPrefix(ix.URL, "http://")+"\n")
	run := buildIn(t, p.Dir, t.TempDir(), "IDX_USER="+ix.User, "IDX_PASS="+ix.Pass)
	require.NoError(t, run.err, run.log)
	assert.Contains(t, run.log, "uv-requirements.txt")
	assert.Contains(t, run.log, "uv installer")
	assert.Contains(t, installedDists(t, run.res.Root), "numpy==2.4.6")
	assert.Equal(t, "42\n", inNamespace(t, run.res.Root, "/opt/locked-app", "/opt/locked-app/bin/python", "-c", "import locked_app; print(locked_app.answer())"))
}

// TestLockedBuildInTheChroot builds the app from a requirements lock in the
// chroot builder, offline: the wheels chosen for the chroot's interpreter,
// psycopg2 compiled there from its sdist against the root's libpq-dev, and
// the venv importing everything in a fresh copy of the root.
func TestLockedBuildInTheChroot(t *testing.T) {
	t.Parallel()
	env := testutil.BuilderEnv(t, "chroot")
	p := lockedApp(t, "  lock: requirements.lock.txt\n  no_index: true\n  find_links: ["+testutil.Corpus(t)+"]\n")
	uvTool(t, p.Dir, nil, "pip", "compile", "-q", "--generate-hashes", "--no-index", "--find-links", testutil.Corpus(t), "-p", testutil.DebianPython, "-o", "requirements.lock.txt", "pyproject.toml")
	p.Git("add", "-A")
	p.Commit("lock")
	run := buildIn(t, p.Dir, t.TempDir(), env...)
	require.NoError(t, run.err, run.log)
	assert.Equal(t, "chroot", run.res.Venv.Builder)
	assert.Regexp(t, `psycopg2 2\.9\.\d+: built from psycopg2-2\.9\.\d+\.tar\.gz`, run.log)
	assert.True(t, slices.ContainsFunc(run.res.Venv.Depends, func(d string) bool { return strings.HasPrefix(d, "libpq5") }),
		"the compiled psycopg2 needs libpq5: %v", run.res.Venv.Depends)
	assert.Equal(t, "42 True\n", inTarget(t, "chroot", env, run.res.Root, "/opt/locked-app", "/opt/locked-app/bin/python", "-c",
		"import locked_app, psycopg2; print(locked_app.answer(), psycopg2.__libpq_version__ > 0)"))
}
