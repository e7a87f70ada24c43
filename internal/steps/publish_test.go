package steps_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/fixture"
	"github.com/gopythongo/gopythongo/internal/pgp"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/steps/buildvenvstep"
	"github.com/gopythongo/gopythongo/internal/steps/packagestep"
	"github.com/gopythongo/gopythongo/internal/steps/publishstep"
	"github.com/gopythongo/gopythongo/internal/steps/versionstep"
	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
)

// pipelineEnv is what every step of a test pipeline gets.
func pipelineEnv(t *testing.T) map[string]string {
	img, err := fixture.BaseImage(context.Background(), testutil.FixtureDir())
	require.NoError(t, err)
	return map[string]string{
		"GOPYTHONGO_VENV_CACHE_DIR":      filepath.Join(testutil.FixtureDir(), "wheel-cache"),
		"GOPYTHONGO_PACKAGE_OCI_BASE":    "oci-layout:" + img + ":" + fixture.Suite,
		"GOPYTHONGO_PACKAGE_OCI_TARBALL": "false",
	}
}

// app runs version, build-venv and package on examples/hello (tagged v1.0.0).
func app(t *testing.T, config string, env map[string]string) *testutil.GitRepo {
	t.Helper()
	p := testutil.HelloProject(t, config)
	must(t, versionstep.Version(steptest.AskStore), p.Dir, env)
	must(t, buildvenvstep.BuildVenv(), p.Dir, env)
	must(t, packagestep.Package(), p.Dir, env)
	return p
}

const appConfig = `schema: 1
project: {name: hello, deploy_path: /opt/hello, python: /usr/bin/python3}
venv: {find_links: [wheels], no_index: true, build_isolation: false}
package:
  formats: [deb, oci]
  deb: {maintainer: "Hello Team <hello@example.com>"}
publish:
  stores:
    - {name: apt, type: apt-dir, path: dist/repo/apt, distribution: bookworm, signing_key_env: REPO_KEY}
    - {name: images, type: oci-dir, path: dist/repo/oci}
    - {name: registry, type: registry, repository: @REGISTRY@/team/hello, username: ci, password_env: REGISTRY_PASSWORD}
    - {name: aptly, type: aptly, url: @APTLY@, distribution: bookworm, gpg_key: @KEYID@, architectures: [amd64, all]}
`

// TestPublishApplication runs the pipeline on examples/hello and publishes to
// an apt-dir, an oci-dir, a registry with auth and aptly at once, as on
// GitHub; then apt installs and runs the app from the apt-dir and from aptly.
func TestPublishApplication(t *testing.T) {
	reg := testutil.StartRegistry(t, true)
	aptly := testutil.StartAptly(t)
	cfg := strings.NewReplacer("@REGISTRY@", reg.Host, "@APTLY@", aptly.URL, "@KEYID@", aptly.KeyID).Replace(appConfig)
	env := pipelineEnv(t)
	p := app(t, cfg, env)

	key, err := pgp.NewTestKey("Hello Repo", "repo@example.com")
	require.NoError(t, err)
	gh := t.TempDir()
	for k, v := range map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_SHA": p.Head(), "GITHUB_REF": "refs/tags/v1.0.0", "GITHUB_REF_NAME": "v1.0.0", "GITHUB_REF_TYPE": "tag",
		"GITHUB_OUTPUT": filepath.Join(gh, "output"), "GITHUB_ENV": filepath.Join(gh, "env"), "GITHUB_STEP_SUMMARY": filepath.Join(gh, "summary"),
		"REPO_KEY": string(key), "REGISTRY_PASSWORD": reg.Pass,
	} {
		env[k] = v
	}
	code, stdout, stderr := runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, env)
	require.Equal(t, 0, code, stderr)
	for _, want := range []string{"publish apt", "publish images", "publish registry", "publish aptly", "hello_1.0.0-1_all.deb published", "oci published"} {
		assert.Contains(t, stderr, want)
	}
	assert.Contains(t, stdout, "registry_reference="+reg.Host+"/team/hello:1.0.0\n")
	assert.Contains(t, stdout, "registry_tags=1.0.0,latest,1.0,1\n")

	st, err := state.Load(filepath.Join(p.Dir, "dist"))
	require.NoError(t, err)
	require.Len(t, st.Publications, 4)
	oci := st.Artifacts[1]
	require.Equal(t, state.FormatOCI, oci.Format)
	summary, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	for _, want := range []string{"| apt (apt-dir) |", "apt-get install hello=1.0.0-1", "docker pull " + reg.Host + "/team/hello@" + oci.Digest} {
		assert.Contains(t, string(summary), want)
	}
	outputs, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	assert.Contains(t, string(outputs), "publications<<")

	// Secrets: masked on GitHub, and nowhere else.
	stateFile, _ := os.ReadFile(state.Path(filepath.Join(p.Dir, "dist")))
	assert.Contains(t, stderr, "::add-mask::"+reg.Pass)
	keyLine := strings.Split(string(key), "\n")[3]
	assert.Contains(t, stderr, "::add-mask::"+keyLine, "a key is masked line by line")
	for _, secret := range []string{reg.Pass, keyLine} {
		for name, text := range map[string]string{"state file": string(stateFile), "stdout": stdout, "summary": string(summary), "outputs": string(outputs)} {
			assert.NotContains(t, text, secret, "a secret in the %s", name)
		}
		for _, l := range strings.Split(stderr, "\n") {
			if !strings.HasPrefix(l, "::add-mask::") && strings.Contains(l, secret) {
				t.Errorf("a secret in the log: %q", l)
			}
		}
	}

	// What the stores hold, seen by their own clients.
	out, err := exec.Command("skopeo", "inspect", "--tls-verify=false", "--creds", reg.User+":"+reg.Pass, "docker://"+reg.Host+"/team/hello:latest").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), oci.Digest)
	out, err = exec.Command("skopeo", "inspect", "oci:"+filepath.Join(p.Dir, "dist/repo/oci")+":1.0.0").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), oci.Digest)

	root := testutil.DebianRoot(t)
	require.NoError(t, exec.Command("cp", "-a", filepath.Join(p.Dir, "dist/repo/apt"), filepath.Join(root, "srv")).Run())
	pub, _ := os.ReadFile(filepath.Join(p.Dir, "dist/repo/apt/key.asc"))
	aptOut, err := testutil.AptGet(root, "deb [signed-by="+testutil.AptKey+"] file:/srv/apt bookworm main", string(pub), "install", "-y", "hello=1.0.0-1")
	require.NoError(t, err, aptOut)
	got, err := exec.Command("chroot", root, "/opt/hello/bin/hello", "apt").CombinedOutput()
	require.NoError(t, err, "%s", got)
	assert.Equal(t, "Hello, apt!\n", string(got))
	require.NoError(t, exec.Command("chroot", root, "dpkg", "--purge", "hello").Run())

	web := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(aptly.Root, "public"))))
	defer web.Close()
	aptOut, err = testutil.AptGet(root, "deb [signed-by="+testutil.AptKey+"] "+web.URL+" bookworm main", aptly.PublicKey, "install", "-y", "hello")
	require.NoError(t, err, aptOut)
	got, err = exec.Command("chroot", root, "/opt/hello/bin/hello", "aptly").CombinedOutput()
	require.NoError(t, err, "%s", got)
	assert.Equal(t, "Hello, aptly!\n", string(got))

	// A rerun of the job publishes nothing and succeeds.
	code, _, stderr = runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, env)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 4, strings.Count(stderr, "already there"), stderr)

	// A different .deb under the same version is refused, naming both
	// hashes; --force (another commit's state file) does not replace it,
	// --overwrite does.
	old := st.Artifacts[0].SHA256
	must(t, packagestep.Package(), p.Dir, env, "--format", "deb", "--compression", "xz")
	code, _, stderr = runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, env, "--store", "apt")
	assert.Equal(t, cli.ExitFailure, code)
	assert.Contains(t, stderr, old)
	assert.Contains(t, stderr, "--overwrite")
	code, _, stderr = runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, env, "--store", "apt", "--force")
	assert.Equal(t, cli.ExitFailure, code)
	assert.Contains(t, stderr, old)
	code, _, stderr = runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, env, "--store", "apt", "--overwrite")
	require.Equal(t, 0, code, stderr)

	// The refusal's advice, followed: the next revision from the store by
	// the new artifact's sha256, then package and publish again.
	must(t, packagestep.Package(), p.Dir, env, "--format", "deb", "--compression", "none")
	deb, err := state.Load(filepath.Join(p.Dir, "dist"))
	require.NoError(t, err)
	code, _, stderr = runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, env, "--store", "apt")
	require.Equal(t, cli.ExitFailure, code)
	var debSHA string
	for _, a := range deb.Artifacts {
		if a.Format == state.FormatDeb {
			debSHA = a.SHA256
		}
	}
	advice := "--revision-from apt --artifact-sha256 " + debSHA
	require.Contains(t, stderr, advice)
	versionOut := must(t, versionstep.Version(steptest.AskStore), p.Dir, env, strings.Fields(advice)...)
	assert.Contains(t, versionOut, "debian=1.0.0-2\n", "the next free revision")
	must(t, buildvenvstep.BuildVenv(), p.Dir, env)
	must(t, packagestep.Package(), p.Dir, env, "--format", "deb", "--compression", "none")
	code, _, stderr = runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, env, "--store", "apt")
	require.Equal(t, 0, code, stderr)
}

const libConfig = `schema: 1
project: {name: hello-lib, python: /usr/bin/python3}
venv: {find_links: [/usr/share/python-wheels], no_index: true, build_isolation: false}
publish:
  stores:
    - {name: pypi, type: pypi, url: @UPLOAD@, index_url: @PYPI@, username: ci, password_env: PYPI_TOKEN}
    - {name: local, type: pypi-dir, path: @INDEX@}
`

// TestPublishLibrary builds hello-lib with --dist-only, publishes it to
// pypiserver (with a password) and to a pypi-dir, and builds the application
// against both as its index and extra index, the credentials in ${VAR}s: the
// library built by the pipeline is what the app installs.
func TestPublishLibrary(t *testing.T) {
	ix := testutil.StartPypiserver(t, true)
	index := filepath.Join(t.TempDir(), "pypi")
	lib := testutil.LibProject(t, strings.NewReplacer("@UPLOAD@", ix.Upload, "@PYPI@", ix.URL, "@INDEX@", index).Replace(libConfig))
	env := pipelineEnv(t)
	must(t, versionstep.Version(steptest.AskStore), lib.Dir, env)
	must(t, buildvenvstep.BuildVenv(), lib.Dir, env, "--dist-only")
	env["PYPI_TOKEN"] = ix.Pass
	stdout := must(t, publishstep.Publish(steptest.NewSigner), lib.Dir, env)
	assert.Contains(t, stdout, "local_wheel_reference=file://"+index+"/files/hello_lib-1.2.0-py3-none-any.whl\n")
	uploaded, _ := filepath.Glob(filepath.Join(ix.Dir, "hello*"))
	assert.Len(t, uploaded, 2, "wheel and sdist")
	again := must(t, publishstep.Publish(steptest.NewSigner), lib.Dir, env)
	assert.NotContains(t, again, ix.Pass)
	uploaded, _ = filepath.Glob(filepath.Join(ix.Dir, "hello*"))
	assert.Len(t, uploaded, 2, "a rerun uploads nothing")

	// The application, built from the indexes instead of find_links.
	p := testutil.HelloProject(t, "schema: 1\nproject: {name: hello, deploy_path: /opt/hello, python: /usr/bin/python3}\nvenv: {build_isolation: false}\n")
	os.RemoveAll(filepath.Join(p.Dir, "wheels"))
	env["GOPYTHONGO_VENV_INDEX_URL"] = "http://${IDX_USER}:${IDX_PASS}@" + strings.TrimPrefix(ix.URL, "http://")
	env["GOPYTHONGO_VENV_EXTRA_INDEX_URLS"] = "file://" + index + "/simple/"
	env["IDX_USER"], env["IDX_PASS"] = ix.User, ix.Pass
	env["GOPYTHONGO_VENV_CACHE_DIR"] = t.TempDir()
	must(t, versionstep.Version(steptest.AskStore), p.Dir, env)
	out := must(t, buildvenvstep.BuildVenv(), p.Dir, env)
	assert.NotContains(t, out, ix.Pass)
	st, err := state.Load(filepath.Join(p.Dir, "dist"))
	require.NoError(t, err)
	versions := map[string]string{}
	for _, d := range st.Venv.Distributions {
		versions[d.Name] = d.Version
	}
	assert.Equal(t, "1.2.0", versions["hello-lib"], "installed from the indexes")
	data, err := os.ReadFile(filepath.Join(p.Dir, "dist", state.FileName))
	require.NoError(t, err)
	assert.NotContains(t, string(data), ix.Pass, "no secret in the state file")
}

func TestPublishErrors(t *testing.T) {
	p := testutil.HelloProject(t, "schema: 1\nproject: {name: hello}\n")
	code, _, stderr := runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, nil)
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "no stores are configured")

	p = testutil.HelloProject(t, "schema: 1\nproject: {name: hello}\npublish:\n  stores:\n    - {name: apt, type: apt-dir, path: repo}\n    - {name: py, type: pypi-dir, path: py}\n")
	code, _, stderr = runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, nil, "--store", "nexus")
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "--store nexus: no store of that name (configured: apt, py)")

	code, _, stderr = runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, nil)
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "run gopythongo-version first")

	dist := filepath.Join(p.Dir, "dist")
	st := &state.State{Commit: state.Commit{SHA: p.Head(), Provider: "local"}, Version: &state.Version{SemVer: "1.0.0", Debian: "1.0.0-1"}}
	require.NoError(t, st.Save(dist))
	code, _, stderr = runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, nil)
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "records no artifacts: run gopythongo-package")

	st.Artifacts = []state.Artifact{{Path: "hello_1.0.0-1_all.deb", Format: "deb"}}
	require.NoError(t, st.Save(dist))
	code, _, stderr = runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, nil)
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "store py (pypi-dir) takes none of the artifacts in the state file (deb): make the wheel and sdist with gopythongo-build-venv --dist-only")

	code, _, stderr = runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, nil, "--store", "apt")
	assert.Equal(t, cli.ExitFailure, code)
	assert.Contains(t, stderr, "hello_1.0.0-1_all.deb")
	var pubs []state.Publication
	st2, _ := state.Load(dist)
	js, _ := json.Marshal(st2.Publications)
	require.NoError(t, json.Unmarshal(js, &pubs))
	assert.Empty(t, pubs, "nothing recorded for a failed publish")

	// A dirty build sorts above the clean build of its commit: never published.
	st.Version = &state.Version{SemVer: "1.1.0-dev.2+g0123456789.dirty", Debian: "1.1.0~dev2+g0123456789.dirty-1"}
	require.NoError(t, st.Save(dist))
	code, _, stderr = runStep(t, publishstep.Publish(steptest.NewSigner), p.Dir, nil, "--store", "apt")
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "dirty work tree")
}
