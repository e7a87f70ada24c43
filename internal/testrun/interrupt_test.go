package testrun

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

	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
)

func TestMain(m *testing.M) {
	steptest.RunChild(Step())
	os.Exit(m.Run())
}

// running says whether a process with exactly this command line runs.
func running(cmdline string) bool {
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && strings.TrimRight(strings.ReplaceAll(string(b), "\x00", " "), " ") == cmdline {
			return true
		}
	}
	return false
}

// TestInterruptStopsTheSuiteAndItsChildren signals gopythongo-test while a
// suite runs a child of its own: the step exits 128+signal and no process of
// the suite is left.
func TestInterruptStopsTheSuiteAndItsChildren(t *testing.T) {
	for i, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := failingProject(t)
			mark := fmt.Sprint(7000 + os.Getpid()%1000*2 + i)
			started := filepath.Join(t.TempDir(), "started")
			suites := fmt.Sprintf(`{long: {runner: custom, argv: [python, -c, "import subprocess, time; subprocess.Popen(['sleep', '%s']); open('%s', 'w').close(); time.sleep(%s)"]}}`, mark, started, mark)
			self, err := os.Executable()
			require.NoError(t, err)
			cmd := exec.Command(self, "--suite", "long")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), steptest.ChildEnv+"=1", "GOPYTHONGO_TEST_SUITES="+suites, "GOPYTHONGO_VENV_CACHE_DIR="+t.TempDir())
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			require.NoError(t, cmd.Start())
			defer cmd.Process.Kill()
			require.Eventually(t, func() bool { _, err := os.Stat(started); return err == nil }, 2*time.Minute, 50*time.Millisecond, "the suite never started")
			require.True(t, running("sleep "+mark))
			require.NoError(t, cmd.Process.Signal(sig))
			_ = cmd.Wait()
			assert.Equal(t, 128+int(sig), cmd.ProcessState.ExitCode(), out.String())
			assert.Eventually(t, func() bool { return !running("sleep " + mark) }, 10*time.Second, 50*time.Millisecond, "the suite's child is gone")
			left, _ := filepath.Glob(filepath.Join(dir, "dist", ".*"))
			assert.Empty(t, left, "no temporary directory")
		})
	}
}
