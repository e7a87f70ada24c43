package venv

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
)

func runStep(t *testing.T, dir string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	return steptest.Run(t, Step(), dir, env, args...)
}

func TestStep(t *testing.T) {
	p := testutil.HelloProject(t, helloConfig)
	env := map[string]string{"GOPYTHONGO_VENV_CACHE_DIR": t.TempDir()}
	code, _, stderr := runStep(t, p.Dir, env)
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "run gopythongo-version first")

	st := &state.State{Commit: state.Commit{SHA: p.Head(), Provider: "local", Time: 1700000000}}
	require.NoError(t, st.Save(filepath.Join(p.Dir, "dist")))
	code, stdout, stderr := runStep(t, p.Dir, env)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "deploy_path=/opt/hello\n")
	got, err := state.Load(filepath.Join(p.Dir, "dist"))
	require.NoError(t, err)
	require.NotNil(t, got.Venv)
	assert.Equal(t, "dist/root", got.Venv.Root)
	assert.Len(t, got.Venv.Distributions, 2)

	// A state file of another commit is refused unless forced.
	p.Commit("next")
	code, _, stderr = runStep(t, p.Dir, env)
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "--force")
	code, _, stderr = runStep(t, p.Dir, env, "--force")
	assert.Equal(t, 0, code, stderr)
}
