package steps_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/fileread"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/steps/versionstep"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

// runVersion runs gopythongo-version as its main does, in dir, with vars as
// the whole environment.
func runVersion(t *testing.T, dir string, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runStep(t, versionstep.Version(), dir, vars, args...)
}

func TestVersion(t *testing.T) {
	g := testutil.NewGitFlow(t)
	g.Detach(g.At["develop"])
	dir := t.TempDir()
	out, sum := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	gh := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/heads/develop", "GITHUB_SHA": g.At["develop"],
		"GITHUB_OUTPUT": out, "GITHUB_STEP_SUMMARY": sum, "GITHUB_ENV": filepath.Join(dir, "env")}

	code, stdout, stderr := runVersion(t, g.Dir, gh, "--explain")
	require.Equal(t, 0, code, stderr)
	want := "1.3.0-dev.2+g" + g.At["develop"][:10]
	assert.Contains(t, stdout, "semver="+want+"\n")
	assert.Contains(t, stdout, "debian=1.3.0~dev2+g"+g.At["develop"][:10]+"-1\n")
	assert.Contains(t, stdout, "channel=dev\n")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	assert.LessOrEqual(t, len(lines), 21, "--explain is at most 20 lines, plus the phase line")
	assert.Contains(t, stderr, "GITHUB_REF")
	assert.Contains(t, stderr, "rule:")
	o, _ := os.ReadFile(out)
	assert.Contains(t, string(o), want)
	s, _ := os.ReadFile(sum)
	assert.Contains(t, string(s), "| Debian |")

	st, err := state.Load(filepath.Join(g.Dir, "dist"))
	require.NoError(t, err)
	assert.Equal(t, want, st.Version.SemVer)
	assert.Equal(t, g.At["develop"], st.Commit.SHA)
	assert.Equal(t, "github", st.Commit.Provider)
	assert.NotZero(t, st.Commit.Time)

	code, stdout, _ = runVersion(t, g.Dir, gh, "--format", "json")
	require.Equal(t, 0, code)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &m))
	for _, k := range []string{"semver", "pep440", "debian", "oci_tag", "channel", "sha"} {
		assert.NotEmpty(t, m[k], k)
	}
	assert.Equal(t, "dev", m["channel"])
}

func TestVersionExitCodes(t *testing.T) {
	g := testutil.NewGitFlow(t)
	g.Detach(g.At["develop"])
	clone := testutil.ShallowClone(t, g.Dir, "develop")

	code, _, stderr := runVersion(t, clone, map[string]string{"GITLAB_CI": "true", "CI_COMMIT_BRANCH": "develop", "CI_COMMIT_SHA": g.At["develop"]})
	assert.Equal(t, cli.ExitHistory, code)
	assert.Contains(t, stderr, "GIT_DEPTH: 0")

	code, _, stderr = runVersion(t, g.Dir, map[string]string{"GOPYTHONGO_VERSION_SOURCE": "gti"})
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, `"gti" is not a valid choice`)

	code, _, stderr = runVersion(t, g.Dir, nil, "--bogus")
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "--help")

	code, _, stderr = runVersion(t, g.Dir, nil, "--format", "xml", "--branch", "develop")
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "valid formats are text and json")

	g.Checkout("main", false)
	g.Commit("untagged")
	code, _, stderr = runVersion(t, g.Dir, nil)
	assert.Equal(t, cli.ExitFailure, code)
	assert.Contains(t, stderr, "has no version tag")

	code, stdout, _ := runVersion(t, g.Dir, map[string]string{"GOPYTHONGO_VERSION_SCHEME": "none"}, "--print-config", "--source", "pyproject")
	assert.Equal(t, 0, code)
	assert.Regexp(t, `version\.source\s+pyproject\s+flag --source`, stdout)
	assert.Regexp(t, `version\.scheme\s+none\s+env GOPYTHONGO_VERSION_SCHEME`, stdout)

	code, stdout, _ = runVersion(t, g.Dir, nil, "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "Examples:")
	assert.Contains(t, stdout, "--revision-from VALUE")
	assert.Contains(t, stdout, "Exit codes:")
}

// TestProjectFilesThatAreNoFilesAreRefused: a pipe where the configuration,
// pyproject.toml or the version source's file should be is refused with its
// name, not waited on for ever; so is a file beyond the bound.
func TestProjectFilesThatAreNoFilesAreRefused(t *testing.T) {
	fifo := func(p string) { require.NoError(t, syscall.Mkfifo(p, 0o644)) }
	huge := func(p string) {
		f, err := os.Create(p)
		require.NoError(t, err)
		require.NoError(t, f.Truncate(fileread.ProjectLimit+1))
		require.NoError(t, f.Close())
	}
	for _, tt := range []struct {
		name   string
		config string // .gopythongo.yaml, when not empty
		file   string // made a pipe, or too large
		make   func(string)
		want   string // in stderr; "" means the step succeeds
	}{
		{name: "configuration a pipe", file: ".gopythongo.yaml", make: fifo, want: ".gopythongo.yaml is not a regular file"},
		{name: "configuration too large", file: ".gopythongo.yaml", make: huge, want: "more than the 16 MiB allowed"},
		{name: "pyproject a pipe, read only for the name", file: "pyproject.toml", make: fifo},
		{name: "pyproject source a pipe", config: "version:\n  source: pyproject\n  scheme: none\n", file: "pyproject.toml", make: fifo, want: "pyproject.toml is not a regular file"},
		{name: "searchfile a pipe", config: "version:\n  source: searchfile\n  scheme: none\n  file: VERSION\n  pattern: '(\\d+\\.\\d+\\.\\d+)'\n", file: "VERSION", make: fifo, want: "VERSION is not a regular file"},
		{name: "searchfile too large", config: "version:\n  source: searchfile\n  scheme: none\n  file: VERSION\n  pattern: '(\\d+\\.\\d+\\.\\d+)'\n", file: "VERSION", make: huge, want: "more than the 16 MiB allowed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := testutil.NewGitFlow(t)
			g.Detach(g.At["v1.1.0"])
			if tt.config != "" {
				require.NoError(t, os.WriteFile(filepath.Join(g.Dir, ".gopythongo.yaml"), []byte(tt.config), 0o644))
			}
			tt.make(filepath.Join(g.Dir, tt.file))
			type result struct {
				code           int
				stdout, stderr string
			}
			done := make(chan result, 1)
			go func() {
				code, stdout, stderr := runVersion(t, g.Dir, map[string]string{"PATH": os.Getenv("PATH")}, "--branch", "main")
				done <- result{code, stdout, stderr}
			}()
			select {
			case r := <-done:
				if tt.want == "" {
					assert.Equal(t, 0, r.code, r.stderr)
					return
				}
				assert.NotEqual(t, 0, r.code, r.stdout)
				assert.Contains(t, r.stderr, tt.want)
			case <-time.After(20 * time.Second):
				t.Fatalf("gopythongo-version waits on %s", tt.file)
			}
		})
	}
}
