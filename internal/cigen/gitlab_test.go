package cigen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/gopythongo/gopythongo/internal/fixture"
	"github.com/gopythongo/gopythongo/internal/pgp"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

type gitlabJob struct {
	Stage        string            `yaml:"stage"`
	Script       []string          `yaml:"script"`
	Variables    map[string]string `yaml:"variables"`
	Dependencies []string          `yaml:"dependencies"`
	Artifacts    struct {
		When    string            `yaml:"when"`
		Paths   []string          `yaml:"paths"`
		Reports map[string]string `yaml:"reports"`
	} `yaml:"artifacts"`
}

// TestGitLabExample checks the structure of examples/gitlab/.gitlab-ci.yml and
// runs its jobs, stage by stage, with bash under GitLab's CI_ variables on
// examples/hello: the binaries installed from a release archive checked
// against its sum, the dotenv report of the version job handed to later jobs
// as GitLab does, JUnit and the packages where the reports say.
func TestGitLabExample(t *testing.T) {
	root := testutil.RepoRoot()
	data, err := os.ReadFile(filepath.Join(root, "examples/gitlab/.gitlab-ci.yml"))
	require.NoError(t, err)
	var top struct {
		Variables map[string]string `yaml:"variables"`
		Stages    []string          `yaml:"stages"`
		Default   struct {
			BeforeScript []string `yaml:"before_script"`
		} `yaml:"default"`
	}
	require.NoError(t, yaml.Unmarshal(data, &top))
	var all map[string]yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &all))
	jobs := map[string]gitlabJob{}
	for name, n := range all {
		if slices.Contains([]string{"variables", "stages", "default", "workflow"}, name) {
			continue
		}
		var j gitlabJob
		require.NoError(t, n.Decode(&j), name)
		require.Contains(t, top.Stages, j.Stage, "job %s is in a stage", name)
		jobs[name] = j
	}
	assert.Equal(t, "dist/gopythongo.env", jobs["version"].Artifacts.Reports["dotenv"])
	// One state file reaches the publish job, the build job's, with the
	// version's outputs and the build's as its dotenv report.
	assert.Equal(t, []string{"build"}, jobs["publish"].Dependencies)
	assert.Contains(t, jobs["version"].Artifacts.Paths, "dist/gopythongo.env")
	assert.Equal(t, "dist/gopythongo.env", jobs["build"].Artifacts.Reports["dotenv"])
	assert.Equal(t, "dist/test-results/*.xml", jobs["test"].Artifacts.Reports["junit"])
	assert.Equal(t, "always", jobs["test"].Artifacts.When)
	assert.Equal(t, "0", top.Variables["GIT_DEPTH"])

	dir, sums := release(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	example, err := os.ReadFile(filepath.Join(root, "examples/hello/.gopythongo.yaml"))
	require.NoError(t, err)
	p := testutil.HelloProject(t, string(example))
	p.Checkout("develop", true)
	p.Commit("work")
	// apt-get would change this machine: a stub stands in (make test installs
	// what the jobs need).
	stubs := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(stubs, "apt-get"), []byte("#!/bin/sh\nexit 0\n"), 0o755))
	img, err := fixture.BaseImage(context.Background(), testutil.FixtureDir())
	require.NoError(t, err)
	key, err := pgp.NewTestKey("Hello", "hello@example.com")
	require.NoError(t, err)
	env := map[string]string{
		"PATH": stubs + ":/usr/bin:/bin", "HOME": t.TempDir(), "LANG": "C.UTF-8",
		"GITLAB_CI": "true", "CI": "true", "CI_COMMIT_BRANCH": "develop", "CI_COMMIT_REF_NAME": "develop", "CI_COMMIT_SHA": p.Head(),
		"CI_PIPELINE_SOURCE": "push", "CI_PIPELINE_IID": "41", "CI_PROJECT_DIR": p.Dir, "CI_PROJECT_URL": "https://gitlab.example.com/team/hello",
		"CI_JOB_URL": "https://gitlab.example.com/team/hello/-/jobs/9",
		// CI/CD variables of the project: the base image, and a masked secret.
		"GOPYTHONGO_PACKAGE_OCI_BASE": "oci-layout:" + img + ":" + fixture.Suite, "GOPYTHONGO_PACKAGE_OCI_TARBALL": "false", "HELLO_REPO_KEY": string(key),
	}
	for k, v := range top.Variables {
		env[k] = v
	}
	env["GOPY_RELEASE"] = "1.2.0"
	env["GOPY_RELEASE_SHA256"] = sums["gopythongo_1.2.0_linux_amd64.tar.gz"]
	env["GOPY_DOWNLOAD_URL"] = srv.URL
	outputs := map[string]string{}
	for _, stage := range top.Stages {
		for name, j := range jobs {
			if j.Stage != stage {
				continue
			}
			jobEnv := map[string]string{}
			for k, v := range env {
				jobEnv[k] = v
			}
			for k, v := range j.Variables {
				jobEnv[k] = os.Expand(v, func(k string) string { return jobEnv[k] })
			}
			script := "set -eo pipefail\n" + strings.Join(append(slices.Clone(top.Default.BeforeScript), j.Script...), "\n") + "\n"
			cmd := exec.Command("bash", "-c", script)
			cmd.Dir = p.Dir
			for k, v := range jobEnv {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "job %s:\n%s", name, out)
			outputs[name] = string(out)
			// A dotenv report becomes variables of the later jobs.
			if report := j.Artifacts.Reports["dotenv"]; report != "" {
				b, err := os.ReadFile(filepath.Join(p.Dir, report))
				require.NoError(t, err)
				for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
					k, v, ok := strings.Cut(l, "=")
					require.True(t, ok, "dotenv line %q", l)
					env[k] = v
				}
			}
			if report := j.Artifacts.Reports["junit"]; report != "" {
				m, _ := filepath.Glob(filepath.Join(p.Dir, report))
				assert.Len(t, m, 2, "JUnit files of the two suites")
			}
		}
	}
	semver := "1.1.0-dev.1+g" + p.Head()[:10]
	assert.Equal(t, semver, env["GOPYTHONGO_SEMVER"])
	assert.Contains(t, outputs["version"], "rule:")
	assert.Contains(t, outputs["publish"], "published "+semver)
	for _, path := range jobs["build"].Artifacts.Paths {
		m, _ := filepath.Glob(filepath.Join(p.Dir, path))
		assert.NotEmpty(t, m, "the build job's artifact %s exists", path)
	}
	assert.FileExists(t, filepath.Join(p.Dir, "dist/repo/apt/dists/bookworm/InRelease"))
}
