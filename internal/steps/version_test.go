package steps_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
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
	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
)

// runVersion runs gopythongo-version as its main does, in dir, with vars as
// the whole environment.
func runVersion(t *testing.T, dir string, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runStep(t, versionstep.Version(steptest.AskStore), dir, vars, args...)
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

// TestRevisionFromAsksThePublishBinary runs the built binaries: the version
// step links no store and asks gopythongo-publish, installed beside it, what
// the store of revision_from holds. The store's secret is masked by the
// helper for GitHub, its refusal and a helper of another build or none at
// all fail the step with what to do.
func TestRevisionFromAsksThePublishBinary(t *testing.T) {
	const secret = "s3cret-token-4711"
	whl := func(v string) string { return "hello-" + v + "-py3-none-any.whl" }
	index := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ci" || p != secret {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/simple/hello/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		for _, v := range []string{"1.2.3.post1", "1.2.3.post2", "1.2.4"} {
			fmt.Fprintf(w, "<a href=\"../../files/%s#sha256=%s\">%s</a>\n", whl(v), strings.Repeat("a", 64), whl(v))
		}
	}))
	defer index.Close()

	r := testutil.NewGitRepo(t)
	r.WriteFile(".gopythongo.yaml", `project: {name: hello}
version: {revision_from: idx}
publish:
  stores:
    - {name: idx, type: pypi, url: "http://127.0.0.1:9/legacy/", index_url: "`+index.URL+`/simple", username: ci, password_env: IDX_TOKEN}
`)
	r.WriteFile(".gitignore", "dist/\n")
	r.Git("add", "-A")
	r.Commit("init")
	r.Tag("v1.2.3")

	bin := t.TempDir()
	stamp := func(v string) []string {
		return []string{"-ldflags=-X github.com/gopythongo/gopythongo/internal/cli.stamp=" + v}
	}
	steptest.Binaries(t, bin, stamp("v9.9.9-test"), "gopythongo-version", "gopythongo-publish")
	run := func(token string) (int, string, string) {
		cmd := exec.Command(filepath.Join(bin, "gopythongo-version"), "--branch", "main")
		cmd.Dir = r.Dir
		// No gopythongo-publish on PATH: the one beside the binary answers.
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "GITHUB_ACTIONS=true", "IDX_TOKEN=" + token}
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return code, o.String(), e.String()
	}

	code, stdout, stderr := run(secret)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "pep440=1.2.3.post3\n", "the next revision after .post2")
	assert.Contains(t, stdout, "debian=1.2.3-4\n")
	assert.Contains(t, stderr, "::add-mask::"+secret, "the helper masks the secret it read")
	assert.Equal(t, 1, strings.Count(stdout+stderr, secret), "the secret appears only in the mask command")

	code, _, stderr = run("wrong")
	assert.Equal(t, cli.ExitFailure, code)
	assert.Contains(t, stderr, "ask store idx for the revisions of hello")
	assert.Contains(t, stderr, "the index refused the credentials")

	// Run by hand, without the asker's pipe on descriptor 3 (where the
	// runtime's own cgroup file then is), the helper refuses.
	hand := exec.Command(filepath.Join(bin, "gopythongo-publish"), "--ask-store")
	hand.Stdin = strings.NewReader("{}")
	out, err := hand.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%s", out)
	assert.Equal(t, cli.ExitUsage, ee.ExitCode())
	assert.Contains(t, string(out), "through a pipe on descriptor 3, and there is none")

	steptest.Binaries(t, bin, stamp("v9.9.8-other"), "gopythongo-publish")
	code, _, stderr = run(secret)
	assert.Equal(t, cli.ExitFailure, code)
	assert.Contains(t, stderr, "another build")
	assert.Contains(t, stderr, "install the step binaries of one release together")

	require.NoError(t, os.Remove(filepath.Join(bin, "gopythongo-publish")))
	code, _, stderr = run(secret)
	assert.Equal(t, cli.ExitFailure, code)
	assert.Contains(t, stderr, "neither beside this binary nor on PATH")
	_, err = os.Stat(filepath.Join(r.Dir, "dist", "gopythongo.json"))
	assert.NoError(t, err, "the state of the first run is left")
}
