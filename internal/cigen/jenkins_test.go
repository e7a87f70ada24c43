package cigen

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

type jenkinsCall struct {
	Step        string              `json:"step"`
	Label       string              `json:"label"`
	Name        string              `json:"name"`
	Script      string              `json:"script"`
	Env         []string            `json:"env"`
	Credentials []map[string]string `json:"credentials"`
	Bindings    []map[string]string `json:"bindings"`
	TestResults string              `json:"testResults"`
	Includes    string              `json:"includes"`
	Excludes    string              `json:"excludes"`
	Artifacts   string              `json:"artifacts"`
	File        string              `json:"file"`
}

type jenkinsResult struct {
	Error       string        `json:"error"`
	Calls       []jenkinsCall `json:"calls"`
	DisplayName string        `json:"displayName"`
}

var (
	harnessOnce sync.Once
	harnessOut  []byte
	harnessErr  error
)

// jenkinsHarness runs jenkins/test/harness.groovy with Debian's groovy, once.
func jenkinsHarness(t *testing.T) (map[string]jenkinsResult, bool) {
	t.Helper()
	harnessOnce.Do(func() {
		// groovy-cps (from JenkinsPipelineUnit's dependencies) gives @NonCPS.
		cmd := exec.Command("groovy", "-cp", "jenkins/src:"+testutil.CITool(t, "jpu/groovy-cps-1.12.jar"), "jenkins/test/harness.groovy")
		cmd.Dir = testutil.RepoRoot()
		harnessOut, harnessErr = cmd.Output()
		if ee, ok := harnessErr.(*exec.ExitError); ok {
			harnessErr = fmt.Errorf("%w: %s", harnessErr, ee.Stderr)
		}
	})
	require.NoError(t, harnessErr, "groovy harness")
	out := harnessOut
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(out, &raw), "%s", out)
	var parsed bool
	json.Unmarshal(raw["jenkinsfileParses"], &parsed)
	delete(raw, "jenkinsfileParses")
	res := map[string]jenkinsResult{}
	for k, v := range raw {
		var r jenkinsResult
		require.NoError(t, json.Unmarshal(v, &r))
		res[k] = r
	}
	return res, parsed
}

func (r jenkinsResult) steps() []string {
	var out []string
	for _, c := range r.Calls {
		s := c.Step
		if c.Label != "" {
			s += ":" + c.Label
		}
		if c.Name != "" {
			s += ":" + c.Name
		}
		out = append(out, s)
	}
	return out
}

func (r jenkinsResult) sh(t *testing.T, label string) jenkinsCall {
	for _, c := range r.Calls {
		if c.Step == "sh" && c.Label == label {
			return c
		}
	}
	t.Fatalf("no sh %s among %v", label, r.steps())
	return jenkinsCall{}
}

// runSh runs a recorded sh script with dash, its withEnv entries and fake
// values for its credentials, against stub binaries that record their argv
// and GOPYTHONGO_ environment. It returns both.
func runSh(t *testing.T, c jenkinsCall, extraEnv ...string) ([]string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	require.NoError(t, os.MkdirAll(bin, 0o755))
	for _, s := range []string{"gopythongo-version", "gopythongo-test", "gopythongo-build-venv", "gopythongo-package", "gopythongo-publish"} {
		require.NoError(t, os.WriteFile(filepath.Join(bin, s), []byte("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$RECORD/argv\"\nenv | grep -E '^(GOPYTHONGO_|REGISTRY_|APT_|PYPI_)' | sort > \"$RECORD/env\"\n"), 0o755))
	}
	env := []string{"PATH=" + bin + ":/usr/bin:/bin", "RECORD=" + dir}
	for _, e := range c.Env {
		if !strings.HasPrefix(e, "PATH+") {
			env = append(env, e)
		}
	}
	for _, cred := range c.Credentials {
		for _, k := range []string{"usernameVariable", "passwordVariable", "variable"} {
			if v := cred[k]; v != "" {
				env = append(env, v+"=secret-"+strings.ToLower(v))
			}
		}
	}
	// Jenkins agents run sh scripts with /bin/sh: dash on Debian and Ubuntu.
	cmd := exec.Command("dash", "-eu", "-c", c.Script)
	cmd.Dir, cmd.Env = dir, append(env, extraEnv...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	argv, _ := os.ReadFile(filepath.Join(dir, "argv"))
	envOut, _ := os.ReadFile(filepath.Join(dir, "env"))
	vars := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(envOut)), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			vars[k] = v
		}
	}
	args := strings.Split(strings.TrimSuffix(string(argv), "\n"), "\n")
	if len(argv) == 0 {
		args = nil
	}
	return args, vars
}

// TestJenkinsLibrary runs the vars against the stub pipeline with groovy,
// asserts the steps they call, and runs the sh scripts they produce with dash,
// the /bin/sh of Debian and Ubuntu agents.
func TestJenkinsLibrary(t *testing.T) {
	res, jenkinsfile := jenkinsHarness(t)
	assert.True(t, jenkinsfile, "the example Jenkinsfile compiles")

	for name, r := range res {
		for _, c := range r.Calls {
			if c.Step == "sh" && strings.HasPrefix(c.Label, "gopythongo-") {
				assert.NotContains(t, c.Script, "secret", "%s: no value in a script", name)
				assert.Contains(t, c.Env, "PATH+GOPYTHONGO=/ws/.gopythongo/bin", "%s: %s", name, c.Label)
			}
		}
	}

	v := res["version"]
	require.Empty(t, v.Error)
	argv, vars := runSh(t, v.sh(t, "gopythongo-version"))
	assert.Equal(t, []string{"--config", "ci/gopythongo.yaml", "--explain", "--branch", "feature/x", "--pr", "12"}, argv)
	assert.Equal(t, "true", vars["GOPYTHONGO_VERSION_FETCH"])
	c, err := config.Load(config.Options{Dir: t.TempDir(), Environ: []string{"GOPYTHONGO_VENV_FIND_LINKS=" + vars["GOPYTHONGO_VENV_FIND_LINKS"]}})
	require.NoError(t, err)
	assert.Equal(t, []string{"wheels", "more wheels"}, c.Venv.FindLinks, "a list setting reaches the configuration whole")
	assert.Equal(t, "dist/gopythongo.properties", v.Calls[1].File, "the outputs are read back with readProperties")
	assert.Contains(t, res["versionBadKey"].Error, "is not a configuration key")
	assert.Empty(t, res["versionBadKey"].Calls)

	argv, _ = runSh(t, res["test"].sh(t, "gopythongo-test"))
	assert.Equal(t, []string{"--suite", "unit", "--suite", "integration"}, argv)
	assert.Equal(t, []string{"sh:gopythongo-test", "junit"}, res["testFails"].steps(), "test results are recorded when a test fails")
	assert.Contains(t, res["testFails"].Error, "exit code 1")
	assert.Equal(t, "dist/test-results/*.xml", res["test"].Calls[1].TestResults)

	argv, vars = runSh(t, res["buildVenv"].sh(t, "gopythongo-build-venv"))
	assert.Equal(t, []string{"--dist-only"}, argv, "noCache: false adds nothing")
	assert.Equal(t, "/var/cache/gopythongo", vars["GOPYTHONGO_VENV_CACHE_DIR"])

	p := res["package"]
	argv, vars = runSh(t, p.sh(t, "gopythongo-package"))
	assert.Equal(t, []string{"--format", "deb", "--format", "oci"}, argv)
	assert.Equal(t, "out", vars["GOPYTHONGO_PROJECT_DIST"])
	assert.Equal(t, []string{"sh:gopythongo-package", "archiveArtifacts", "stash:dist"}, p.steps())
	assert.Contains(t, p.Calls[1].Artifacts, "out/*.deb")
	assert.Equal(t, "out/**", p.Calls[2].Includes)
	assert.Equal(t, "out/root/**", p.Calls[2].Excludes, "the staging tree stays behind")

	pub := res["publish"]
	assert.Equal(t, []string{"unstash:dist", "withCredentials", "sh:gopythongo-publish", "readProperties"}, pub.steps())
	assert.Equal(t, []map[string]string{
		{"$class": "UsernamePasswordMultiBinding", "credentialsId": "registry", "usernameVariable": "REGISTRY_USER", "passwordVariable": "REGISTRY_PASSWORD"},
		{"$class": "FileBinding", "credentialsId": "apt-key", "variable": "APT_SIGNING_KEY_FILE"},
		{"$class": "StringBinding", "credentialsId": "pypi", "variable": "PYPI_TOKEN"},
	}, pub.Calls[1].Bindings)
	argv, vars = runSh(t, pub.sh(t, "gopythongo-publish"))
	assert.Equal(t, []string{"--force", "--overwrite", "--store", "registry", "--store", "apt"}, argv)
	assert.Equal(t, "secret-registry_password", vars["REGISTRY_PASSWORD"], "the secret reaches the binary through its environment")
	assert.Contains(t, res["publishBadCredential"].Error, "use usernamePassword, file or string")

	assert.Contains(t, res["setupNoSum"].Error, "version needs sha256")
	assert.Equal(t, []string{"sh:build GoPythonGo", "dir:/ws", "stash:gopythongo-bin"}, res["setupSource"].steps(), "the binaries are stashed from the workspace's root, where PATH+GOPYTHONGO looks")
	assert.Contains(t, res["setupSource"].sh(t, "build GoPythonGo").Env, "GOPY_BIN=/ws/.gopythongo/bin", "installed where PATH+GOPYTHONGO looks, also inside dir()")
	assert.Contains(t, res["pipelineDevelop"].sh(t, "gopythongo-version").Env, "GIT_COMMIT=c0ffee0000000000000000000000000000000000", "checkout's result reaches the version step")
	assert.Contains(t, res["pipelineDevelop"].sh(t, "gopythongo-version").Env, "GIT_URL=https://git.example.com/hello.git")

	stages := func(r jenkinsResult) []string {
		var out []string
		for _, c := range r.Calls {
			if c.Step == "stage" {
				out = append(out, c.Name)
			}
		}
		return out
	}
	all := []string{"Checkout", "Setup", "Version", "Test", "Build", "Package", "Publish"}
	assert.Equal(t, all, stages(res["readmeSnippet"]), "the README's snippet runs the whole pipeline on main")
	assert.Equal(t, all, stages(res["initJenkinsfile"]), "so does the Jenkinsfile of --init --ci jenkins")
	assert.Equal(t, all, stages(res["pipelineDevelop"]))
	assert.Equal(t, all, stages(res["pipelineTag"]))
	assert.Equal(t, all[:6], stages(res["pipelineFeature"]), "feature branches build but do not publish")
	assert.Equal(t, all[:4], stages(res["pipelinePR"]), "pull requests are tested only")
	assert.Equal(t, "#7 1.3.0-dev.4+gabc", res["pipelineDevelop"].DisplayName)
	assert.Contains(t, res["pipelineDevelop"].steps(), "unstash:gopythongo-bin", "the publish agent gets the binaries from the stash")
}

// TestJenkinsSetupRelease runs gopythongoSetup's install script against a
// release archive made by scripts/release.sh: the right sum installs, a wrong
// one is refused.
func TestJenkinsSetupRelease(t *testing.T) {
	res, _ := jenkinsHarness(t)
	script := res["setupRelease"].sh(t, "install GoPythonGo")
	release, sums := release(t)
	sum := sums["gopythongo_1.2.0_linux_amd64.tar.gz"]
	require.NotEmpty(t, sum)
	srv := httptest.NewServer(http.FileServer(http.Dir(release)))
	defer srv.Close()

	ws := t.TempDir()
	run := func(sha string) ([]byte, error) {
		var env []string
		for _, e := range script.Env {
			if !strings.HasPrefix(e, "PATH+") && !strings.HasPrefix(e, "GOPY_SHA256=") && !strings.HasPrefix(e, "GOPY_URL=") && !strings.HasPrefix(e, "GOPY_BIN=") {
				env = append(env, e)
			}
		}
		cmd := exec.Command("dash", "-c", script.Script)
		cmd.Dir, cmd.Env = ws, append(env, "PATH=/usr/bin:/bin", "GOPY_SHA256="+sha, "GOPY_URL="+srv.URL, "GOPY_BIN="+filepath.Join(ws, ".gopythongo/bin"))
		return cmd.CombinedOutput()
	}
	out, err := run(strings.Repeat("ab", 32))
	require.Error(t, err, "a wrong sum is refused")
	assert.Contains(t, string(out), "FAILED")
	assert.NoFileExists(t, filepath.Join(ws, ".gopythongo/bin/gopythongo-version"))
	out, err = run(sum)
	require.NoError(t, err, "%s", out)
	assert.FileExists(t, filepath.Join(ws, ".gopythongo/bin/gopythongo-publish"))
	assert.Contains(t, string(out), "GoPythonGo installed: gopythongo-version v1.2.0")
}

// TestJenkinsLibraryUnderPipelineUnit loads the shared library with
// @Library('gopythongo@v1') under JenkinsPipelineUnit's CPS mode
// (jenkins/test/pipelineunit.groovy), runs gopythongoPipeline on develop, a
// feature branch, a pull request and a tag, the vars inside dir() and with
// credentials, and runs every gopythongo- sh script it produced with dash.
func TestJenkinsLibraryUnderPipelineUnit(t *testing.T) {
	t.Parallel()
	jpu := testutil.CITool(t, "jpu")
	libs := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join(testutil.RepoRoot(), "jenkins"), filepath.Join(libs, "gopythongo@v1")))
	cmd := exec.Command("groovy", "-cp", jpu+"/*", "jenkins/test/pipelineunit.groovy", libs)
	cmd.Dir = testutil.RepoRoot()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var res map[string]jenkinsResult
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &res), "%s", out)

	stages := func(r jenkinsResult) []string {
		var out []string
		for _, c := range r.Calls {
			if c.Step == "stage" {
				out = append(out, c.Name)
			}
		}
		return out
	}
	all := []string{"Checkout", "Setup", "Version", "Test", "Build", "Package", "Publish"}
	for name, want := range map[string][]string{"pipelineDevelop": all, "pipelineTag": all, "pipelineFeature": all[:6], "pipelinePR": all[:4]} {
		require.Empty(t, res[name].Error, name)
		assert.Equal(t, want, stages(res[name]), name)
	}
	assert.Equal(t, "#7 1.3.0-dev.4+gabc", res["pipelineDevelop"].DisplayName)

	// Every GoPythonGo step sees checkout's GIT_ variables and the binaries
	// first on PATH, and its script runs under dash.
	ran := 0
	for _, name := range []string{"pipelineDevelop", "pipelineTag", "publishCredentials"} {
		for _, c := range res[name].Calls {
			if c.Step != "sh" || !strings.HasPrefix(c.Label, "gopythongo-") {
				continue
			}
			assert.Contains(t, c.Env, "PATH=/ws/.gopythongo/bin:/usr/bin:/bin", "%s %s", name, c.Label)
			if name != "publishCredentials" {
				for _, v := range []string{"GIT_COMMIT=c0ffee0000000000000000000000000000000000", "GIT_BRANCH=origin/", "GIT_URL=https://git.example.com/hello.git"} {
					assert.True(t, slices.ContainsFunc(c.Env, func(e string) bool { return strings.HasPrefix(e, v) }), "%s %s sees %s", name, c.Label, v)
				}
			}
			runSh(t, withoutPath(c))
			ran++
		}
	}
	assert.Equal(t, 11, ran, "the scripts of two pipelines and a publish")

	pub := res["publishCredentials"]
	require.Empty(t, pub.Error)
	assert.Equal(t, []map[string]string{
		{"$class": "UsernamePasswordMultiBinding", "credentialsId": "registry", "usernameVariable": "REGISTRY_USER", "passwordVariable": "REGISTRY_PASSWORD"},
		{"$class": "FileBinding", "credentialsId": "apt-key", "variable": "APT_SIGNING_KEY_FILE"},
		{"$class": "StringBinding", "credentialsId": "pypi", "variable": "PYPI_TOKEN"},
	}, pub.Calls[2].Bindings)
	argv, vars := runSh(t, withoutPath(pub.sh(t, "gopythongo-publish")))
	assert.Equal(t, []string{"--store", "registry", "--store", "apt"}, argv)
	assert.Equal(t, "****", vars["REGISTRY_PASSWORD"], "withCredentials bound the secret for the step")
	assert.Contains(t, res["publishBadCredential"].Error, "use usernamePassword, file or string")
	assert.NotContains(t, res["publishBadCredential"].steps(), "unstash:dist", "a bad credential stops before anything is fetched")

	inDir := res["insideDir"]
	require.Empty(t, inDir.Error)
	assert.Contains(t, inDir.sh(t, "build GoPythonGo").Env, "GOPY_BIN=/ws/.gopythongo/bin", "installed at the workspace's root inside dir()")
	assert.Contains(t, inDir.sh(t, "gopythongo-version").Env, "PATH=/ws/.gopythongo/bin:/usr/bin:/bin", "and found there")
	assert.Contains(t, res["testFails"].Error, "exit code 1")
	assert.Equal(t, []string{"node", "sh:gopythongo-test", "junit"}, res["testFails"].steps(), "test results are recorded when a test fails")
}

// withoutPath drops PATH from a recorded sh call's environment, so that
// runSh's stub binaries are found.
func withoutPath(c jenkinsCall) jenkinsCall {
	c.Env = slices.DeleteFunc(slices.Clone(c.Env), func(e string) bool { return strings.HasPrefix(e, "PATH=") })
	return c
}
