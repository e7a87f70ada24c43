package pack_test

import (
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/pack"
	"github.com/gopythongo/gopythongo/internal/store"
	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/treesums"
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
		assert.Equal(t, "debian-binary\n"+dpkgDebControlMember(t, tc.comp)+"\n"+tc.member+"\n", members, tc.comp)
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
		// The apt stores read the control member, and so does aptly (the
		// publish tests give it the others). Bookworm's lintian refuses any
		// zstd member as Debian's archive has none, data.tar.zst too.
		para, err := store.DebControl(deb)
		require.NoError(t, err, tc.comp)
		assert.Equal(t, "hello", para.Get("Package"), tc.comp)
		if tc.comp == "zstd" && tc.md5 {
			aptly := t.TempDir()
			conf := filepath.Join(aptly, "aptly.conf")
			testutil.WriteFile(t, conf, `{"rootDir": "`+aptly+`"}`)
			sh(t, aptly, "aptly", "-config="+conf, "repo", "create", "r")
			sh(t, aptly, "aptly", "-config="+conf, "repo", "add", "r", deb)
			assert.Contains(t, sh(t, aptly, "aptly", "-config="+conf, "package", "show", "hello"), "Version: 1.2.3-1")
		}
	}
}

// dpkgDebControlMember is the control member's name in a package that
// dpkg-deb writes with the compression: the packer's is held to it.
func dpkgDebControlMember(t *testing.T, comp string) string {
	t.Helper()
	dir := t.TempDir()
	testutil.WriteFile(t, filepath.Join(dir, "p/DEBIAN/control"), "Package: x\nVersion: 1\nArchitecture: all\nMaintainer: X <x@example.com>\nDescription: x\n")
	sh(t, dir, "dpkg-deb", "-Z"+comp, "--build", "p", "x.deb")
	members := strings.Fields(sh(t, dir, "ar", "t", "x.deb"))
	require.Len(t, members, 3)
	require.True(t, strings.HasPrefix(members[1], "control.tar"), members[1])
	return members[1]
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

// TestDebTakesTheBuildsMD5SumsWhileTheyHold: gopythongo-package takes the
// md5 sums gopythongo-build-venv recorded instead of reading the tree again,
// but only of files unchanged since; a changed file, a record that is no
// record or none is hashed. Each .deb is held to md5sum over what dpkg-deb
// unpacks.
func TestDebTakesTheBuildsMD5SumsWhileTheyHold(t *testing.T) {
	p := built(t, baseConfig)
	dist := filepath.Join(p.Dir, "dist")
	rec := treesums.PathFor(filepath.Join(dist, "root"))
	data, err := os.ReadFile(rec)
	require.NoError(t, err, "build-venv records the sums")
	const file = "opt/hello/bin/hello"
	// Every regular file of the tree is in the record, with md5sum's sum.
	out := sh(t, filepath.Join(dist, "root"), "bash", "-c", "find . -type f -printf '%P\\0' | xargs -0 md5sum")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Greater(t, len(lines), 20)
	for _, l := range lines {
		sum, name, _ := strings.Cut(l, "  ")
		assert.Contains(t, string(data), "\x00"+name+"\x00"+sum+"\x00", "the record's sum of %s", name)
	}
	debSums := func() map[string]string {
		t.Helper()
		code, _, stderr := runStep(t, p.Dir, map[string]string{}, "--format", "deb")
		require.Equal(t, 0, code, stderr)
		ctl := t.TempDir()
		sh(t, p.Dir, "dpkg-deb", "--control", filepath.Join(dist, "hello_1.2.3-1_all.deb"), ctl)
		sums := map[string]string{}
		b, err := os.ReadFile(filepath.Join(ctl, "md5sums"))
		require.NoError(t, err)
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			sum, name, _ := strings.Cut(l, "  ")
			sums[name] = sum
		}
		return sums
	}
	real := md5.Sum(must(os.ReadFile(filepath.Join(dist, "root", file))))
	realHex := hex.EncodeToString(real[:])
	require.Contains(t, string(data), "\x00"+file+"\x00"+realHex+"\x00")

	// The record is what is taken: a sum planted in it, the file's stamp
	// unchanged, comes out in the .deb.
	planted := strings.Repeat("0", 32)
	require.NoError(t, os.WriteFile(rec, []byte(strings.Replace(string(data), "\x00"+file+"\x00"+realHex+"\x00", "\x00"+file+"\x00"+planted+"\x00", 1)), 0o644))
	assert.Equal(t, planted, debSums()[file], "the record's sum is taken")

	// The file changed at the same size: hashed, whatever the record says.
	content := must(os.ReadFile(filepath.Join(dist, "root", file)))
	changed := append([]byte{}, content...)
	changed[len(changed)-2] ^= 0x20
	require.NoError(t, os.WriteFile(filepath.Join(dist, "root", file), changed, 0o755))
	now := md5.Sum(changed)
	assert.Equal(t, hex.EncodeToString(now[:]), debSums()[file], "a changed file is hashed")

	// A record that is no record, or none: every file hashed, all right.
	for _, bad := range [][]byte{[]byte("gopythongo treesums 1\x00cut"), nil} {
		if bad == nil {
			require.NoError(t, os.Remove(rec))
		} else {
			require.NoError(t, os.WriteFile(rec, bad, 0o644))
		}
		sums := debSums()
		assert.Equal(t, hex.EncodeToString(now[:]), sums[file])
		assert.Len(t, sums, len(lines)+3, "the tree's files and the three the packer adds")
	}
	// The .deb's sums are md5sum's of what dpkg-deb unpacks.
	x := t.TempDir()
	sh(t, p.Dir, "dpkg-deb", "-x", filepath.Join(dist, "hello_1.2.3-1_all.deb"), x)
	ctl := t.TempDir()
	sh(t, p.Dir, "dpkg-deb", "--control", filepath.Join(dist, "hello_1.2.3-1_all.deb"), ctl)
	sh(t, x, "md5sum", "--check", "--quiet", filepath.Join(ctl, "md5sums"))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
