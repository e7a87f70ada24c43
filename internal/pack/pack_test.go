package pack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/fixture"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/steps/packagestep"
	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
	"github.com/gopythongo/gopythongo/internal/ui"
	"github.com/gopythongo/gopythongo/internal/venv"
)

func TestMain(m *testing.M) {
	if venv.IsNSExec(os.Args) {
		os.Exit(venv.NSExecMain())
	}
	os.Exit(m.Run())
}

const baseConfig = `schema: 1
project: {name: hello, deploy_path: /opt/hello, python: /usr/bin/python3}
venv: {find_links: [wheels], no_index: true, build_isolation: false}
package:
  formats: [deb, rpm, tar.gz, tar.zst, tar.xz, oci]
  deb: {maintainer: "Hello Team <hello@example.com>"}
`

// built makes examples/hello's venv and the state file a pipeline would have.
func built(t *testing.T, cfg string) *testutil.GitRepo {
	t.Helper()
	p := testutil.HelloProject(t, cfg)
	buildVenv(t, p)
	return p
}

// buildVenv builds the venv of a project and writes its state file; env
// holds further GOPYTHONGO_ variables.
func buildVenv(t *testing.T, p *testutil.GitRepo, env ...string) {
	t.Helper()
	c, err := config.Load(config.Options{Dir: p.Dir, Environ: append(env, "GOPYTHONGO_VENV_CACHE_DIR="+filepath.Join(testutil.FixtureDir(), "wheel-cache"))})
	require.NoError(t, err)
	epoch := commitTime(t, p)
	var log bytes.Buffer
	res, err := venv.Build(context.Background(), venv.Options{Config: c, Epoch: epoch, Getenv: os.Getenv, Log: ui.New(&log, "test", nil), Output: &log})
	require.NoError(t, err, log.String())
	st := &state.State{
		Commit:  state.Commit{SHA: p.Head(), Provider: "local", Time: epoch.Unix(), SourceURL: "https://example.com/hello"},
		Version: &state.Version{SemVer: "1.2.3", PEP440: "1.2.3", Debian: "1.2.3-1", OCITag: "1.2.3", Channel: "release"},
		Venv:    &res.Venv,
	}
	require.NoError(t, st.Save(filepath.Join(p.Dir, "dist")))
}

// commitTime is SOURCE_DATE_EPOCH's default: the commit's time, as the
// steps take it.
func commitTime(t *testing.T, p *testutil.GitRepo) time.Time {
	t.Helper()
	ct, err := strconv.ParseInt(p.Git("log", "-1", "--format=%ct"), 10, 64)
	require.NoError(t, err)
	return time.Unix(ct, 0).UTC()
}

func runStep(t *testing.T, dir string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	return steptest.Run(t, packagestep.Package(), dir, env, args...)
}

func baseImage(t *testing.T) string {
	t.Helper()
	img, err := fixture.BaseImage(context.Background(), testutil.FixtureDir())
	require.NoError(t, err)
	return "oci-layout:" + img + ":" + fixture.Suite
}

func sh(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
	return string(out)
}

func loadState(t *testing.T, dir string) *state.State {
	st, err := state.Load(filepath.Join(dir, "dist"))
	require.NoError(t, err)
	return st
}

func artifact(st *state.State, format string) state.Artifact {
	for _, a := range st.Artifacts {
		if string(a.Format) == format {
			return a
		}
	}
	return state.Artifact{}
}

// TestEveryFormat makes every format of examples/hello and checks each with the
// tools of its ecosystem, and that a second run gives identical bytes.
func TestEveryFormat(t *testing.T) {
	p := built(t, baseConfig)
	env := map[string]string{"GOPYTHONGO_PACKAGE_OCI_BASE": baseImage(t), "GOPYTHONGO_PACKAGE_OCI_TARBALL": "false"}
	code, stdout, stderr := runStep(t, p.Dir, env)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "deb=dist/hello_1.2.3-1_all.deb\n")
	assert.Contains(t, stdout, "oci_digest=sha256:")
	st := loadState(t, p.Dir)
	require.Len(t, st.Artifacts, 6)
	dist := filepath.Join(p.Dir, "dist")

	t.Run("deb", func(t *testing.T) {
		deb := filepath.Join(dist, "hello_1.2.3-1_all.deb")
		info := sh(t, dist, "dpkg-deb", "--info", deb)
		for _, want := range []string{"Package: hello", "Version: 1.2.3-1", "Architecture: all", "Depends: python3.11",
			"Maintainer: Hello Team <hello@example.com>", "Description: Says hello", "Gopythongo-Commit: " + p.Head()} {
			assert.Contains(t, info, want)
		}
		contents := sh(t, dist, "dpkg-deb", "--contents", deb)
		assert.Contains(t, contents, "./opt/hello/bin/python -> python3")
		assert.Contains(t, contents, "-rwxr-xr-x root/root")
		assert.Contains(t, contents, "./usr/share/doc/hello/copyright")
		assert.Contains(t, contents, "./usr/share/doc/hello/changelog.Debian.gz")
		assert.Contains(t, contents, commitTime(t, p).Format("2006-01-02 15:04")+" ./opt/hello/", "every time is SOURCE_DATE_EPOCH")
		out, err := exec.Command("lintian", "--allow-root", "--fail-on", "error,warning", deb).CombinedOutput()
		assert.NoError(t, err, "lintian: %s", out)
	})
	t.Run("deb installs into Debian and runs", func(t *testing.T) {
		root := testutil.DebianRoot(t)
		copyInto(t, filepath.Join(dist, "hello_1.2.3-1_all.deb"), filepath.Join(root, "tmp", "hello.deb"))
		sh(t, root, "chroot", root, "dpkg", "-i", "/tmp/hello.deb")
		assert.Equal(t, "Hello, Debian!\n", sh(t, root, "chroot", root, "/opt/hello/bin/hello", "Debian"))
		assert.Contains(t, sh(t, root, "chroot", root, "dpkg", "-s", "hello"), "Status: install ok installed")
	})
	t.Run("rpm", func(t *testing.T) {
		a := artifact(st, "rpm")
		require.Equal(t, "hello-1.2.3-1.noarch.rpm", a.Path)
		info := sh(t, dist, "rpm", "-qip", a.Path)
		assert.Contains(t, info, "Name        : hello")
		assert.Contains(t, info, "Version     : 1.2.3")
		assert.Contains(t, info, "Release     : 1")
		assert.Contains(t, info, "Architecture: noarch")
		list := sh(t, dist, "rpm", "-qlp", a.Path)
		assert.Contains(t, list, "/opt/hello/bin/hello\n")
		assert.Contains(t, list, "/opt/hello/lib/python3.11/site-packages/hello/cli.py\n")
	})
	t.Run("tar", func(t *testing.T) {
		for _, f := range []string{"tar.gz", "tar.zst", "tar.xz"} {
			a := artifact(st, f)
			require.NotEmpty(t, a.Path, f)
			list := sh(t, dist, "tar", "--numeric-owner", "-tvf", a.Path)
			lines := strings.Split(strings.TrimSpace(list), "\n")
			assert.True(t, strings.HasSuffix(lines[0], " opt/hello/"), "rooted at /, without /opt itself: %s", lines[0])
			assert.Contains(t, list, "0/0")
			assert.Contains(t, list, "opt/hello/bin/python -> python3")
			assert.NotContains(t, list, "./")
			// tar -C / -xf deploys it: here into a scratch root.
			scratch := t.TempDir()
			sh(t, dist, "tar", "-C", scratch, "-xf", a.Path)
			_, err := os.Stat(filepath.Join(scratch, "opt", "hello", "bin", "hello"))
			assert.NoError(t, err, f)
		}
	})
	t.Run("oci", func(t *testing.T) {
		ref := "oci:" + filepath.Join(dist, "oci") + ":1.2.3"
		var img struct {
			Labels map[string]string
			Layers []string
			Env    []string
		}
		require.NoError(t, json.Unmarshal([]byte(sh(t, dist, "skopeo", "inspect", ref)), &img))
		assert.Len(t, img.Layers, 3, "the base, the dependencies, the project")
		assert.Equal(t, "1.2.3", img.Labels["org.opencontainers.image.version"])
		assert.Equal(t, p.Head(), img.Labels["org.opencontainers.image.revision"])
		assert.Equal(t, "https://example.com/hello", img.Labels["org.opencontainers.image.source"])
		assert.Equal(t, commitTime(t, p).Format(time.RFC3339), img.Labels["org.opencontainers.image.created"])
		assert.Contains(t, img.Env, "PATH=/opt/hello/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
		assert.Contains(t, img.Env, "VIRTUAL_ENV=/opt/hello")
		var cfg struct {
			Config struct{ Entrypoint []string }
		}
		require.NoError(t, json.Unmarshal([]byte(sh(t, dist, "skopeo", "inspect", "--config", ref)), &cfg))
		assert.Equal(t, []string{"/opt/hello/bin/hello"}, cfg.Config.Entrypoint)
	})
	t.Run("SBOM and SHA256SUMS", func(t *testing.T) {
		sh(t, dist, "sha256sum", "--check", "--strict", "SHA256SUMS")
		sboms, err := filepath.Glob(filepath.Join(dist, "*.cdx.json"))
		require.NoError(t, err)
		require.Len(t, sboms, len(st.Artifacts), "one SBOM an artifact")
		testutil.ValidateCycloneDX(t, sboms...)
		var b struct {
			BOMFormat  string
			Components []struct{ Name, Version, Purl string }
		}
		data, err := os.ReadFile(filepath.Join(dist, "hello_1.2.3-1_all.deb.cdx.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(data, &b))
		assert.Equal(t, "CycloneDX", b.BOMFormat)
		require.Len(t, b.Components, 2)
		assert.Equal(t, "pkg:pypi/hello-lib@1.2.0", b.Components[1].Purl)
	})
	t.Run("reproducible", func(t *testing.T) {
		sums := map[string]string{}
		for _, a := range st.Artifacts {
			sums[a.Path] = a.SHA256
		}
		time.Sleep(1100 * time.Millisecond)
		code, _, stderr := runStep(t, p.Dir, env)
		require.Equal(t, 0, code, stderr)
		for _, a := range loadState(t, p.Dir).Artifacts {
			assert.Equal(t, sums[a.Path], a.SHA256, "%s is byte-identical (or the same image digest)", a.Path)
		}
	})
	t.Run("one format again replaces only its own", func(t *testing.T) {
		before := loadState(t, p.Dir).Artifacts
		code, _, stderr := runStep(t, p.Dir, env, "--format", "oci")
		require.Equal(t, 0, code, stderr)
		after := loadState(t, p.Dir).Artifacts
		assert.ElementsMatch(t, before, after, "the .deb, .rpm and tars are still in the state file")
		sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
		require.NoError(t, err)
		for _, a := range after {
			if a.Format != "oci" {
				assert.Contains(t, string(sums), a.SHA256+"  "+a.Path)
			}
		}
		assert.Contains(t, string(sums), strings.TrimPrefix(artifact(&state.State{Artifacts: after}, "oci").Digest, "sha256:")+"  oci/blobs/sha256/", "the layout by its manifest")
		sh(t, dist, "sha256sum", "--check", "--strict", "SHA256SUMS")
		for _, f := range []string{"index.json", "oci-layout"} {
			fi, err := os.Stat(filepath.Join(dist, "oci", f))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm(), f)
		}
		fi, err := os.Stat(filepath.Join(dist, "oci"))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm())
	})
}

func copyInto(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, data, 0o644))
}

// TestInterpreterOfNoPackage: a venv whose interpreter no package provides
// is refused for .deb and .rpm, naming the way out; naming the package
// makes it the dependency.
func TestInterpreterOfNoPackage(t *testing.T) {
	p := built(t, baseConfig)
	st := loadState(t, p.Dir)
	st.Venv.Interpreter.Package = ""
	st.Venv.Interpreter.Executable = "/root/.pyenv/versions/3.11.9/bin/python3.11"
	require.NoError(t, st.Save(filepath.Join(p.Dir, "dist")))
	for _, format := range []string{"deb", "rpm"} {
		code, _, stderr := runStep(t, p.Dir, map[string]string{}, "--format", format)
		assert.Equal(t, 1, code, format)
		assert.Contains(t, stderr, "/root/.pyenv/versions/3.11.9/bin/python3.11 (project.python /usr/bin/python3) belongs to no package", format)
		assert.Contains(t, stderr, "package."+format+".python_package", format)
	}
	code, _, stderr := runStep(t, p.Dir, map[string]string{}, "--format", "deb", "--format", "rpm",
		"--set", "package.deb.python_package=python3.11", "--set", "package.rpm.python_package=python3.11")
	require.Equal(t, 0, code, stderr)
	dist := filepath.Join(p.Dir, "dist")
	st = loadState(t, p.Dir)
	assert.Contains(t, sh(t, dist, "dpkg-deb", "--field", artifact(st, "deb").Path, "Depends"), "python3.11")
	assert.Contains(t, sh(t, dist, "rpm", "-qp", "--requires", artifact(st, "rpm").Path), "python3.11")
	code, _, stderr = runStep(t, p.Dir, map[string]string{}, "--format", "tar.gz")
	assert.Equal(t, 0, code, "a tarball needs no package: %s", stderr)
}

func TestBadInput(t *testing.T) {
	p := built(t, baseConfig)
	code, _, stderr := runStep(t, p.Dir, map[string]string{}, "--format", "zip")
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, `unknown package format "zip" (valid: deb, oci, rpm, tar.gz, tar.xz, tar.zst)`)

	code, _, stderr = runStep(t, p.Dir, map[string]string{"GOPYTHONGO_PACKAGE_OCI_BASE": "oci-layout:/nonexistent"}, "--format", "oci")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "base image layout /nonexistent")

	// A file outside the deploy path, and a symlink out of the tree.
	root := filepath.Join(p.Dir, "dist", "root")
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(root, "opt", "hello", "passwd-link")))
	code, _, stderr = runStep(t, p.Dir, map[string]string{}, "--format", "tar.gz")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "the symlink /opt/hello/passwd-link -> /etc/passwd points out of the venv")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc", "stray.conf"), nil, 0o644))
	code, _, stderr = runStep(t, p.Dir, map[string]string{}, "--format", "tar.gz")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "dist/root/etc is outside the deploy path /opt/hello")

	// No tree, no state.
	require.NoError(t, os.RemoveAll(root))
	code, _, stderr = runStep(t, p.Dir, map[string]string{}, "--format", "deb")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "run gopythongo-build-venv first")
	require.NoError(t, os.Remove(filepath.Join(p.Dir, "dist", "gopythongo.json")))
	code, _, stderr = runStep(t, p.Dir, map[string]string{}, "--format", "deb")
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "run gopythongo-version first")
}
