package cli_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
)

// run runs a step made of fn in dir, with env as the whole environment.
func run(t *testing.T, dir string, env map[string]string, fn func(ctx context.Context, s *cli.Session) error, args ...string) (int, string, string) {
	t.Helper()
	return steptest.Run(t, cli.Step{Name: "gopythongo-t", Summary: "a test", Run: fn}, dir, env, args...)
}

func repo(t *testing.T) *testutil.GitRepo {
	g := testutil.NewGitRepo(t)
	require.NoError(t, os.WriteFile(filepath.Join(g.Dir, ".gopythongo.yaml"), []byte("schema: 1\nproject: {name: t}\n"), 0o644))
	g.Commit("first")
	return g
}

func TestErrorsMapToExitCodes(t *testing.T) {
	g := repo(t)
	for _, tt := range []struct {
		err    error
		code   int
		stderr string
	}{
		{config.Usagef("--format %q: valid formats are text and json", "xml"), cli.ExitUsage, `gopythongo-t: error: --format "xml": valid formats are text and json` + "\n"},
		{errors.New("the disk is full"), cli.ExitFailure, "gopythongo-t: error: the disk is full\n"},
		{cli.Fail(cli.ExitHistory, errors.New("shallow")), cli.ExitHistory, "gopythongo-t: error: shallow\n"},
		{nil, cli.ExitOK, ""},
	} {
		code, _, stderr := run(t, g.Dir, nil, func(context.Context, *cli.Session) error { return tt.err })
		assert.Equal(t, tt.code, code, "%v", tt.err)
		assert.Equal(t, tt.stderr, stderr)
	}
}

// TestFinishSavesStateThenOutputs: the state file is written before any
// output, and every output reaches stdout and the CI (GitHub's files here),
// the summary too.
func TestFinishSavesStateThenOutputs(t *testing.T) {
	g := repo(t)
	files := t.TempDir()
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_SHA": g.Head(), "GITHUB_REF": "refs/heads/main",
		"GITHUB_OUTPUT": filepath.Join(files, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(files, "summary")}
	code, stdout, stderr := run(t, g.Dir, env, func(_ context.Context, s *cli.Session) error {
		st := &state.State{Commit: s.Commit()}
		return s.Finish(cli.Outcome{
			State:   st,
			Outputs: []cli.Value{{Name: "a", Value: "1"}, {Name: "b", Value: "two words"}},
			Summary: "### done",
			Print: func(w io.Writer, outs []cli.Value) error {
				_, err := os.Stat(filepath.Join(s.Config.DistDir(), state.FileName))
				require.NoError(t, err, "the state file is there before the outputs")
				for _, v := range outs {
					io.WriteString(w, v.Name+"="+v.Value+"\n")
				}
				return nil
			},
		})
	})
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "a=1\nb=two words\n", stdout)
	outputs, err := os.ReadFile(env["GITHUB_OUTPUT"])
	require.NoError(t, err)
	assert.Contains(t, string(outputs), "a<<")
	assert.Contains(t, string(outputs), "two words")
	summary, err := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	require.NoError(t, err)
	assert.Contains(t, string(summary), "### done")
	st, err := state.Load(filepath.Join(g.Dir, "dist"))
	require.NoError(t, err)
	assert.Equal(t, g.Head(), st.Commit.SHA)
	assert.Equal(t, g.Git("log", "-1", "--format=%ct"), fmt.Sprint(st.Commit.Time), "HEAD's commit time")

	// Without Print, one name=value line each; without State, no file.
	require.NoError(t, os.RemoveAll(filepath.Join(g.Dir, "dist")))
	code, stdout, stderr = run(t, g.Dir, nil, func(_ context.Context, s *cli.Session) error {
		return s.Finish(cli.Outcome{Outputs: []cli.Value{{Name: "x", Value: "y"}}})
	})
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "x=y\n", stdout)
	assert.NoFileExists(t, filepath.Join(g.Dir, "dist", state.FileName))
}

// TestCommitReadsGitOnce: the commit is looked up once per run, the CI's sha
// wins, and HEAD's time is used only when the sha is HEAD's.
func TestCommitReadsGitOnce(t *testing.T) {
	g := repo(t)
	first := g.Head()
	code, _, stderr := run(t, g.Dir, nil, func(_ context.Context, s *cli.Session) error {
		c := s.Commit()
		assert.Equal(t, first, c.SHA)
		g.Commit("second")
		assert.Equal(t, c, s.Commit(), "read once")
		return nil
	})
	require.Equal(t, 0, code, stderr)

	other := "0123456789abcdef0123456789abcdef01234567"
	code, _, stderr = run(t, g.Dir, map[string]string{"GITLAB_CI": "true", "CI_COMMIT_SHA": other}, func(_ context.Context, s *cli.Session) error {
		assert.Equal(t, state.Commit{SHA: other}, s.Commit(), "the CI's sha, and no time of another commit")
		return nil
	})
	require.Equal(t, 0, code, stderr)
}

// TestBeginRefusesAnotherCommitsState: the prologue reads the state file,
// refuses one of another commit (exit 2, naming --force) and gives
// SOURCE_DATE_EPOCH.
func TestBeginRefusesAnotherCommitsState(t *testing.T) {
	g := repo(t)
	dist := filepath.Join(g.Dir, "dist")
	require.NoError(t, (&state.State{Commit: state.Commit{SHA: g.Head(), Time: 1700000000}}).Save(dist))
	begin := func(_ context.Context, s *cli.Session) error {
		_, epoch, err := s.Begin()
		if err == nil {
			assert.Equal(t, int64(1700000000), epoch.Unix())
		}
		return err
	}
	code, _, stderr := run(t, g.Dir, nil, begin)
	require.Equal(t, 0, code, stderr)

	g.Commit("next")
	code, _, stderr = run(t, g.Dir, nil, begin)
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "--force")
	code, _, stderr = run(t, g.Dir, nil, begin, "--force")
	assert.Equal(t, 0, code, stderr)

	code, _, stderr = run(t, g.Dir, map[string]string{"SOURCE_DATE_EPOCH": "soon"}, begin, "--force")
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "SOURCE_DATE_EPOCH")

	require.NoError(t, os.Remove(filepath.Join(dist, state.FileName)))
	code, _, stderr = run(t, g.Dir, nil, begin)
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "run gopythongo-version first")
}
