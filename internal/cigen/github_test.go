package cigen

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/fixture"
	"github.com/gopythongo/gopythongo/internal/pgp"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the generated actions")

// TestGitHubActions holds actions/<step>/action.yml to what the steps say.
func TestGitHubActions(t *testing.T) {
	for _, a := range Actions() {
		var b bytes.Buffer
		require.NoError(t, WriteGitHubAction(&b, a))
		file := filepath.Join(testutil.RepoRoot(), "actions", a.Dir, "action.yml")
		if *update {
			require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o755))
			require.NoError(t, os.WriteFile(file, b.Bytes(), 0o644))
			continue
		}
		have, err := os.ReadFile(file)
		require.NoError(t, err, "run go test ./internal/cigen -run TestGitHubActions -update")
		assert.Equal(t, b.String(), string(have), "%s is out of date: go test ./internal/cigen -run TestGitHubActions -update", file)
	}
}

// jobEnv is the environment of a runner's job: PATH with Go (for the setup
// action's build), Go's caches, and the GitHub context of a tag build.
func jobEnv(t *testing.T, sha string) map[string]string {
	env := map[string]string{
		"PATH": "/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin", "HOME": t.TempDir(), "LANG": "C.UTF-8",
		"GITHUB_SHA": sha, "GITHUB_REF": "refs/tags/v1.0.0", "GITHUB_REF_NAME": "v1.0.0", "GITHUB_REF_TYPE": "tag",
		"GITHUB_EVENT_NAME": "push", "GITHUB_REPOSITORY": "example/hello", "GITHUB_SERVER_URL": "https://github.com",
		"GITHUB_RUN_ID": "77", "GITHUB_RUN_NUMBER": "12", "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64",
	}
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS", "GONOSUMDB", "GOSUMDB", "GOTOOLCHAIN"} {
		if v := os.Getenv(k); v != "" {
			env[k] = v
		}
	}
	for _, k := range []string{"GOCACHE", "GOMODCACHE"} {
		if env[k] == "" {
			out, _ := exec.Command("go", "env", k).Output()
			env[k] = strings.TrimSpace(string(out))
		}
	}
	return env
}

// TestGitHubActionsOnHello runs the setup action (building from source) and
// every step's action on examples/hello with its own configuration, as a
// runner would, and checks the outputs, the environment and the summary.
func TestGitHubActionsOnHello(t *testing.T) {
	root := testutil.RepoRoot()
	example, err := os.ReadFile(filepath.Join(root, "examples/hello/.gopythongo.yaml"))
	require.NoError(t, err)
	p := testutil.HelloProject(t, string(example))
	r := newRunner(t, p.Dir, jobEnv(t, p.Head()))

	out, err := r.use(root, nil, nil)
	require.NoError(t, err, r.log.String())
	assert.Equal(t, "source", out["version"])
	assert.True(t, strings.HasPrefix(r.env["PATH"], out["path"]+":"), "the binaries are on PATH")

	out, err = r.use(filepath.Join(root, "actions/version"), map[string]string{"explain": "true"}, nil)
	require.NoError(t, err, r.log.String())
	assert.Equal(t, map[string]string{"semver": "1.0.0", "pep440": "1.0.0", "debian": "1.0.0-1", "oci_tag": "1.0.0", "channel": "release",
		"sha": p.Head(), "base": "1.0.0", "distance": "0"}, out)
	assert.Equal(t, "1.0.0", r.env["GOPYTHONGO_SEMVER"], "later steps see the version in their environment")
	assert.Contains(t, r.log.String(), "rule:", "--explain reached the binary")

	out, err = r.use(filepath.Join(root, "actions/test"), nil, nil)
	require.NoError(t, err, r.log.String())
	assert.Equal(t, "3", out["tests"])
	assert.Equal(t, "0", out["failures"])

	cache := filepath.Join(testutil.FixtureDir(), "wheel-cache")
	out, err = r.use(filepath.Join(root, "actions/build-venv"), map[string]string{"cache-dir": cache}, nil)
	require.NoError(t, err, r.log.String())
	assert.Equal(t, "/opt/hello", out["deploy_path"])

	img, err := fixture.BaseImage(context.Background(), testutil.FixtureDir())
	require.NoError(t, err)
	// The base image comes from the job's env, not an input: an input not
	// given leaves the caller's GOPYTHONGO_ variable alone.
	r.env["GOPYTHONGO_PACKAGE_OCI_BASE"] = "oci-layout:" + img + ":" + fixture.Suite
	out, err = r.use(filepath.Join(root, "actions/package"), map[string]string{"formats": "deb,oci", "oci-tarball": "false"}, nil)
	require.NoError(t, err, r.log.String())
	delete(r.env, "GOPYTHONGO_PACKAGE_OCI_BASE")
	assert.NotContains(t, r.log.String(), "names no configuration key", "empty inputs warn about nothing")
	assert.Equal(t, "dist/hello_1.0.0-1_all.deb", out["deb"])
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, out["oci_digest"])

	key, err := pgp.NewTestKey("Hello", "hello@example.com")
	require.NoError(t, err)
	out, err = r.use(filepath.Join(root, "actions/publish"), nil, map[string]string{"HELLO_REPO_KEY": string(key)})
	require.NoError(t, err, r.log.String())
	var pubs []state.Publication
	require.NoError(t, json.Unmarshal([]byte(out["publications"]), &pubs))
	require.Len(t, pubs, 2)
	assert.Equal(t, "apt", pubs[0].Store)
	assert.Contains(t, r.log.String(), "::add-mask::", "the signing key is masked")

	summary := r.summary.String()
	for _, want := range []string{"### Version 1.0.0", "### Packages of hello 1.0.0", "apt-get install hello=1.0.0-1", "| unit |"} {
		assert.Contains(t, summary, want)
	}

	// A wrong input is an error that names it; nothing is parsed by a shell.
	_, err = r.use(filepath.Join(root, "actions/version"), map[string]string{"explain": "maybe"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "input explain must be true or false")
	_, err = r.use(filepath.Join(root, "actions/version"), map[string]string{"branch": "$(touch pwned)"}, nil)
	require.NoError(t, err, "an input is an argument, never code")
	assert.NoFileExists(t, filepath.Join(p.Dir, "pwned"))
}

// TestSetupFromRelease installs from a release archive made by
// scripts/release.sh, served over HTTP, checked against the sums written into
// the action; a tampered archive is refused; the second run uses the tool cache.
func TestSetupFromRelease(t *testing.T) {
	root := testutil.RepoRoot()
	action := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(action, "actions"), 0o755))
	for _, f := range []string{"action.yml", "actions/setup"} {
		out, err := exec.Command("cp", "-a", filepath.Join(root, f), filepath.Join(action, f)).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	release, sums := release(t)
	var lines []string
	for file, sum := range sums {
		lines = append(lines, sum+"  "+file)
	}
	testutil.WriteFile(t, filepath.Join(action, "actions/setup/checksums.txt"), "# sums\n"+strings.Join(lines, "\n")+"\n")
	srv := httptest.NewServer(http.FileServer(http.Dir(release)))
	defer srv.Close()

	env := jobEnv(t, "")
	env["PATH"] = "/usr/bin:/bin" // no Go: a release needs none
	r := newRunner(t, t.TempDir(), env)
	outs, err := r.use(action, map[string]string{"download-url": srv.URL}, nil)
	require.NoError(t, err, r.log.String())
	assert.Equal(t, "1.2.0", outs["version"], "the release the action's sums name")
	assert.FileExists(t, filepath.Join(outs["path"], "gopythongo-publish"))
	assert.Contains(t, r.log.String(), "GoPythonGo 1.2.0 installed: gopythongo-version v1.2.0 (commit ", "the setup says what it installed, from the binary")
	_, err = r.use(action, map[string]string{"download-url": srv.URL}, nil)
	require.NoError(t, err)
	assert.Contains(t, r.log.String(), "from the tool cache")

	sumsFile := filepath.Join(action, "actions/setup/checksums.txt")
	b, _ := os.ReadFile(sumsFile)
	require.NoError(t, os.WriteFile(sumsFile, []byte(regexp.MustCompile(`(?m)^[0-9a-f]{64}`).ReplaceAllString(string(b), strings.Repeat("0", 64))), 0o644))
	r = newRunner(t, t.TempDir(), jobEnv(t, ""))
	_, err = r.use(action, map[string]string{"download-url": srv.URL}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refusing it")
	_, err = r.use(action, map[string]string{"download-url": srv.URL, "version": "1.0.0"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no sha256 for gopythongo_1.0.0_linux_amd64.tar.gz")
}
