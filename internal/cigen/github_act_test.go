package cigen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/fixture"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

// TestGitHubExampleUnderAct runs examples/github/gopythongo.yml under
// nektos/act, GitHub's runner semantics against podman's Docker API, on
// examples/hello pushed to develop. The shipped file's uses: of GoPythonGo's
// actions are mapped to a release of this checkout (its archives served here,
// its sums in the action, as a release has them); GitHub's own actions, which
// cannot be cloned here, to stand-ins in testdata/act; the stores to a
// registry with auth and aptly behind auth on 127.0.0.1. It checks that
// outputs flow between steps and jobs, the step summary is written, secrets
// never reach the log and a GOPYTHONGO_ value of the job's env reaches the
// package step.
func TestGitHubExampleUnderAct(t *testing.T) {
	t.Parallel()
	act := testutil.CITool(t, "bin/act")
	image := testutil.RunnerImage(t)
	docker := startPodmanService(t)
	releases, sums := release(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(releases)))
	defer srv.Close()
	reg := testutil.StartRegistry(t, true)
	aptly := testutil.StartAptly(t)
	const aptlyPass = "s3cret-aptly-pass"
	aptlyProxy := testutil.NewAuthProxy(t, aptly.URL, "ci", aptlyPass)
	base, err := fixture.BaseImage(context.Background(), testutil.FixtureDir())
	require.NoError(t, err)

	// The action at a release: the checkout's action files with the sums of
	// the release's archives.
	root := testutil.RepoRoot()
	action := t.TempDir()
	for _, f := range []string{"action.yml", "actions"} {
		out, err := exec.Command("cp", "-a", filepath.Join(root, f), filepath.Join(action, f)).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	var sumLines []string
	for file, sum := range sums {
		sumLines = append(sumLines, sum+"  "+file)
	}
	testutil.WriteFile(t, filepath.Join(action, "actions/setup/checksums.txt"), strings.Join(sumLines, "\n")+"\n")

	shipped, err := os.ReadFile(filepath.Join(root, "examples/github/gopythongo.yml"))
	require.NoError(t, err)
	workflow := string(shipped)
	for _, r := range []struct{ old, new string }{
		// Air-gapped runners name a mirror of the release downloads.
		{"      - uses: gopythongo/gopythongo@v1\n", "      - uses: gopythongo/gopythongo@v1\n        with: {download-url: \"" + srv.URL + "\"}\n"},
		// Ubuntu's AppArmor switch: this kernel has none, the job runs as root.
		{"      - run: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0\n", ""},
		{"ghcr.io/${{ github.repository }}", reg.Host + "/${{ github.repository }}"},
		{"https://aptly.example.com", aptlyProxy.URL},
		// What a user sets for the job: a base image with Python.
		{"  build:\n    if: github.event_name == 'push'\n", "  build:\n    if: github.event_name == 'push'\n    env:\n      GOPYTHONGO_PACKAGE_OCI_BASE: \"oci-layout:" + base + ":" + fixture.Suite + "\"\n"},
	} {
		require.Contains(t, workflow, r.old, "the shipped workflow has what the test rewrites")
		workflow = strings.ReplaceAll(workflow, r.old, r.new)
	}

	example, err := os.ReadFile(filepath.Join(root, "examples/hello/.gopythongo.yaml"))
	require.NoError(t, err)
	p := testutil.HelloProject(t, string(example))
	p.Git("remote", "add", "origin", "https://github.com/example/hello.git")
	p.Checkout("develop", true)
	p.WriteFile(".github/workflows/gopythongo.yml", workflow)
	// A checkout holds what git tracks: hello-lib's wheel (find_links) too.
	p.WriteFile(".gitignore", "dist/\n")
	p.Git("add", "-A")
	p.Commit("ci")

	artifacts := t.TempDir()
	standins := filepath.Join(root, "internal/cigen/testdata/act")
	args := []string{"push", "--workflows", ".github/workflows/gopythongo.yml",
		"--platform", "ubuntu-24.04=" + image, "--pull=false", "--matrix", "python:3.11",
		"--local-repository", "gopythongo/gopythongo@v1=" + action,
		"--action-cache-path", t.TempDir(), "--no-cache-server", "--container-daemon-socket", "-", "--rm",
		// Containers here need runc's lowered limits (../shared/reference/ci.md);
		// the fixtures hold the OCI base, /artifacts the stand-ins' uploads.
		"--container-options", fmt.Sprintf("--privileged --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 -v %s:/artifacts -v %s:%s:ro", artifacts, testutil.FixtureDir(), testutil.FixtureDir()),
		"--secret", "GITHUB_TOKEN=" + reg.Pass, "--secret", "APTLY_PASSWORD=" + aptlyPass,
		"--var", "APT_SIGNING_KEY_ID=" + aptly.KeyID,
		// github.actor is the registry user, as on ghcr.io.
		"--actor", reg.User,
		"--env-file", "/dev/null", "--secret-file", "/dev/null", "--var-file", "/dev/null", "--input-file", "/dev/null",
	}
	for _, a := range []string{"setup-python@v5", "cache@v4", "upload-artifact@v4", "download-artifact@v4"} {
		args = append(args, "--local-repository", "actions/"+a+"="+filepath.Join(standins, strings.Split(a, "@")[0]))
	}
	cmd := exec.Command(act, args...)
	cmd.Dir = p.Dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "DOCKER_HOST=unix://" + docker}
	out, err := cmd.CombinedOutput()
	log := string(out)
	require.NoError(t, err, "act:\n%s", log)

	semver := "1.1.0-dev.1+g" + p.Head()[:10]
	tag := "1.1.0-dev.1_g" + p.Head()[:10]
	for _, job := range []string{"test", "build", "publish"} {
		assert.Contains(t, log, "[gopythongo/"+job+"] 🏁  Job succeeded")
	}
	assert.Contains(t, log, "GoPythonGo 1.2.0 installed: gopythongo-version v1.2.0", "the setup action installed the release and said so")
	assert.Contains(t, log, "published "+semver, "the build job's output reached the publish job")
	for _, summary := range []string{"### Version " + semver, "### Tests", "### Packages of hello " + semver, "### Published " + semver} {
		assert.Contains(t, log, "Summary - "+summary, "the steps wrote the step summary")
	}
	for _, secret := range []string{reg.Pass, aptlyPass} {
		assert.NotContains(t, log, secret, "a secret never reaches the log")
	}
	junit, _ := filepath.Glob(filepath.Join(artifacts, "test-results-3.11", "*.xml"))
	assert.Len(t, junit, 2, "the test job uploaded both suites' JUnit files")
	assert.NoDirExists(t, filepath.Join(artifacts, "dist", "root"), "the upload leaves out dist/root")

	// The image in the registry is built on the base from the job's env.
	req, err := http.NewRequest(http.MethodGet, "http://"+reg.Host+"/v2/example/hello/manifests/"+tag, nil)
	require.NoError(t, err)
	req.SetBasicAuth(reg.User, reg.Pass)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the image %s was pushed: %s", tag, body)
	var manifest struct {
		Layers []json.RawMessage `json:"layers"`
	}
	require.NoError(t, json.Unmarshal(body, &manifest))
	assert.Greater(t, len(manifest.Layers), 1, "the base's layers under the venv's: GOPYTHONGO_PACKAGE_OCI_BASE of the job's env reached the step")

	pub, err := http.Get(aptly.URL + "/api/publish")
	require.NoError(t, err)
	defer pub.Body.Close()
	pubs, _ := io.ReadAll(pub.Body)
	assert.Contains(t, string(pubs), `"Distribution":"bookworm"`, "aptly published the package")
}

// startPodmanService serves podman's Docker-compatible API on a socket of the
// test's, with the fixtures' storage, until the test ends.
func startPodmanService(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "podman.sock")
	args := append(testutil.PodmanArgs(), "system", "service", "--time=0", "unix://"+sock)
	testutil.Start(t, exec.Command("podman", args...), func() bool {
		_, err := os.Stat(sock)
		return err == nil
	})
	return sock
}
