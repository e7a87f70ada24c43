package testutil

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gopythongo/gopythongo/internal/fixture"
)

// DebianRoot unpacks the cached minimal Debian root (python3 included) into a
// temporary directory; using it with chroot needs root.
func DebianRoot(t testing.TB) string {
	t.Helper()
	tarball, err := fixture.DebianRoot(context.Background(), FixtureDir())
	if err != nil {
		t.Fatal(err)
	}
	root, err := fixture.Unpack(context.Background(), tarball, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// AptKey is where AptGet puts the repository key inside the root, for the
// sources line's signed-by.
const AptKey = "/etc/apt/keyrings/gopythongo-test.asc"

// AptGet runs apt-get in the Debian root with a private configuration: only
// the given sources line, and key (armored, may be empty) at AptKey. It runs
// update from fresh lists (nothing trusted from an earlier run), then the given
// apt-get command, and returns the output of both.
func AptGet(root, sources, key string, args ...string) (string, error) {
	lists, _ := filepath.Glob(filepath.Join(root, "var/lib/apt/lists/*"))
	for _, l := range lists {
		if filepath.Base(l) != "partial" && filepath.Base(l) != "lock" {
			os.RemoveAll(l)
		}
	}
	if key != "" {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(AptKey)), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(root, AptKey), []byte(key), 0o644); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/apt/gopythongo-test.list"), []byte(sources+"\n"), 0o644); err != nil {
		return "", err
	}
	opts := []string{"-q", "-o", "Dir::Etc::sourcelist=/etc/apt/gopythongo-test.list", "-o", "Dir::Etc::sourceparts=/nonexistent",
		"-o", "APT::Sandbox::User=root", "-o", "Acquire::Languages=none"}
	out, err := exec.Command("chroot", append([]string{root, "apt-get"}, append(opts, "update")...)...).CombinedOutput()
	if err != nil {
		return string(out), err
	}
	more, err := exec.Command("chroot", append([]string{root, "apt-get"}, append(opts, args...)...)...).CombinedOutput()
	return string(out) + string(more), err
}
