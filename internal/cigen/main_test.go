package cigen

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gopythongo/gopythongo/internal/testutil"
)

// scratch is the package's shared temporary directory, removed after the tests.
var scratch string

func TestMain(m *testing.M) {
	var err error
	if scratch, err = os.MkdirTemp("", "gopythongo-cigen-"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(scratch)
	os.Exit(code)
}

var (
	releaseOnce sync.Once
	releaseDir  string
	releaseSums map[string]string
	releaseErr  string
)

// release builds the linux/amd64 archive of version 1.2.0 with
// scripts/release.sh once, into <dir>/v1.2.0, and returns dir and the sums.
func release(t *testing.T) (string, map[string]string) {
	t.Helper()
	releaseOnce.Do(func() {
		releaseDir = filepath.Join(scratch, "release")
		sums := filepath.Join(scratch, "release-sums")
		cmd := exec.Command(filepath.Join(testutil.RepoRoot(), "scripts/release.sh"), "1.2.0", filepath.Join(releaseDir, "v1.2.0"), "linux/amd64")
		cmd.Env = append(os.Environ(), "CHECKSUMS_FILE="+sums)
		if out, err := cmd.CombinedOutput(); err != nil {
			releaseErr = string(out) + err.Error()
			return
		}
		b, _ := os.ReadFile(sums)
		releaseSums = map[string]string{}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) == 2 && !strings.HasPrefix(l, "#") {
				releaseSums[f[1]] = f[0]
			}
		}
	})
	if releaseErr != "" {
		t.Fatalf("scripts/release.sh: %s", releaseErr)
	}
	return releaseDir, releaseSums
}
