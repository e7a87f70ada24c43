package pack

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

// TestServicePackage installs a package with a service into a Debian root
// where systemd does not run: the unit is enabled and the user made, twice
// over without harm, and removal takes the enablement away.
func TestServicePackage(t *testing.T) {
	p := built(t, baseConfig+`  service:
    exec: [/opt/hello/bin/hello, "from systemd"]
    user: hello
    create_user: true
    environment: {GREETING: "hi there"}
`)
	code, _, stderr := runStep(t, p.Dir, map[string]string{}, "--format", "deb")
	require.Equal(t, 0, code, stderr)
	deb := filepath.Join(p.Dir, "dist", "hello_1.2.3-1_all.deb")
	contents := sh(t, p.Dir, "dpkg-deb", "--contents", deb)
	assert.Contains(t, contents, "./lib/systemd/system/hello.service")
	ctl := t.TempDir()
	sh(t, p.Dir, "dpkg-deb", "--control", deb, ctl)
	postinst, err := os.ReadFile(filepath.Join(ctl, "postinst"))
	require.NoError(t, err)
	sh(t, p.Dir, "sh", "-n", filepath.Join(ctl, "postinst"))
	assert.Contains(t, string(postinst), "useradd --system --gid hello")
	out, err := exec.Command("lintian", "--allow-root", "--fail-on", "error", deb).CombinedOutput()
	assert.NoError(t, err, "lintian: %s", out)

	root := testutil.DebianRoot(t)
	copyInto(t, deb, filepath.Join(root, "tmp", "hello.deb"))
	sh(t, root, "chroot", root, "dpkg", "-i", "/tmp/hello.deb")
	link := filepath.Join(root, "etc", "systemd", "system", "multi-user.target.wants", "hello.service")
	target, err := os.Readlink(link)
	require.NoError(t, err, "the unit is enabled")
	assert.Equal(t, "/lib/systemd/system/hello.service", target)
	unit, err := os.ReadFile(filepath.Join(root, "lib", "systemd", "system", "hello.service"))
	require.NoError(t, err)
	assert.Contains(t, string(unit), `ExecStart=/opt/hello/bin/hello "from systemd"`)
	assert.Contains(t, string(unit), `Environment="GREETING=hi there"`)
	assert.Contains(t, string(unit), "User=hello\n")
	assert.Contains(t, sh(t, root, "chroot", root, "getent", "passwd", "hello"), "/nonexistent:/usr/sbin/nologin")

	// Again (an upgrade to the same version): idempotent.
	sh(t, root, "chroot", root, "dpkg", "-i", "/tmp/hello.deb")
	assert.Equal(t, 1, strings.Count(sh(t, root, "chroot", root, "getent", "passwd"), "hello:"))
	sh(t, root, "chroot", root, "dpkg", "--purge", "hello")
	_, err = os.Lstat(link)
	assert.True(t, os.IsNotExist(err), "removal disables the unit")
}

// TestOCILayers: a change to the project alone changes the project's layer
// only; the image also goes to a tarball that podman load accepts.
func TestOCILayers(t *testing.T) {
	p := built(t, baseConfig)
	env := map[string]string{"GOPYTHONGO_PACKAGE_OCI_BASE": "scratch", "GOPYTHONGO_PACKAGE_OCI_TARBALL": "true"}
	code, _, stderr := runStep(t, p.Dir, env, "--format", "oci")
	require.Equal(t, 0, code, stderr)
	dist := filepath.Join(p.Dir, "dist")
	layers := func() []string {
		var img struct{ Layers []string }
		require.NoError(t, json.Unmarshal([]byte(sh(t, dist, "skopeo", "inspect", "oci:"+filepath.Join(dist, "oci")+":1.2.3")), &img))
		return img.Layers
	}
	before := layers()
	require.Len(t, before, 2)

	// podman load takes the tarball.
	st := loadState(t, p.Dir)
	tarball := artifact(st, "oci").Tarball
	require.NotEmpty(t, tarball)
	storage := t.TempDir()
	out := sh(t, dist, "podman", "--root", filepath.Join(storage, "root"), "--runroot", filepath.Join(storage, "run"), "--storage-driver", "vfs", "load", "-i", tarball)
	assert.Contains(t, out, "Loaded image: localhost/hello:1.2.3")

	// Change the project only and build again.
	p.WriteFile("src/hello/cli.py", strings.Replace(readFile(t, filepath.Join(p.Dir, "src/hello/cli.py")), "Say hello.", "Say hello!", 1))
	p.Git("commit", "-qam", "change the project")
	buildVenv(t, p)
	code, _, stderr = runStep(t, p.Dir, env, "--format", "oci")
	require.Equal(t, 0, code, stderr)
	after := layers()
	require.Len(t, after, 2)
	assert.Equal(t, before[0], after[0], "the dependencies' layer is unchanged")
	assert.NotEqual(t, before[1], after[1], "the project's layer is new")
}

func readFile(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
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

	// Nothing is left under a final name when writing fails.
	_, err := writeAtomic("/proc", "x.deb", "deb", "all", func(f *os.File) error { return nil })
	assert.Error(t, err)
	dir := t.TempDir()
	_, err = writeAtomic(dir, "x.deb", "deb", "all", func(f *os.File) error {
		f.WriteString("half")
		return os.ErrClosed
	})
	assert.Error(t, err)
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries)
}

func TestDebCompressions(t *testing.T) {
	p := built(t, baseConfig)
	deb := filepath.Join(p.Dir, "dist", "hello_1.2.3-1_all.deb")
	for _, tc := range []struct {
		comp   string
		md5    bool
		member string
	}{{"zstd", true, "data.tar.zst"}, {"zstd", false, "data.tar.zst"}, {"xz", true, "data.tar.xz"}, {"none", false, "data.tar"}, {"gzip", false, "data.tar.gz"}} {
		code, _, stderr := runStep(t, p.Dir, map[string]string{}, "--format", "deb", "--compression", tc.comp, "--set", "package.deb.md5sums="+map[bool]string{true: "true", false: "false"}[tc.md5])
		require.Equal(t, 0, code, stderr)
		members := sh(t, p.Dir, "ar", "t", deb)
		assert.Equal(t, "debian-binary\ncontrol.tar.gz\n"+tc.member+"\n", members, tc.comp)
		assert.Contains(t, sh(t, p.Dir, "dpkg-deb", "--contents", deb), "./opt/hello/bin/hello", tc.comp)
		ctl := t.TempDir()
		sh(t, p.Dir, "dpkg-deb", "--control", deb, ctl)
		_, err := os.Stat(filepath.Join(ctl, "md5sums"))
		assert.Equal(t, tc.md5, err == nil, "md5sums %v with %s", tc.md5, tc.comp)
		if tc.md5 {
			// The sums are right: dpkg-deb unpacks, md5sum checks.
			x := t.TempDir()
			sh(t, p.Dir, "dpkg-deb", "-x", deb, x)
			sh(t, x, "md5sum", "--check", "--quiet", filepath.Join(ctl, "md5sums"))
		}
	}
}
