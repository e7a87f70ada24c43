package pack_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/testutil"
)

const cConfig = `schema: 1
project: {name: hello-c, deploy_path: /opt/hello-c, python: /usr/bin/python3}
venv: {no_index: true, build_isolation: false}
package:
  formats: [deb]
  deb: {maintainer: "Hello Team <hello@example.com>"}
`

// TestCExtensionInIsolatedBuilders compiles examples/hello-c inside the
// Debian 12 root of each isolated builder: the package depends on the
// interpreter and on the packages of the shared libraries the extension
// links (zlib, libc), and it runs once installed into another Debian 12 root.
func TestCExtensionInIsolatedBuilders(t *testing.T) {
	for _, builder := range []string{"chroot", "container"} {
		t.Run(builder, func(t *testing.T) {
			p := testutil.CProject(t, cConfig)
			buildVenv(t, p, testutil.BuilderEnv(t, builder)...)
			st := loadState(t, p.Dir)
			assert.Equal(t, builder, st.Venv.Builder)
			require.Len(t, st.Venv.Depends, 2, "%v", st.Venv.Depends)
			assert.Regexp(t, `^libc6 \(>= 2\.\d+\)$`, st.Venv.Depends[0])
			assert.Regexp(t, `^zlib1g \(>= 1:1\.[\w.~+-]+\)$`, st.Venv.Depends[1])

			// Compiled against the root's headers: the extension module is
			// tagged for the root's interpreter and needs libz.so.1.
			sos, _ := filepath.Glob(filepath.Join(p.Dir, "dist/root/opt/hello-c/lib/python3.11/site-packages/hello_c/_crc.cpython-311-*.so"))
			require.Len(t, sos, 1)
			assert.Contains(t, sh(t, p.Dir, "objdump", "-p", sos[0]), "NEEDED               libz.so.1")
			sections := sh(t, p.Dir, "objdump", "-h", sos[0])
			assert.NotContains(t, sections, ".debug_info", "stripped as dh_strip does")

			code, _, stderr := runStep(t, p.Dir, map[string]string{})
			require.Equal(t, 0, code, stderr)
			deb := filepath.Join(p.Dir, "dist", "hello-c_1.2.3-1_amd64.deb")
			depends := strings.TrimSpace(sh(t, p.Dir, "dpkg-deb", "--field", deb, "Depends"))
			assert.Equal(t, "python3.11, "+strings.Join(st.Venv.Depends, ", "), depends)
			out, err := exec.Command("lintian", "--allow-root", "--fail-on", "error,warning", deb).CombinedOutput()
			assert.NoError(t, err, "lintian: %s", out)

			root := testutil.DebianRoot(t)
			copyInto(t, deb, filepath.Join(root, "tmp", "hello-c.deb"))
			sh(t, root, "chroot", root, "dpkg", "-i", "/tmp/hello-c.deb")
			assert.Equal(t, "hello 907060870\n", sh(t, root, "chroot", root, "/opt/hello-c/bin/hello-c", "hello"))
			_, err = os.Stat("/opt/hello-c")
			assert.True(t, os.IsNotExist(err), "this machine's /opt/hello-c was never written")
		})
	}
}
