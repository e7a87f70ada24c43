package pack_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/pack"
)

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

// TestWriteAtomicLeavesNothing: nothing is left under a final name when
// writing fails.
func TestWriteAtomicLeavesNothing(t *testing.T) {
	_, err := pack.WriteAtomic("/proc", "x.deb", "deb", "all", func(f *os.File) error { return nil })
	assert.Error(t, err)
	dir := t.TempDir()
	_, err = pack.WriteAtomic(dir, "x.deb", "deb", "all", func(f *os.File) error {
		f.WriteString("half")
		return os.ErrClosed
	})
	assert.Error(t, err)
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries)
}
