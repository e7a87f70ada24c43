package ci

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(kv ...string) Lookup {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func noFile(string) ([]byte, error) { return nil, errors.New("no file") }

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		env  Lookup
		want Env
	}{
		{"local", env("PATH", "/bin"), Env{Provider: Local}},
		{"github branch", env("GITHUB_ACTIONS", "true", "GITHUB_REF", "refs/heads/feature/x", "GITHUB_SHA", "abc", "GITHUB_RUN_NUMBER", "4",
			"GITHUB_SERVER_URL", "https://github.com", "GITHUB_REPOSITORY", "acme/hello", "GITHUB_RUN_ID", "77"),
			Env{Provider: GitHub, Branch: "feature/x", SHA: "abc", BuildNumber: "4", SourceURL: "https://github.com/acme/hello", BuildURL: "https://github.com/acme/hello/actions/runs/77"}},
		{"github tag", env("GITHUB_ACTIONS", "true", "GITHUB_REF", "refs/tags/v1.0.0", "GITHUB_SHA", "abc"),
			Env{Provider: GitHub, Tag: "v1.0.0", SHA: "abc"}},
		{"github PR without payload", env("GITHUB_ACTIONS", "true", "GITHUB_REF", "refs/pull/12/merge", "GITHUB_SHA", "m", "GITHUB_HEAD_REF", "feature/x", "GITHUB_BASE_REF", "develop"),
			Env{Provider: GitHub, PR: 12, PRSource: "feature/x", PRTarget: "develop", Branch: "feature/x", SHA: "m",
				Notes: []string{"pull request: no event payload with the head commit; GITHUB_SHA is the merge commit"}}},
		{"gitlab branch", env("GITLAB_CI", "true", "CI_COMMIT_BRANCH", "develop", "CI_COMMIT_SHA", "abc", "CI_PIPELINE_IID", "9", "CI_JOB_URL", "u", "CI_PROJECT_URL", "p"),
			Env{Provider: GitLab, Branch: "develop", SHA: "abc", BuildNumber: "9", BuildURL: "u", SourceURL: "p"}},
		{"gitlab tag", env("GITLAB_CI", "true", "CI_COMMIT_TAG", "v2", "CI_COMMIT_SHA", "abc"), Env{Provider: GitLab, Tag: "v2", SHA: "abc"}},
		{"circleci fork PR", env("CIRCLECI", "true", "CIRCLE_BRANCH", "pull/5", "CIRCLE_PR_NUMBER", "5", "CIRCLE_SHA1", "abc"),
			Env{Provider: CircleCI, Branch: "pull/5", PR: 5, PRSource: "pull/5", SHA: "abc"}},
		{"circleci tag", env("CIRCLECI", "true", "CIRCLE_TAG", "v3", "CIRCLE_SHA1", "abc"), Env{Provider: CircleCI, Tag: "v3", SHA: "abc"}},
		{"jenkins home only", env("JENKINS_HOME", "/var/jenkins", "GIT_BRANCH", "refs/heads/develop", "GIT_COMMIT", "abc", "GIT_URL", "g"),
			Env{Provider: Jenkins, Branch: "develop", SHA: "abc", SourceURL: "g"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Detect(tt.env, noFile)
			got.Vars = nil
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDetectRecordsVariables(t *testing.T) {
	e := Detect(env("CIRCLECI", "true", "CIRCLE_BRANCH", "develop", "CIRCLE_SHA1", "abc", "UNRELATED", "x"), noFile)
	assert.Equal(t, []string{"CIRCLECI", "CIRCLE_SHA1", "CIRCLE_BRANCH"}, e.Vars)
}

func TestGitHubEventPayloadGivesHeadCommit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "event.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"pull_request":{"number":8,"head":{"sha":"head1","ref":"feature/y"},"base":{"ref":"main"}}}`), 0o644))
	e := Detect(env("GITHUB_ACTIONS", "true", "GITHUB_EVENT_NAME", "pull_request_target", "GITHUB_REF", "refs/heads/main", "GITHUB_SHA", "basesha", "GITHUB_EVENT_PATH", p), os.ReadFile)
	assert.Equal(t, 8, e.PR)
	assert.Equal(t, "head1", e.SHA)
	assert.Equal(t, "basesha", e.MergeSHA)
	assert.Equal(t, "feature/y", e.PRSource)
	assert.Equal(t, "main", e.PRTarget)
	assert.Len(t, e.Notes, 1)
}

func TestGitHubReporterWritesFilesAndCommands(t *testing.T) {
	dir := t.TempDir()
	out, envf, sum := filepath.Join(dir, "out"), filepath.Join(dir, "env"), filepath.Join(dir, "summary")
	var log bytes.Buffer
	r := NewReporter(GitHub, env("GITHUB_OUTPUT", out, "GITHUB_ENV", envf, "GITHUB_STEP_SUMMARY", sum), dir, &log, io.Discard)
	r.Output("semver", "1.2.3")
	r.Mask("hunter2")
	r.Summary("### Version 1.2.3\n")
	r.Annotate(Annotation{Level: LevelError, File: ".gopythongo.yaml", Line: 7, Title: "config", Message: "bad: 100%, a,b"})
	end := r.Group("build")
	end()
	require.NoError(t, r.Close())

	o, _ := os.ReadFile(out)
	assert.Contains(t, string(o), "semver<<")
	assert.Contains(t, string(o), "\n1.2.3\n")
	e, _ := os.ReadFile(envf)
	assert.Contains(t, string(e), "GOPYTHONGO_SEMVER<<")
	s, _ := os.ReadFile(sum)
	assert.Equal(t, "### Version 1.2.3\n\n", string(s))
	cmds := log.String()
	assert.Contains(t, cmds, "::add-mask::hunter2\n")
	assert.Contains(t, cmds, "::error file=.gopythongo.yaml,line=7,title=config::bad: 100%25, a,b\n")
	assert.Contains(t, cmds, "::group::build\n::endgroup::\n")
}

func TestGitHubReporterWithoutFilesDoesNotPanic(t *testing.T) {
	var log bytes.Buffer
	r := NewReporter(GitHub, env(), t.TempDir(), &log, io.Discard)
	assert.NotPanics(t, func() {
		r.Output("semver", "1.2.3")
		r.Output("pep440", "1.2.3")
		r.Summary("x")
	})
	assert.Equal(t, 1, strings.Count(log.String(), "GITHUB_OUTPUT is not set"), "warned once")
	assert.Contains(t, log.String(), "GITHUB_STEP_SUMMARY is not set")
}

func TestJenkinsPropertiesMergeAndReadBack(t *testing.T) {
	dist := t.TempDir()
	var log bytes.Buffer
	r := NewReporter(Jenkins, env(), dist, &log, io.Discard)
	r.Output("semver", "1.2.3")
	r.Output("sha", "abc")
	require.NoError(t, r.Close())
	// A later step adds its outputs and replaces one.
	r = NewReporter(Jenkins, env(), dist, &log, io.Discard)
	r.Output("deb", "dist/hello_1.2.3-1_all.deb")
	r.Output("sha", "def")
	r.Output("odd", `a=b: c\d #e`)
	require.NoError(t, r.Close())
	data, err := os.ReadFile(filepath.Join(dist, "gopythongo.properties"))
	require.NoError(t, err)
	assert.Equal(t, "GOPYTHONGO_SEMVER=1.2.3\nGOPYTHONGO_SHA=def\nGOPYTHONGO_DEB=dist/hello_1.2.3-1_all.deb\nGOPYTHONGO_ODD=a\\=b\\: c\\\\d \\#e\n", string(data))
	// Java reads it back as written (readProperties uses java.util.Properties).
	out, err := exec.Command("groovy", "-e", `def p = new Properties(); new File(args[0]).withInputStream { p.load(it) }; print p.getProperty("GOPYTHONGO_ODD")`, filepath.Join(dist, "gopythongo.properties")).CombinedOutput()
	require.NoError(t, err, "groovy (make test installs groovy and default-jre-headless): %s", out)
	assert.Equal(t, `a=b: c\d #e`, string(out))
}

func TestGitLabDotenv(t *testing.T) {
	dist := t.TempDir()
	r := NewReporter(GitLab, env(), dist, &bytes.Buffer{}, io.Discard)
	r.Output("semver", "1.2.3")
	require.NoError(t, r.Close())
	data, _ := os.ReadFile(filepath.Join(dist, "gopythongo.env"))
	assert.Equal(t, "GOPYTHONGO_SEMVER=1.2.3\n", string(data))

	r = NewReporter(GitLab, env(), dist, &bytes.Buffer{}, io.Discard)
	r.Output("note", "two\nlines")
	assert.ErrorContains(t, r.Close(), "line break")
}

func TestCircleCIExportsAreShellSafe(t *testing.T) {
	bashEnv := filepath.Join(t.TempDir(), "bash_env")
	r := NewReporter(CircleCI, env("BASH_ENV", bashEnv), t.TempDir(), &bytes.Buffer{}, io.Discard)
	r.Output("semver", "1.2.3")
	r.Output("odd", `it's $(rm -rf /) "x"`)
	require.NoError(t, r.Close())
	out, err := exec.Command("bash", "-c", `. "$1"; printf '%s|%s' "$GOPYTHONGO_SEMVER" "$GOPYTHONGO_ODD"`, "bash", bashEnv).Output()
	require.NoError(t, err)
	assert.Equal(t, `1.2.3|it's $(rm -rf /) "x"`, string(out))

	var log bytes.Buffer
	r = NewReporter(CircleCI, env(), t.TempDir(), &log, io.Discard)
	r.Output("semver", "1")
	require.NoError(t, r.Close())
	assert.Contains(t, log.String(), "BASH_ENV is not set")
}

func TestLocalAnnotationsGoToTheLog(t *testing.T) {
	var log bytes.Buffer
	r := NewReporter(Local, env(), t.TempDir(), &log, io.Discard)
	r.Annotate(Annotation{Level: LevelWarning, File: "a.py", Line: 3, Title: "t", Message: "m"})
	r.Output("x", "y")
	require.NoError(t, r.Close())
	assert.Equal(t, "a.py:3: warning: t: m\n", log.String())
}

// TestAzureTeamCityAndBuildkiteOutputs: each CI's own convention, with the
// values escaped as its documentation says they are read back.
func TestAzureTeamCityAndBuildkiteOutputs(t *testing.T) {
	var log, out bytes.Buffer
	r := NewReporter(Azure, env(), t.TempDir(), &log, &out)
	r.Output("semver", "1.2.3")
	r.Output("odd", "50%\nnext")
	require.NoError(t, r.Close())
	assert.Equal(t, "##vso[task.setvariable variable=GOPYTHONGO_SEMVER]1.2.3\n##vso[task.setvariable variable=GOPYTHONGO_SEMVER;isOutput=true]1.2.3\n"+
		"##vso[task.setvariable variable=GOPYTHONGO_ODD]50%AZP25%0Anext\n##vso[task.setvariable variable=GOPYTHONGO_ODD;isOutput=true]50%AZP25%0Anext\n", log.String())
	assert.Empty(t, out.String(), "stdout keeps only the results")

	log.Reset()
	r = NewReporter(TeamCity, env(), t.TempDir(), &log, &out)
	r.Output("semver", "1.2.3")
	r.Output("odd", "it's [a|b]\n")
	require.NoError(t, r.Close())
	assert.Equal(t, "##teamcity[setParameter name='env.GOPYTHONGO_SEMVER' value='1.2.3']\n##teamcity[setParameter name='env.GOPYTHONGO_ODD' value='it|'s |[a||b|]|n']\n", out.String(),
		"service messages on stdout, where TeamCity reads them")

	bin := t.TempDir()
	record := filepath.Join(bin, "calls")
	require.NoError(t, os.WriteFile(filepath.Join(bin, "buildkite-agent"), []byte("#!/bin/sh\nfor a in \"$@\"; do printf '%s|' \"$a\" >> "+record+"; done\necho >> "+record+"\n"), 0o755))
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	r = NewReporter(Buildkite, env(), t.TempDir(), &log, &out)
	r.Output("semver", "1.2.3")
	r.Output("odd", "$(x) 'y'")
	require.NoError(t, r.Close())
	calls, err := os.ReadFile(record)
	require.NoError(t, err)
	assert.Equal(t, "meta-data|set|GOPYTHONGO_SEMVER|1.2.3|\nmeta-data|set|GOPYTHONGO_ODD|$(x) 'y'|\n", string(calls), "an argv, no shell")

	t.Setenv("PATH", t.TempDir())
	log.Reset()
	r = NewReporter(Buildkite, env(), t.TempDir(), &log, &out)
	r.Output("semver", "1")
	require.NoError(t, r.Close())
	assert.Contains(t, log.String(), "buildkite-agent is not on PATH")
}

func TestBitbucketTravisWoodpeckerDroneWriteDotenv(t *testing.T) {
	for _, p := range []Provider{Bitbucket, Travis, Woodpecker, Drone} {
		dist := t.TempDir()
		r := NewReporter(p, env(), dist, &bytes.Buffer{}, io.Discard)
		r.Output("semver", "1.2.3")
		require.NoError(t, r.Close())
		data, err := os.ReadFile(filepath.Join(dist, "gopythongo.env"))
		require.NoError(t, err, p)
		assert.Equal(t, "GOPYTHONGO_SEMVER=1.2.3\n", string(data), p)
	}
}

func TestDetectNewCIs(t *testing.T) {
	e := Detect(env("TEAMCITY_VERSION", "2025.11", "BUILD_VCS_NUMBER", "abc"), noFile)
	assert.Equal(t, TeamCity, e.Provider)
	assert.Empty(t, e.Branch)
	require.Len(t, e.Notes, 1)
	assert.Contains(t, e.Notes[0], "env.Git_Branch")

	e = Detect(env("CI", "woodpecker", "CI_COMMIT_SHA", "abc", "CI_COMMIT_BRANCH", "develop", "DRONE", "true", "DRONE_BRANCH", "other"), noFile)
	assert.Equal(t, Woodpecker, e.Provider, "Woodpecker sets DRONE_ variables too")
	assert.Equal(t, "develop", e.Branch)

	e = Detect(env("TF_BUILD", "True", "BUILD_SOURCEVERSION", "abc", "BUILD_SOURCEBRANCH", "refs/heads/feature/x/y", "BUILD_SOURCEBRANCHNAME", "y"), noFile)
	assert.Equal(t, "feature/x/y", e.Branch, "the full name, not BUILD_SOURCEBRANCHNAME's last part")
}

// TestGitHubEnvironmentFilesHoldAnyValue: each value is a block with its own
// random delimiter, so a value of many lines (or one that looks like the
// file's syntax) reads back as it was, and a file that cannot be written is
// what Close reports.
func TestGitHubEnvironmentFilesHoldAnyValue(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	r := NewReporter(GitHub, env("GITHUB_OUTPUT", out), dir, io.Discard, io.Discard)
	value := "line one\nother<<EOF\nEOF\nghadelimiter_0\n"
	r.Output("a", value)
	r.Output("b", "2")
	require.NoError(t, r.Close())
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	// Read back as the runner does: name<<DELIM, lines, DELIM.
	got := map[string]string{}
	var delims []string
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		require.True(t, ok, "line %q", lines[i])
		delims = append(delims, delim)
		var v []string
		for i++; lines[i] != delim; i++ {
			v = append(v, lines[i])
		}
		got[name] = strings.Join(v, "\n")
	}
	assert.Equal(t, map[string]string{"a": strings.TrimSuffix(value, "\n") + "\n", "b": "2"}, got)
	require.Len(t, delims, 2)
	assert.NotEqual(t, delims[0], delims[1], "a delimiter of its own for each value")
	assert.Regexp(t, `^ghadelimiter_[0-9a-f]{32}$`, delims[0])

	bad := NewReporter(GitHub, env("GITHUB_OUTPUT", dir), dir, io.Discard, io.Discard)
	bad.Output("a", "1")
	assert.ErrorContains(t, bad.Close(), "GITHUB_OUTPUT")
}
