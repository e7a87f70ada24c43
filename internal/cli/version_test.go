package cli_test

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/testutil"
)

// TestMakeBuildIsStaticAndStamped runs make build: every step is a static
// binary, and --version names the stamped version, the commit and Go.
func TestMakeBuildIsStaticAndStamped(t *testing.T) {
	bin := t.TempDir()
	cmd := exec.Command("make", "-C", testutil.RepoRoot(), "build", "BIN="+bin, "VERSION=v9.8.7-test")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	head, err := exec.Command("git", "-C", testutil.RepoRoot(), "rev-parse", "HEAD").Output()
	require.NoError(t, err)
	for _, step := range []string{"version", "test", "build-venv", "package", "publish"} {
		name := "gopythongo-" + step
		p := filepath.Join(bin, name)
		f, err := elf.Open(p)
		require.NoError(t, err, name)
		for _, prog := range f.Progs {
			assert.NotEqual(t, elf.PT_INTERP, prog.Type, "%s is linked dynamically", name)
		}
		f.Close()
		got, err := exec.Command(p, "--version").Output()
		require.NoError(t, err, name)
		line := string(got)
		assert.True(t, strings.HasPrefix(line, name+" v9.8.7-test (commit "+string(head[:12])), line)
		assert.Contains(t, line, "go1.")
	}
	_ = os.RemoveAll(bin)
}
