package pack_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	out, err := exec.Command("lintian", "--allow-root", "--fail-on", "error,warning", deb).CombinedOutput()
	assert.NoError(t, err, "lintian: %s", out)
	assert.NotContains(t, string(out), "W: ", "no warning at all")
	assert.NotContains(t, string(postinst), "systemctl start")
	assert.Contains(t, string(postinst), "deb-systemd-helper enable 'hello.service'")
	assert.Contains(t, sh(t, p.Dir, "dpkg-deb", "--field", deb, "Depends"), "init-system-helpers")

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

func readFile(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

// TestPackageRefusesPipesForItsInputs: a maintainer script, a unit file or
// a licence file that is a pipe is refused with its key, not waited on.
func TestPackageRefusesPipesForItsInputs(t *testing.T) {
	for _, tt := range []struct{ name, cfg, file, want string }{
		{"maintainer script", strings.Replace(baseConfig, "deb: {", "deb: {scripts: {postinst: debian/postinst}, ", 1), "debian/postinst", "package.deb.scripts.postinst: "},
		{"unit file", baseConfig + "  service: {unit: debian/hello.service}\n", "debian/hello.service", "package.service.unit: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := built(t, tt.cfg)
			require.NoError(t, os.MkdirAll(filepath.Join(p.Dir, "debian"), 0o755))
			require.NoError(t, syscall.Mkfifo(filepath.Join(p.Dir, tt.file), 0o644))
			type result struct {
				code   int
				stderr string
			}
			done := make(chan result, 1)
			go func() {
				code, _, stderr := runStep(t, p.Dir, map[string]string{}, "--format", "deb")
				done <- result{code, stderr}
			}()
			select {
			case r := <-done:
				assert.NotEqual(t, 0, r.code)
				assert.Contains(t, r.stderr, tt.want)
				assert.Contains(t, r.stderr, "is not a regular file")
			case <-time.After(30 * time.Second):
				t.Fatalf("gopythongo-package waits on %s", tt.file)
			}
			_, err := os.Stat(filepath.Join(p.Dir, "dist", "hello_1.2.3-1_all.deb"))
			assert.True(t, os.IsNotExist(err), "no package")
		})
	}
}
