package pack_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
)

// leftovers are the temporary names the packers write under.
func leftovers(t *testing.T, dist string) []string {
	t.Helper()
	var out []string
	ents, err := os.ReadDir(dist)
	require.NoError(t, err)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestInterruptedPackageLeavesNothingHalfWritten signals gopythongo-package at
// several moments while it packs a 160 MiB tree into a .deb, a tar.zst and an
// OCI layout: it stops with 128+signal, no temporary file or process is left
// and the state file is as it was; or, when the signal comes after the end,
// it has finished and every artifact is whole.
func TestInterruptedPackageLeavesNothingHalfWritten(t *testing.T) {
	p := built(t, strings.Replace(baseConfig, "formats: [deb, rpm, tar.gz, tar.zst, tar.xz, oci]", "formats: [deb, tar.zst, oci]\n  oci: {base: "+baseImage(t)+"}", 1))
	dist := filepath.Join(p.Dir, "dist")
	share := filepath.Join(dist, "root", "opt", "hello", "share")
	require.NoError(t, os.MkdirAll(share, 0o755))
	rng := rand.NewChaCha8([32]byte{1})
	for i := range 4 {
		f, err := os.Create(filepath.Join(share, "blob"+string(rune('a'+i))+".bin"))
		require.NoError(t, err)
		_, err = io.CopyN(f, rng, 40<<20)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	before, err := os.ReadFile(filepath.Join(dist, "gopythongo.json"))
	require.NoError(t, err)
	bin := steptest.Binary(t, "gopythongo-package")
	interrupted := 0
	for i, after := range []time.Duration{30 * time.Millisecond, 300 * time.Millisecond, 1200 * time.Millisecond, 2500 * time.Millisecond, 6 * time.Second} {
		sig := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}[i%2]
		cmd := exec.Command(bin)
		cmd.Dir = p.Dir
		cmd.Env = os.Environ()
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		time.Sleep(after)
		_ = cmd.Process.Signal(sig)
		_ = cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		t.Logf("%v after %v: exit %d", sig, after, code)
		assert.Empty(t, leftovers(t, dist), "no temporary file after %v", after)
		assert.ErrorIs(t, syscall.Kill(-cmd.Process.Pid, 0), syscall.ESRCH, "no process of the step is left (zstd)")
		now, err := os.ReadFile(filepath.Join(dist, "gopythongo.json"))
		require.NoError(t, err)
		switch code {
		case 128 + int(sig):
			interrupted++
			assert.Equal(t, string(before), string(now), "the state file names nothing of an interrupted run")
			assert.Contains(t, out.String(), "interrupted by")
		case 0:
			st := loadState(t, p.Dir)
			require.Len(t, st.Artifacts, 3, out.String())
			for _, a := range st.Artifacts {
				if a.Format != "oci" {
					b, err := os.ReadFile(filepath.Join(dist, a.Path))
					require.NoError(t, err)
					assert.Equal(t, a.SHA256, fmt.Sprintf("%x", sha256.Sum256(b)), "%s is whole", a.Path)
					assert.Equal(t, a.Size, int64(len(b)))
				}
			}
			require.NoError(t, os.WriteFile(filepath.Join(dist, "gopythongo.json"), before, 0o644))
		default:
			t.Fatalf("exit %d after %v:\n%s", code, after, out.String())
		}
	}
	assert.GreaterOrEqual(t, interrupted, 3, "the early signals stop the step")
}
