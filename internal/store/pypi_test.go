package store

import (
	"context"
	"encoding/pem"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

const token = "pypi-AgEIcHlwaS5vcmcCJGFiY2RlZg-test-token"

func pypiConfig(srv *testutil.PyPI) config.StoreConfig {
	sc := config.DefaultStore("pypi", "pypi")
	sc.URL, sc.IndexURL, sc.PasswordEnv = srv.URL+"/legacy/", srv.URL+"/simple/", "PYPI_TOKEN"
	return sc
}

// TestPyPIRefusals holds the store to what PyPI itself answers, which no
// local server does (local versions refused, 400 for a reused name): the
// test-code server plays PyPI here; pypiserver and devpi are in
// pypi_servers_test.go.
func TestPyPIRefusals(t *testing.T) {
	ctx := context.Background()
	srv := testutil.NewPyPI(t, token)
	dist := t.TempDir()
	it := makeWheel(t, dist, "hello-lib", "1.0.0")

	_, err := newStore(t, pypiConfig(srv), map[string]string{"PYPI_TOKEN": "wrong-token"}).Publish(ctx, it)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the token in $PYPI_TOKEN was refused")
	assert.NotContains(t, err.Error(), "wrong-token")

	local := makeWheel(t, dist, "hello-lib", "1.3.0.dev4+gabc")
	_, err = newStore(t, pypiConfig(srv), map[string]string{"PYPI_TOKEN": token}).Publish(ctx, local)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "local versions")

	sc := pypiConfig(srv)
	sc.PasswordEnv = "UNSET_TOKEN"
	_, err = New(sc, Env{Config: &config.Config{}, Getenv: func(string) string { return "" }})
	assert.ErrorContains(t, err, "password_env names $UNSET_TOKEN, which is not set")

	sc = pypiConfig(srv)
	sc.URL = "https://__token__:secret@upload.example.com/legacy/"
	_, err = New(sc, Env{Config: &config.Config{}, Getenv: func(string) string { return token }})
	assert.ErrorContains(t, err, "put no credentials in url")

	// Without an index to ask, a rerun learns from the upload's refusal.
	sc = pypiConfig(srv)
	sc.IndexURL = ""
	st := newStore(t, sc, map[string]string{"PYPI_TOKEN": token})
	_, err = st.Publish(ctx, it)
	require.NoError(t, err)
	_, err = st.Publish(ctx, it)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "post-release")
}

func TestPyPIDir(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "pypi")
	sc := config.DefaultStore("pypi", "pypi-dir")
	sc.Path = dir
	st := newStore(t, sc, nil)
	dist := t.TempDir()
	lib := testutil.HelloLibWheel(t, dist)
	items := []Item{
		fileItem(t, dist, filepath.Base(lib), "wheel", "hello-lib", "1.2.0"),
		makeSdist(t, dist, "hello-lib", "1.2.0", ""),
		makeWheel(t, dist, "hello-lib", "1.3.0"),
		makeWheel(t, dist, "other_pkg", "0.1.0"),
	}
	for _, it := range items {
		pub, err := st.Publish(ctx, it)
		require.NoError(t, err)
		assert.Contains(t, pub.Install, "--index-url file://"+dir+"/simple/")
	}
	page, err := os.ReadFile(filepath.Join(dir, "simple", "hello-lib", "index.html"))
	require.NoError(t, err)
	assert.Contains(t, string(page), `data-requires-python="&gt;=3.9"`)
	assert.Contains(t, string(page), "#sha256="+items[0].Artifact.SHA256)
	root, _ := os.ReadFile(filepath.Join(dir, "simple", "index.html"))
	assert.Contains(t, string(root), `<a href="other-pkg/">other-pkg</a>`, "names are normalized (PEP 503)")

	rels, err := st.Existing(ctx, "Hello.Lib")
	require.NoError(t, err)
	assert.Len(t, rels, 3)

	pub, err := st.Publish(ctx, items[0])
	require.NoError(t, err)
	assert.True(t, pub.Unchanged)
	_, err = st.Publish(ctx, makeSdist(t, t.TempDir(), "hello-lib", "1.2.0", "changed"))
	assert.ErrorContains(t, err, "versions are immutable")

	// pip installs from the directory as an index, the pinned version and
	// the newest.
	for spec, want := range map[string]string{"hello-lib==1.2.0": "hello_lib-1.2.0.dist-info", "hello-lib": "hello_lib-1.3.0.dist-info"} {
		target := t.TempDir()
		cmd := exec.Command("python3", "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check", "--only-binary", ":all:",
			"--target", target, "--index-url", "file://"+dir+"/simple/", spec)
		cmd.Env = append(os.Environ(), "PIP_CONFIG_FILE=/dev/null", "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.DirExists(t, filepath.Join(target, want), spec)
	}
	// And pip's PEP 691 client reads the JSON pages.
	js, _ := os.ReadFile(filepath.Join(dir, "simple", "hello-lib", "index.json"))
	assert.True(t, strings.HasPrefix(string(js), "{\n  \"meta\": {\n    \"api-version\": \"1.0\""))
}

// TestTLS: verification stays on; ca_file adds the server's authority, and
// insecure_skip_verify turns verification off for the store's host only.
func TestTLS(t *testing.T) {
	ctx := context.Background()
	srv := testutil.NewPyPI(t, token)
	u, _ := url.Parse(srv.URL)
	tlsSrv := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(u))
	defer tlsSrv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o644))
	sc := config.DefaultStore("pypi", "pypi")
	sc.URL, sc.IndexURL, sc.PasswordEnv, sc.Retries = tlsSrv.URL+"/legacy/", tlsSrv.URL+"/simple/", "PYPI_TOKEN", 0
	env := map[string]string{"PYPI_TOKEN": token}
	dist := t.TempDir()

	_, err := newStore(t, sc, env).Publish(ctx, makeWheel(t, dist, "hello-lib", "1.0.0"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")

	withCA := sc
	withCA.CAFile = ca
	_, err = newStore(t, withCA, env).Publish(ctx, makeWheel(t, dist, "hello-lib", "1.0.0"))
	require.NoError(t, err)

	insecure := sc
	insecure.InsecureSkipVerify = true
	_, err = newStore(t, insecure, env).Publish(ctx, makeWheel(t, dist, "hello-lib", "1.1.0"))
	require.NoError(t, err)
	assert.Len(t, srv.Uploads(), 2)
}

// TestPyPIFakeTakesTwine holds the test-code server to a real client: the
// pinned twine uploads to it, and is refused a reused file name.
func TestPyPIFakeTakesTwine(t *testing.T) {
	srv := testutil.NewPyPI(t, token)
	w := makeWheel(t, t.TempDir(), "hello-lib", "1.1.0")
	upload := func() (string, error) {
		cmd := exec.Command(testutil.PyTool(t, "twine"), "upload", "--non-interactive", "--verbose", "--disable-progress-bar", "--repository-url", srv.URL+"/legacy/", w.Path())
		cmd.Env = append(testutil.CleanEnv(), "TWINE_USERNAME=__token__", "TWINE_PASSWORD="+token, "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := upload()
	require.NoError(t, err, out)
	require.Len(t, srv.Uploads(), 1)
	out, err = upload()
	assert.Error(t, err)
	assert.Contains(t, out, "File already exists")
}
