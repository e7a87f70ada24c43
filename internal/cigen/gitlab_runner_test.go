package cigen

import (
	"context"
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
	"github.com/gopythongo/gopythongo/internal/pgp"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

// TestGitLabExampleUnderGitlabCILocal runs examples/gitlab/.gitlab-ci.yml as
// shipped under gitlab-ci-local, GitLab's pipeline semantics in a runner of
// its own (shell executor, each job in an isolated copy of the project): the
// stages in order, the version job's dotenv report reaching the publish job
// through the build job's, which alone hands the publish job its artifacts,
// JUnit and the packages where the artifacts say, masked-style secrets and
// project variables given as GitLab's CI/CD variables.
func TestGitLabExampleUnderGitlabCILocal(t *testing.T) {
	t.Parallel()
	gcl := testutil.CITool(t, "node_modules/.bin/gitlab-ci-local")
	dir, sums := release(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()

	example, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "examples/hello/.gopythongo.yaml"))
	require.NoError(t, err)
	ci, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "examples/gitlab/.gitlab-ci.yml"))
	require.NoError(t, err)
	p := testutil.HelloProject(t, string(example))
	p.Git("remote", "add", "origin", "https://gitlab.example.com/team/hello.git")
	p.Git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
	p.Checkout("develop", true)
	// A shell executor ignores image:, but gitlab-ci-local would still give
	// CI_PROJECT_DIR the image's /builds/<group>/<project>, a path of this
	// machine outside the job's copy: the test drops the line, as GitLab does.
	shell := strings.Replace(string(ci), "\n  image: golang:1.26-bookworm\n", "\n", 1)
	require.NotEqual(t, string(ci), shell, "the example names its image")
	p.WriteFile(".gitlab-ci.yml", shell)
	// A job's copy holds what git tracks, as a clone does: hello-lib's wheel
	// (find_links) is committed. The runner's state lives in the checkout.
	p.WriteFile(".gitignore", "dist/\n.gitlab-ci-local/\n.gopythongo/\n.cache/\n")
	p.Git("add", "-A")
	p.Commit("ci")

	img, err := fixture.BaseImage(context.Background(), testutil.FixtureDir())
	require.NoError(t, err)
	key, err := pgp.NewTestKey("Hello", "hello@example.com")
	require.NoError(t, err)
	// apt-get would change this machine: a stub stands in (make test installs
	// what the jobs need); on a shell executor the README says to drop it.
	stubs := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(stubs, "apt-get"), []byte("#!/bin/sh\nexit 0\n"), 0o755))

	args := []string{"--force-shell-executor", "--shell-isolation", "--no-color", "--home", t.TempDir(), "--ignore-predefined-vars", "GITLAB_CI"}
	for _, v := range []string{
		// gitlab-ci-local says false; GitLab says true.
		"GITLAB_CI=true",
		"GOPY_RELEASE=1.2.0",
		"GOPY_RELEASE_SHA256=" + sums["gopythongo_1.2.0_linux_amd64.tar.gz"],
		"GOPY_DOWNLOAD_URL=" + srv.URL,
		// CI/CD variables of the project: the base image and a secret.
		"GOPYTHONGO_PACKAGE_OCI_BASE=oci-layout:" + img + ":" + fixture.Suite,
		"GOPYTHONGO_PACKAGE_OCI_TARBALL=false",
		"HELLO_REPO_KEY=" + string(key),
	} {
		args = append(args, "--variable", v)
	}
	cmd := exec.Command(gcl, args...)
	cmd.Dir = p.Dir
	cmd.Env = []string{"PATH=" + stubs + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C.UTF-8"}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "gitlab-ci-local:\n%s", out)
	log := string(out)

	semver := "1.1.0-dev.1+g" + p.Head()[:10]
	state := filepath.Join(p.Dir, ".gitlab-ci-local")
	// gitlab-ci-local keeps a job's reports apart from its artifacts, as
	// GitLab does.
	dotenv, err := os.ReadFile(filepath.Join(state, "artifacts", "version", ".gitlab-ci-reports", "dotenv", "dist", "gopythongo.env"))
	require.NoError(t, err, "the version job's dotenv report")
	assert.Contains(t, string(dotenv), "GOPYTHONGO_SEMVER="+semver+"\n")
	assert.Contains(t, log, "rule:", "the version job explains")
	assert.Contains(t, log, "published "+semver, "the publish job sees the version of the dotenv report")
	// The publish job's dotenv comes from the build job alone, the version's
	// outputs in it with the build's.
	dotenv, err = os.ReadFile(filepath.Join(state, "artifacts", "build", ".gitlab-ci-reports", "dotenv", "dist", "gopythongo.env"))
	require.NoError(t, err, "the build job's dotenv report")
	assert.Contains(t, string(dotenv), "GOPYTHONGO_SEMVER="+semver+"\n")
	assert.Contains(t, string(dotenv), "GOPYTHONGO_DEB=dist/hello_")
	junit, _ := filepath.Glob(filepath.Join(state, "builds", "test", "dist", "test-results", "*.xml"))
	assert.Len(t, junit, 2, "JUnit files of the two suites where the report says")
	for _, pattern := range []string{"dist/gopythongo.json", "dist/*.deb", "dist/*.tar.gz", "dist/*.cdx.json", "dist/SHA256SUMS", "dist/oci"} {
		m, _ := filepath.Glob(filepath.Join(state, "artifacts", "build", pattern))
		assert.NotEmpty(t, m, "the build job's artifact %s", pattern)
	}
	assert.FileExists(t, filepath.Join(state, "builds", "publish", "dist", "repo", "apt", "dists", "bookworm", "InRelease"))
	keyLines := strings.Split(string(key), "\n")
	assert.NotContains(t, log, keyLines[len(keyLines)/2], "the signing key is never printed")
	// The wheel cache is where the job's cache: says, in the job's copy.
	wheels, _ := filepath.Glob(filepath.Join(state, "cache", "gopythongo-wheels", ".cache", "gopythongo", "wheels", "*", "*.whl"))
	assert.Len(t, wheels, 2, "the build job's wheel cache is kept")
}
