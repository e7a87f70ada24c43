package cigen

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/testutil"
)

// actionlint is pinned here; go run fetches it through the module proxy.
const actionlint = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"

// TestGitHubExampleLints runs actionlint on the example workflow as shipped,
// and on a copy whose uses: point at this checkout's actions, so that every
// input it passes is checked against the action.yml files.
func TestGitHubExampleLints(t *testing.T) {
	root := testutil.RepoRoot()
	src, err := os.ReadFile(filepath.Join(root, "examples/github/gopythongo.yml"))
	require.NoError(t, err)
	lint := func(dir string) {
		t.Helper()
		cmd := exec.Command("go", "run", actionlint, "-no-color", "-pyflakes=")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "actionlint in %s:\n%s", dir, out)
	}
	shipped := t.TempDir()
	testutil.WriteFile(t, filepath.Join(shipped, ".github/workflows/gopythongo.yml"), string(src))
	require.NoError(t, exec.Command("git", "init", "-q", shipped).Run())
	lint(shipped)

	local := t.TempDir()
	for _, f := range []string{"action.yml", "actions"} {
		out, err := exec.Command("cp", "-a", filepath.Join(root, f), filepath.Join(local, f)).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	wf := regexp.MustCompile(`gopythongo/gopythongo/actions/([a-z-]+)@v1`).ReplaceAllString(string(src), "./actions/$1")
	wf = regexp.MustCompile(`gopythongo/gopythongo@v1`).ReplaceAllString(wf, "./")
	require.NotEqual(t, string(src), wf)
	testutil.WriteFile(t, filepath.Join(local, ".github/workflows/gopythongo.yml"), wf)
	require.NoError(t, exec.Command("git", "init", "-q", local).Run())
	lint(local)

	// actionlint does check the inputs: an unknown one fails.
	testutil.WriteFile(t, filepath.Join(local, ".github/workflows/gopythongo.yml"), regexp.MustCompile(`explain: true`).ReplaceAllString(wf, "explian: true"))
	cmd := exec.Command("go", "run", actionlint, "-no-color", "-pyflakes=")
	cmd.Dir = local
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), `input "explian" is not defined`)
}

// TestShellScripts holds every shell script of the integrations and tools to
// shellcheck (warnings and errors).
func TestShellScripts(t *testing.T) {
	root := testutil.RepoRoot()
	var files []string
	for _, glob := range []string{"actions/*.sh", "actions/*/*.sh", "scripts/*", "orb/src/scripts/*.sh", ".ci/run"} {
		m, _ := filepath.Glob(filepath.Join(root, glob))
		files = append(files, m...)
	}
	require.GreaterOrEqual(t, len(files), 5)
	out, err := exec.Command("shellcheck", append([]string{"--severity=warning"}, files...)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// readmeBlock returns the first fenced block of a language after a heading.
func readmeBlock(t *testing.T, heading, lang string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "README.md"))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(b), "\n"+heading+"\n")
	require.True(t, ok, "README has %s", heading)
	m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```").FindStringSubmatch(rest)
	require.NotNil(t, m, "a %s block under %s", lang, heading)
	return m[1]
}

// TestReadmeGitHubSnippet lints the README's GitHub steps, in a workflow,
// against this checkout's actions.
func TestReadmeGitHubSnippet(t *testing.T) {
	root := testutil.RepoRoot()
	snippet := readmeBlock(t, "### GitHub Actions", "yaml")
	wf := "name: build\non: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n" + indentLines(snippet, "    ")
	wf = regexp.MustCompile(`gopythongo/gopythongo/actions/([a-z-]+)@v1`).ReplaceAllString(wf, "./actions/$1")
	wf = strings.ReplaceAll(wf, "gopythongo/gopythongo@v1", "./")
	dir := t.TempDir()
	for _, f := range []string{"action.yml", "actions"} {
		out, err := exec.Command("cp", "-a", filepath.Join(root, f), filepath.Join(dir, f)).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	testutil.WriteFile(t, filepath.Join(dir, ".github/workflows/build.yml"), wf)
	require.NoError(t, exec.Command("git", "init", "-q", dir).Run())
	cmd := exec.Command("go", "run", actionlint, "-no-color", "-pyflakes=")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "actionlint:\n%s\n%s", out, wf)
}

func indentLines(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}
