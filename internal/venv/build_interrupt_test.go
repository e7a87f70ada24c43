package venv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
)

// TestInterruptLeavesNothing signals the step while a post_build command
// (with a child of its own) runs in each builder: the step exits with
// 128+signal, and leaves no build directory, no process, no container, and
// the tree of an earlier build untouched.
func TestInterruptLeavesNothing(t *testing.T) {
	tests := []struct {
		builder string
		sig     syscall.Signal
	}{
		{"host", syscall.SIGINT},
		{"chroot", syscall.SIGTERM},
		{"container", syscall.SIGTERM},
	}
	bin := steptest.Binary(t, "gopythongo-build-venv")
	for i, tt := range tests {
		t.Run(tt.builder, func(t *testing.T) {
			// A sleep no other process on this machine runs: its leftovers are ours.
			mark := fmt.Sprint(4000 + os.Getpid()%1000*3 + i)
			p := testutil.HelloProject(t, helloConfig+fmt.Sprintf("  post_build:\n    - [-c, \"import subprocess,time; subprocess.Popen(['sleep','%s']); open('/opt/hello/started','w').close(); time.sleep(%s)\"]\n", mark, mark))
			earlier := filepath.Join(p.Dir, "dist", "root", "opt", "hello")
			require.NoError(t, os.MkdirAll(earlier, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(earlier, "earlier"), []byte("an earlier build\n"), 0o644))

			st := &state.State{Commit: state.Commit{SHA: p.Head(), Provider: "local", Time: 1700000000}}
			require.NoError(t, st.Save(filepath.Join(p.Dir, "dist")))

			cmd := exec.Command(bin)
			cmd.Dir = p.Dir
			cmd.Env = append(os.Environ(), "GOPYTHONGO_VENV_CACHE_DIR="+t.TempDir())
			cmd.Env = append(cmd.Env, testutil.BuilderEnv(t, tt.builder)...)
			if tt.builder == "container" {
				cmd.Env = append(cmd.Env, "GOPYTHONGO_VENV_CONTAINER_RUN_ARGS=["+strings.Join(testutil.PodmanRunArgs, ", ")+", --label, io.gopythongo.test="+mark+"]")
			}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer cmd.Process.Kill()

			deadline := time.After(2 * time.Minute)
			for {
				m, _ := filepath.Glob(filepath.Join(p.Dir, "dist", ".build-*", "root", "opt", "hello", "started"))
				if len(m) > 0 {
					break
				}
				select {
				case err := <-exited:
					t.Fatalf("the step ended before post_build started: %v\n%s", err, out.String())
				case <-deadline:
					t.Fatalf("post_build never started:\n%s", out.String())
				case <-time.After(50 * time.Millisecond):
				}
			}
			require.Contains(t, processes(t), "sleep "+mark, "the post_build's child runs")
			require.NoError(t, cmd.Process.Signal(tt.sig))
			err := <-exited
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, out.String())
			assert.Equal(t, 128+int(tt.sig), ee.ExitCode(), out.String())
			assert.Contains(t, out.String(), "interrupted by "+tt.sig.String())

			builds, _ := filepath.Glob(filepath.Join(p.Dir, "dist", ".*"))
			assert.Empty(t, builds, "no build directory is left")
			entries, err := os.ReadDir(earlier)
			require.NoError(t, err)
			require.Len(t, entries, 1, "the earlier tree is untouched")
			assert.Equal(t, "earlier", entries[0].Name())
			assert.Eventually(t, func() bool { return !strings.Contains(processes(t), "sleep "+mark) }, 10*time.Second, 50*time.Millisecond,
				"no process of the build is left")
			mounts, err := os.ReadFile("/proc/self/mountinfo")
			require.NoError(t, err)
			assert.NotContains(t, string(mounts), p.Dir)
			if tt.builder == "container" {
				assert.Empty(t, testutil.PodmanContainers(t, "io.gopythongo.test="+mark), "the build container is removed")
			}
		})
	}
}

// processes lists the command lines of this machine's processes.
func processes(t *testing.T) string {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	require.NoError(t, err)
	var b strings.Builder
	for _, d := range dirs {
		if c, err := os.ReadFile(d); err == nil && len(c) > 0 {
			b.WriteString(strings.ReplaceAll(strings.TrimRight(string(c), "\x00"), "\x00", " "))
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// TestIsolatedBuildFailure: a command failing inside the root or the
// container fails the build with its exit code, and the build leaves no
// directory and no container behind.
func TestIsolatedBuildFailure(t *testing.T) {
	for i, builder := range []string{"chroot", "container"} {
		t.Run(builder, func(t *testing.T) {
			mark := fmt.Sprint(5000 + os.Getpid()%1000*2 + i)
			p := testutil.HelloProject(t, helloConfig+"  post_build:\n    - [-c, \"import sys; sys.exit(7)\"]\n")
			env := testutil.BuilderEnv(t, builder)
			if builder == "container" {
				env = append(env, "GOPYTHONGO_VENV_CONTAINER_RUN_ARGS=["+strings.Join(testutil.PodmanRunArgs, ", ")+", --label, io.gopythongo.test="+mark+"]")
			}
			run := buildIn(t, p.Dir, t.TempDir(), env...)
			require.Error(t, run.err)
			assert.Contains(t, run.err.Error(), "post_build command failed")
			assert.Contains(t, run.err.Error(), "exit status 7")
			left, _ := filepath.Glob(filepath.Join(p.Dir, "dist", "*"))
			assert.Empty(t, left, "nothing is left in dist")
			if builder == "container" {
				assert.Empty(t, testutil.PodmanContainers(t, "io.gopythongo.test="+mark), "the container is removed after a failure too")
			}
		})
	}
}
