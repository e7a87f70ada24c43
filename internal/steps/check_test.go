package steps_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/pgp"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/steps/buildvenvstep"
	"github.com/gopythongo/gopythongo/internal/steps/packagestep"
	"github.com/gopythongo/gopythongo/internal/steps/publishstep"
	"github.com/gopythongo/gopythongo/internal/steps/teststep"
	"github.com/gopythongo/gopythongo/internal/steps/versionstep"
	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
)

// allSteps are the five steps as their binaries make them.
func allSteps() []cli.Step {
	return []cli.Step{versionstep.Version(steptest.AskStore), teststep.Test(), buildvenvstep.BuildVenv(), packagestep.Package(), publishstep.Publish(steptest.NewSigner)}
}

const checkConfig = `schema: 1
project: {name: hello, deploy_path: /opt/hello, python: /usr/bin/python3}
test:
  suites:
    unit: {runner: pytest, paths: [tests/unit]}
venv: {find_links: [wheels], no_index: true, build_isolation: false}
package:
  formats: [deb, oci]
  deb: {maintainer: "Hello Team <hello@example.com>"}
publish:
  stores:
    - {name: apt, type: apt-dir, path: dist/repo/apt, distribution: bookworm, signing_key_env: REPO_KEY}
    - {name: images, type: oci-dir, path: dist/repo/oci}
`

// TestCheckOnAReadyProject: every step's --check on a project that the
// pipeline builds says it is ready (exit 0), names what it found (the
// version it would compute, the interpreter, the base image, the stores) and
// writes nothing: no dist directory, no store directory.
func TestCheckOnAReadyProject(t *testing.T) {
	p := testutil.HelloProject(t, checkConfig)
	env := pipelineEnv(t)
	key, err := pgp.NewTestKey("Hello Repo", "repo@example.com")
	require.NoError(t, err)
	env["REPO_KEY"] = string(key)
	want := map[string][]string{
		"gopythongo-version":    {"would be 1.0.0 (release) of commit " + p.Head()[:10]},
		"gopythongo-test":       {"test.suites.unit", "pytest", "project.python", "cpython 3."},
		"gopythongo-build-venv": {"host: a private mount namespace can be made", "venv.find_links", "state file", "is not there yet"},
		"gopythongo-package":    {"package.oci.base", "can be read", "package.deb.maintainer"},
		"gopythongo-publish":    {"store apt signing_key_env", "$REPO_KEY is set", "store images", "made by the first publish"},
	}
	for _, step := range allSteps() {
		code, stdout, stderr := runStep(t, step, p.Dir, env, "--check")
		require.Equal(t, 0, code, "%s:\n%s%s", step.Name, stdout, stderr)
		assert.Contains(t, stderr, "ready:")
		assert.NotContains(t, stdout, "PROBLEM")
		for _, w := range want[step.Name] {
			assert.Contains(t, stdout, w, step.Name)
		}
		assert.NotContains(t, stdout, string(key)[40:80], "no secret in a finding")
		assert.NoDirExists(t, filepath.Join(p.Dir, "dist"), "%s --check writes nothing", step.Name)
	}
}

// TestCheckSaysEverythingWrongAtOnce: a project with a problem for every
// step; each --check lists all of its problems, each naming its key and the
// fix, exits 2, and writes nothing. A configuration that does not load is
// reported whole.
func TestCheckSaysEverythingWrongAtOnce(t *testing.T) {
	bad := strings.NewReplacer(
		"venv: {find_links: [wheels], no_index: true, build_isolation: false}",
		"venv: {find_links: [wheels, no-such-wheels], requirements: [requirements/missing.txt], index_url: 'https://${INDEX_USER}@pypi.example.com/simple', build_isolation: false}",
		`deb: {maintainer: "Hello Team <hello@example.com>"}`, "deb: {compression: gzip}\n  oci: {base: oci-layout:no-such-layout}",
		"{name: images, type: oci-dir, path: dist/repo/oci}", "{name: images, type: oci-dir, path: dist/repo/oci}\n    - {name: pypi, type: pypi, url: 'http://127.0.0.1:9/', password_env: PYPI_TOKEN}",
	).Replace(checkConfig)
	p := testutil.HelloProject(t, bad)
	p.WriteFile("README.md", "changed, not committed\n") // a dirty work tree
	env := pipelineEnv(t)
	delete(env, "GOPYTHONGO_PACKAGE_OCI_BASE")
	want := map[string][]string{
		"gopythongo-version":    {"PROBLEM  version", "uncommitted"},
		"gopythongo-build-venv": {"venv.find_links", "no-such-wheels does not exist", "venv.requirements", "missing.txt does not exist", "venv.index_url", "$INDEX_USER, which is not set"},
		"gopythongo-package":    {"package.deb.maintainer", "a .deb needs a maintainer", "package.oci.base", "no-such-layout"},
		"gopythongo-publish":    {"store apt signing_key_env", "$REPO_KEY, which is not set", "store pypi password_env", "$PYPI_TOKEN, which is not set"},
	}
	problems := map[string]int{"gopythongo-version": 1, "gopythongo-build-venv": 3, "gopythongo-package": 2, "gopythongo-publish": 2}
	for _, step := range allSteps() {
		if want[step.Name] == nil {
			continue
		}
		code, stdout, stderr := runStep(t, step, p.Dir, env, "--check")
		assert.Equal(t, cli.ExitUsage, code, "%s:\n%s%s", step.Name, stdout, stderr)
		for _, w := range want[step.Name] {
			assert.Contains(t, stdout, w, step.Name)
		}
		assert.Equal(t, problems[step.Name], strings.Count(stdout, "PROBLEM"), "%s: every problem, once:\n%s", step.Name, stdout)
		assert.Contains(t, stderr, "fix")
		assert.NoDirExists(t, filepath.Join(p.Dir, "dist"))
	}

	// A configuration that does not load: all its errors, one finding each.
	p.WriteFile(".gopythongo.yaml", "schema: 1\nproject: {name: hello, pyhton: /usr/bin/python3}\nversion: {scheme: flow}\n")
	code, stdout, _ := runStep(t, buildvenvstep.BuildVenv(), p.Dir, env, "--check")
	assert.Equal(t, cli.ExitUsage, code)
	assert.Equal(t, 2, strings.Count(stdout, "PROBLEM"), stdout)
	assert.Contains(t, stdout, `unknown key "pyhton" in project`)
	assert.Contains(t, stdout, "version.scheme")
	assert.Contains(t, stdout, "checked once the configuration loads")
}

// TestPublishDryRun: after the pipeline, --dry-run says per store what it
// holds and what would be uploaded where (with the image's tags), writes
// nothing (no store directory, the state file byte for byte); after a real
// publish it says the artifacts are there; a different .deb under the same
// version would be refused, exit 1, naming the hash.
func TestPublishDryRun(t *testing.T) {
	env := pipelineEnv(t)
	key, err := pgp.NewTestKey("Hello Repo", "repo@example.com")
	require.NoError(t, err)
	env["REPO_KEY"] = string(key)
	p := app(t, checkConfig, env)
	statePath := state.Path(filepath.Join(p.Dir, "dist"))
	before, err := os.ReadFile(statePath)
	require.NoError(t, err)

	code, stdout, stderr := runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, env, "--dry-run")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "store apt (apt-dir) holds nothing of this package\n")
	assert.Contains(t, stdout, "would upload  hello_1.0.0-1_all.deb to deb [signed-by=")
	assert.Contains(t, stdout, "bookworm main")
	assert.Contains(t, stdout, "store images (oci-dir) holds nothing of this package\n")
	assert.Contains(t, stdout, "would upload  oci to oci:"+filepath.Join(p.Dir, "dist/repo/oci")+":1.0.0, tags 1.0.0, latest, 1.0, 1\n")
	assert.Contains(t, stderr, "nothing written")
	assert.NoDirExists(t, filepath.Join(p.Dir, "dist/repo"))
	after, _ := os.ReadFile(statePath)
	assert.Equal(t, string(before), string(after), "the dry run records no publication")

	must(t, publishstep.Publish(steptest.NewSigner), p.Dir, env)
	code, stdout, stderr = runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, env, "--dry-run")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "store apt (apt-dir) holds 1 release (1.0.0-1 all)\n")
	assert.Contains(t, stdout, "already there  hello_1.0.0-1_all.deb")
	assert.Contains(t, stdout, "store images (oci-dir) holds 4 releases")
	assert.Contains(t, stdout, "already there  oci")

	st, err := state.Load(filepath.Join(p.Dir, "dist"))
	require.NoError(t, err)
	old := st.Artifacts[0].SHA256
	must(t, packagestep.Package(), p.Dir, env, "--format", "deb", "--compression", "xz")
	code, stdout, stderr = runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, env, "--dry-run", "--store", "apt")
	assert.Equal(t, cli.ExitFailure, code, stderr)
	assert.Contains(t, stdout, "would fail  hello_1.0.0-1_all.deb")
	assert.Contains(t, stdout, old)
	code, stdout, stderr = runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, env, "--dry-run", "--store", "apt", "--overwrite")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "would upload  hello_1.0.0-1_all.deb")
	code, _, stderr = runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, env, "--store", "apt")
	assert.Equal(t, cli.ExitFailure, code, "the dry run with --overwrite replaced nothing: %s", stderr)
}
