package rootfs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pathWithout is a PATH of this machine's programs without the named ones.
func pathWithout(t *testing.T, names ...string) string {
	t.Helper()
	bin := t.TempDir()
	hidden := map[string]bool{}
	for _, n := range names {
		hidden[n] = true
	}
	for _, dir := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if hidden[e.Name()] {
				continue
			}
			if _, err := os.Lstat(filepath.Join(bin, e.Name())); err == nil {
				continue // the first on PATH wins
			}
			require.NoError(t, os.Symlink(filepath.Join(dir, e.Name()), filepath.Join(bin, e.Name())))
		}
	}
	return bin
}

// TestDebootstrapFallback makes a root with debootstrap where mmdebstrap is
// missing: a real bootstrap from the Debian mirror (about 40 s).
func TestDebootstrapFallback(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("bootstrapping a root needs root: run make test as root")
	}
	t.Setenv("PATH", pathWithout(t, "mmdebstrap"))
	spec := Spec{Distribution: "bookworm", Mirror: "http://deb.debian.org/debian", Variant: "minbase", Install: []string{"python3"}}
	r, err := Cache{Dir: t.TempDir()}.Ensure(context.Background(), spec, false)
	require.NoError(t, err)
	assert.Equal(t, "debootstrap", r.Tool)
	assert.True(t, r.Created)
	assert.FileExists(t, filepath.Join(r.Tree, "usr", "bin", "python3"))
	assert.FileExists(t, r.Tarball)
}

func TestNoBootstrapTool(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("run make test as root")
	}
	t.Setenv("PATH", pathWithout(t, "mmdebstrap", "debootstrap"))
	dir := t.TempDir()
	_, err := Cache{Dir: dir}.Ensure(context.Background(), Spec{Distribution: "bookworm", Mirror: "http://deb.debian.org/debian", Variant: "minbase"}, false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "apt-get install mmdebstrap")
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		assert.True(t, strings.HasSuffix(e.Name(), ".lock"), "nothing but the lock is left of the attempt: %s", e.Name())
	}
}

func TestKey(t *testing.T) {
	base := Spec{Distribution: "bookworm", Architecture: "amd64", Mirror: "http://deb.debian.org/debian", Variant: "minbase", Install: []string{"python3", "gcc"}}
	same := base
	same.Install = []string{"gcc", "python3", "gcc"}
	assert.Equal(t, base.Key(), same.Key(), "order and repeats of packages do not matter")
	for name, change := range map[string]func(*Spec){
		"distribution": func(s *Spec) { s.Distribution = "trixie" },
		"architecture": func(s *Spec) { s.Architecture = "arm64" },
		"mirror":       func(s *Spec) { s.Mirror = "http://mirror.example/debian" },
		"variant":      func(s *Spec) { s.Variant = "buildd" },
		"packages":     func(s *Spec) { s.Install = append(s.Install, "libpq-dev") },
		"commands":     func(s *Spec) { s.RunAfterCreate = [][]string{{"true"}} },
	} {
		s := base
		s.Install = append([]string(nil), base.Install...)
		change(&s)
		assert.NotEqual(t, base.Key(), s.Key(), name)
	}
}
