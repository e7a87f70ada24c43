package cigen

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/gopythongo/gopythongo/internal/scaffold"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

// actionlint is pinned here; go run fetches it through the module proxy.
const actionlint = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"

// TestGitHubExampleLints runs actionlint on the example workflow and on the
// one gopythongo-version --init --ci github writes, each as shipped and as a
// copy whose uses: point at this checkout's actions, so that every input it
// passes is checked against the action.yml files.
func TestGitHubExampleLints(t *testing.T) {
	root := testutil.RepoRoot()
	example, err := os.ReadFile(filepath.Join(root, "examples/github/gopythongo.yml"))
	require.NoError(t, err)
	_, generated, err := scaffold.CIFile("github")
	require.NoError(t, err)
	for name, src := range map[string]string{"example": string(example), "init": string(generated)} {
		t.Run(name, func(t *testing.T) {
			shipped := t.TempDir()
			testutil.WriteFile(t, filepath.Join(shipped, ".github/workflows/gopythongo.yml"), src)
			require.NoError(t, exec.Command("git", "init", "-q", shipped).Run())
			require.NoError(t, actionlintIn(shipped))
			local := localActions(t, src)
			require.NoError(t, actionlintIn(local))
		})
	}

	// actionlint does check the inputs: an unknown one fails.
	local := localActions(t, regexp.MustCompile(`explain: true`).ReplaceAllString(string(example), "explian: true"))
	err = actionlintIn(local)
	require.Error(t, err)
	require.Contains(t, err.Error(), `input "explian" is not defined`)
}

// actionlintIn runs actionlint in a repository; the error holds its report.
func actionlintIn(dir string) error {
	cmd := exec.Command("go", "run", actionlint, "-no-color", "-pyflakes=")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("actionlint in %s: %w\n%s", dir, err, out)
	}
	return nil
}

// localActions is a repository with this checkout's actions and the
// workflow src, its uses: pointing at them.
func localActions(t *testing.T, src string) string {
	t.Helper()
	root := testutil.RepoRoot()
	local := t.TempDir()
	for _, f := range []string{"action.yml", "actions"} {
		out, err := exec.Command("cp", "-a", filepath.Join(root, f), filepath.Join(local, f)).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	wf := regexp.MustCompile(`gopythongo/gopythongo/actions/([a-z-]+)@v1`).ReplaceAllString(src, "./actions/$1")
	wf = regexp.MustCompile(`gopythongo/gopythongo@v1`).ReplaceAllString(wf, "./")
	require.NotEqual(t, src, wf)
	testutil.WriteFile(t, filepath.Join(local, ".github/workflows/gopythongo.yml"), wf)
	require.NoError(t, exec.Command("git", "init", "-q", local).Run())
	return local
}

// TestInitCIFilesAreTheTestedOnes: the GitLab pipeline --init writes is the
// example that runs under gitlab-ci-local (TestGitLabExampleUnderGitlabCILocal),
// and the CircleCI one passes only parameters the orb's jobs declare.
func TestInitCIFilesAreTheTestedOnes(t *testing.T) {
	root := testutil.RepoRoot()
	example, err := os.ReadFile(filepath.Join(root, "examples/gitlab/.gitlab-ci.yml"))
	require.NoError(t, err)
	path, gitlab, err := scaffold.CIFile("gitlab")
	require.NoError(t, err)
	require.Equal(t, ".gitlab-ci.yml", path)
	require.Equal(t, string(example), string(gitlab), "internal/scaffold/ci/gitlab-ci.yml is examples/gitlab/.gitlab-ci.yml")

	_, circle, err := scaffold.CIFile("circleci")
	require.NoError(t, err)
	var cfg struct {
		Orbs      map[string]string `yaml:"orbs"`
		Workflows map[string]struct {
			Jobs []map[string]map[string]any `yaml:"jobs"`
		} `yaml:"workflows"`
	}
	require.NoError(t, yaml.Unmarshal(circle, &cfg))
	require.Equal(t, "gopythongo/gopythongo@1", cfg.Orbs["gopythongo"])
	used := 0
	for _, wf := range cfg.Workflows {
		for _, j := range wf.Jobs {
			for ref, args := range j {
				local, ok := strings.CutPrefix(ref, "gopythongo/")
				if !ok {
					continue
				}
				used++
				b, err := os.ReadFile(filepath.Join(root, "orb/src/jobs", local+".yml"))
				require.NoError(t, err, "the orb has the job %s", local)
				var job struct {
					Parameters map[string]any `yaml:"parameters"`
				}
				require.NoError(t, yaml.Unmarshal(b, &job))
				for arg := range args {
					if !slices.Contains([]string{"name", "requires", "filters", "context", "type"}, arg) {
						assert.Contains(t, job.Parameters, arg, "%s passes %s", ref, arg)
					}
				}
			}
		}
	}
	assert.Equal(t, 4, used)
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
