package steps

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
	"github.com/gopythongo/gopythongo/internal/venv"
)

func TestMain(m *testing.M) {
	if venv.IsNSExec(os.Args) {
		os.Exit(venv.NSExecMain())
	}
	os.Exit(m.Run())
}

// runStep runs a step in dir with exactly the given environment.
func runStep(t *testing.T, step cli.Step, dir string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	return steptest.Run(t, step, dir, env, args...)
}

// must runs a step that has to succeed.
func must(t *testing.T, step cli.Step, dir string, env map[string]string, args ...string) string {
	t.Helper()
	code, stdout, stderr := runStep(t, step, dir, env, args...)
	require.Equal(t, 0, code, "%s: %s", step.Name, stderr)
	return stdout
}
