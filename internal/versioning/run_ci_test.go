package versioning

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/ci"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

func lookupMap(m map[string]string) ci.Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func loadConfig(t *testing.T, dir string, env ...string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.Options{Dir: dir, Environ: env})
	require.NoError(t, err)
	return cfg
}

// run versions the repository's checkout as the CI described by vars would.
func run(t *testing.T, dir string, vars map[string]string) (*Result, error) {
	t.Helper()
	env := ci.Detect(lookupMap(vars), os.ReadFile)
	return Run(context.Background(), Request{Config: loadConfig(t, dir), Env: env, Lookup: lookupMap(vars)})
}

// with adds key, value pairs to a CI's base variables.
func with(base map[string]string, kv ...string) map[string]string {
	for i := 0; i+1 < len(kv); i += 2 {
		base[kv[i]] = kv[i+1]
	}
	return base
}

type fixture struct {
	name  string
	head  string // the commit the CI checks out, detached
	vars  map[string]string
	group string // fixtures of a group must agree exactly
}

// TestSameCommitSameVersionOnEveryCI runs 68 CI environments of eleven CIs, each on a
// detached-HEAD checkout of one Git Flow history.
func TestSameCommitSameVersionOnEveryCI(t *testing.T) {
	g := testutil.NewGitFlow(t)
	at := g.At
	// The merge commit GitHub (refs/pull/42/merge) and GitLab merged-results
	// pipelines check out for a pull request from the feature into develop.
	g.Detach("develop")
	g.Merge("feature/login-page")
	merge := g.Head()
	// The merge Jenkins makes for a pull request with its default strategy:
	// the head checked out, the target's commit merged into it.
	g.Detach(at["feature"])
	g.Git("merge", "--no-ff", "--no-edit", at["develop"])
	jenkinsMerge := g.Head()
	mqEvent := filepath.Join(t.TempDir(), "merge_group.json")
	require.NoError(t, os.WriteFile(mqEvent, []byte(fmt.Sprintf(
		`{"merge_group": {"head_sha": %q, "head_ref": "refs/heads/gh-readonly-queue/develop/pr-42-%s", "base_ref": "refs/heads/develop"}}`, at["develop"], at["feature"])), 0o644))
	event := filepath.Join(t.TempDir(), "event.json")
	require.NoError(t, os.WriteFile(event, []byte(fmt.Sprintf(
		`{"number": 42, "pull_request": {"number": 42, "head": {"sha": %q, "ref": "feature/login-page"}, "base": {"ref": "develop"}}}`, at["feature"])), 0o644))

	gh := func(ref, sha string, kv ...string) map[string]string {
		return with(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REF": ref, "GITHUB_SHA": sha, "GITHUB_RUN_NUMBER": "7",
			"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/hello", "GITHUB_RUN_ID": "99", "GITHUB_EVENT_NAME": "push"}, kv...)
	}
	gl := func(sha string, kv ...string) map[string]string {
		return with(map[string]string{"GITLAB_CI": "true", "CI_COMMIT_SHA": sha, "CI_PIPELINE_IID": "3", "CI_JOB_URL": "https://gitlab.example.com/j/1"}, kv...)
	}
	cc := func(sha string, kv ...string) map[string]string {
		return with(map[string]string{"CIRCLECI": "true", "CIRCLE_SHA1": sha, "CIRCLE_BUILD_NUM": "11"}, kv...)
	}
	jk := func(sha string, kv ...string) map[string]string {
		return with(map[string]string{"JENKINS_URL": "https://jenkins.example.com/", "GIT_COMMIT": sha, "BUILD_NUMBER": "5", "BUILD_URL": "https://jenkins.example.com/job/hello/5/"}, kv...)
	}
	az := func(sha string, kv ...string) map[string]string {
		return with(map[string]string{"TF_BUILD": "True", "BUILD_SOURCEVERSION": sha, "BUILD_BUILDNUMBER": "20261201.3", "BUILD_BUILDID": "77",
			"SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/", "SYSTEM_TEAMPROJECT": "hello"}, kv...)
	}
	bb := func(sha string, kv ...string) map[string]string {
		return with(map[string]string{"BITBUCKET_BUILD_NUMBER": "12", "BITBUCKET_COMMIT": sha, "BITBUCKET_GIT_HTTP_ORIGIN": "http://bitbucket.org/acme/hello"}, kv...)
	}
	bk := func(sha string, kv ...string) map[string]string {
		return with(map[string]string{"BUILDKITE": "true", "BUILDKITE_COMMIT": sha, "BUILDKITE_BUILD_NUMBER": "8", "BUILDKITE_PULL_REQUEST": "false"}, kv...)
	}
	tr := func(sha string, kv ...string) map[string]string {
		return with(map[string]string{"TRAVIS": "true", "CI": "true", "TRAVIS_COMMIT": sha, "TRAVIS_BUILD_NUMBER": "4", "TRAVIS_PULL_REQUEST": "false", "TRAVIS_REPO_SLUG": "acme/hello"}, kv...)
	}
	wp := func(sha string, kv ...string) map[string]string {
		return with(map[string]string{"CI": "woodpecker", "CI_COMMIT_SHA": sha, "CI_PIPELINE_NUMBER": "6", "DRONE_COMMIT_SHA": sha}, kv...)
	}
	dr := func(sha string, kv ...string) map[string]string {
		return with(map[string]string{"DRONE": "true", "CI": "true", "DRONE_COMMIT_SHA": sha, "DRONE_BUILD_NUMBER": "9"}, kv...)
	}
	tc := func(sha string, kv ...string) map[string]string {
		return with(map[string]string{"TEAMCITY_VERSION": "2025.11", "BUILD_VCS_NUMBER": sha, "BUILD_NUMBER": "31"}, kv...)
	}
	dev, rel, hot, feat, tag := at["develop"], at["release"], at["hotfix"], at["feature"], at["v1.1.0"]
	fixtures := []fixture{
		{"github push develop", dev, gh("refs/heads/develop", dev), "develop"},
		{"gitlab develop", dev, gl(dev, "CI_COMMIT_BRANCH", "develop", "CI_COMMIT_REF_NAME", "develop"), "develop"},
		{"circleci develop", dev, cc(dev, "CIRCLE_BRANCH", "develop"), "develop"},
		{"jenkins multibranch develop", dev, jk(dev, "BRANCH_NAME", "develop"), "develop"},
		{"jenkins freestyle origin/develop", dev, jk(dev, "GIT_BRANCH", "origin/develop"), "develop"},
		{"jenkins freestyle refs/remotes", dev, jk(dev, "GIT_BRANCH", "refs/remotes/origin/develop"), "develop"},
		{"gitlab ref name only", dev, gl(dev, "CI_COMMIT_REF_NAME", "develop"), "develop"},

		{"github push release", rel, gh("refs/heads/release/1.2.0", rel), "release"},
		{"gitlab release", rel, gl(rel, "CI_COMMIT_BRANCH", "release/1.2.0"), "release"},
		{"circleci release", rel, cc(rel, "CIRCLE_BRANCH", "release/1.2.0"), "release"},
		{"jenkins multibranch release", rel, jk(rel, "BRANCH_NAME", "release/1.2.0"), "release"},
		{"jenkins freestyle release", rel, jk(rel, "GIT_BRANCH", "origin/release/1.2.0"), "release"},

		{"github push hotfix", hot, gh("refs/heads/hotfix/1.1.1", hot), "hotfix"},
		{"gitlab hotfix", hot, gl(hot, "CI_COMMIT_BRANCH", "hotfix/1.1.1"), "hotfix"},
		{"circleci hotfix", hot, cc(hot, "CIRCLE_BRANCH", "hotfix/1.1.1"), "hotfix"},
		{"jenkins hotfix", hot, jk(hot, "BRANCH_NAME", "hotfix/1.1.1"), "hotfix"},

		{"github push feature", feat, gh("refs/heads/feature/login-page", feat), "feature"},
		{"gitlab feature", feat, gl(feat, "CI_COMMIT_BRANCH", "feature/login-page"), "feature"},
		{"circleci feature", feat, cc(feat, "CIRCLE_BRANCH", "feature/login-page"), "feature"},
		{"jenkins multibranch feature", feat, jk(feat, "BRANCH_NAME", "feature/login-page"), "feature"},
		{"jenkins freestyle feature", feat, jk(feat, "GIT_BRANCH", "origin/feature/login-page"), "feature"},

		{"github pull_request (merge checkout)", merge, gh("refs/pull/42/merge", merge, "GITHUB_EVENT_NAME", "pull_request",
			"GITHUB_HEAD_REF", "feature/login-page", "GITHUB_BASE_REF", "develop", "GITHUB_EVENT_PATH", event), "pr"},
		{"github pull_request_target", feat, gh("refs/heads/develop", dev, "GITHUB_EVENT_NAME", "pull_request_target",
			"GITHUB_EVENT_PATH", event), "pr"},
		{"gitlab merge request", feat, gl(feat, "CI_MERGE_REQUEST_IID", "42", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature/login-page",
			"CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "develop"), "pr"},
		{"gitlab merged results", merge, gl(merge, "CI_MERGE_REQUEST_IID", "42", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature/login-page",
			"CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "develop", "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", feat), "pr"},
		{"jenkins multibranch PR", feat, jk(feat, "BRANCH_NAME", "PR-42", "CHANGE_ID", "42", "CHANGE_BRANCH", "feature/login-page", "CHANGE_TARGET", "develop"), "pr"},
		{"jenkins ghprb", merge, jk(merge, "ghprbPullId", "42", "ghprbSourceBranch", "feature/login-page", "ghprbTargetBranch", "develop", "ghprbActualCommit", feat), "pr"},
		{"circleci pull request", feat, cc(feat, "CIRCLE_BRANCH", "feature/login-page", "CIRCLE_PULL_REQUEST", "https://github.com/acme/hello/pull/42"), "pr"},

		{"github tag", tag, gh("refs/tags/v1.1.0", tag), "tag"},
		{"gitlab tag", tag, gl(tag, "CI_COMMIT_TAG", "v1.1.0"), "tag"},
		{"circleci tag", tag, cc(tag, "CIRCLE_TAG", "v1.1.0"), "tag"},
		{"jenkins tag", tag, jk(tag, "TAG_NAME", "v1.1.0", "BRANCH_NAME", "v1.1.0"), "tag"},
		{"github push of main at the tag", tag, gh("refs/heads/main", tag), "tag"},

		{"github merge queue", dev, gh("refs/heads/gh-readonly-queue/develop/pr-42-"+feat, dev, "GITHUB_EVENT_NAME", "merge_group", "GITHUB_EVENT_PATH", mqEvent), "develop"},
		{"github merge queue without payload", dev, gh("refs/heads/gh-readonly-queue/develop/pr-42-"+feat, dev, "GITHUB_EVENT_NAME", "merge_group"), "develop"},
		{"jenkins multibranch PR (merge strategy)", jenkinsMerge, jk(jenkinsMerge, "BRANCH_NAME", "PR-42", "CHANGE_ID", "42", "CHANGE_BRANCH", "feature/login-page", "CHANGE_TARGET", "develop"), "pr"},

		{"azure develop", dev, az(dev, "BUILD_SOURCEBRANCH", "refs/heads/develop", "BUILD_SOURCEBRANCHNAME", "develop"), "develop"},
		{"azure release", rel, az(rel, "BUILD_SOURCEBRANCH", "refs/heads/release/1.2.0", "BUILD_SOURCEBRANCHNAME", "1.2.0"), "release"},
		{"azure feature", feat, az(feat, "BUILD_SOURCEBRANCH", "refs/heads/feature/login-page", "BUILD_SOURCEBRANCHNAME", "login-page"), "feature"},
		{"azure pull request (github)", merge, az(merge, "BUILD_SOURCEBRANCH", "refs/pull/42/merge", "BUILD_SOURCEBRANCHNAME", "merge",
			"SYSTEM_PULLREQUEST_PULLREQUESTNUMBER", "42", "SYSTEM_PULLREQUEST_PULLREQUESTID", "987654", "SYSTEM_PULLREQUEST_SOURCEBRANCH", "feature/login-page",
			"SYSTEM_PULLREQUEST_TARGETBRANCH", "develop", "SYSTEM_PULLREQUEST_SOURCECOMMITID", feat), "pr"},
		{"azure pull request (azure repos)", merge, az(merge, "BUILD_SOURCEBRANCH", "refs/pull/42/merge", "SYSTEM_PULLREQUEST_PULLREQUESTID", "42",
			"SYSTEM_PULLREQUEST_SOURCEBRANCH", "refs/heads/feature/login-page", "SYSTEM_PULLREQUEST_TARGETBRANCH", "refs/heads/develop",
			"SYSTEM_PULLREQUEST_SOURCECOMMITID", feat), "pr"},
		{"azure tag", tag, az(tag, "BUILD_SOURCEBRANCH", "refs/tags/v1.1.0", "BUILD_SOURCEBRANCHNAME", "v1.1.0"), "tag"},

		{"bitbucket develop", dev, bb(dev, "BITBUCKET_BRANCH", "develop"), "develop"},
		{"bitbucket hotfix", hot, bb(hot, "BITBUCKET_BRANCH", "hotfix/1.1.1"), "hotfix"},
		{"bitbucket pull request", feat, bb(feat, "BITBUCKET_BRANCH", "feature/login-page", "BITBUCKET_PR_ID", "42", "BITBUCKET_PR_DESTINATION_BRANCH", "develop"), "pr"},
		{"bitbucket tag", tag, bb(tag, "BITBUCKET_TAG", "v1.1.0"), "tag"},

		{"buildkite develop", dev, bk(dev, "BUILDKITE_BRANCH", "develop"), "develop"},
		{"buildkite by hand at HEAD", dev, bk("HEAD", "BUILDKITE_BRANCH", "develop"), "develop"},
		{"buildkite pull request", feat, bk(feat, "BUILDKITE_BRANCH", "feature/login-page", "BUILDKITE_PULL_REQUEST", "42", "BUILDKITE_PULL_REQUEST_BASE_BRANCH", "develop"), "pr"},
		{"buildkite tag", tag, bk(tag, "BUILDKITE_BRANCH", "v1.1.0", "BUILDKITE_TAG", "v1.1.0"), "tag"},

		{"travis develop", dev, tr(dev, "TRAVIS_BRANCH", "develop"), "develop"},
		{"travis pull request (merge checkout)", merge, tr(merge, "TRAVIS_BRANCH", "develop", "TRAVIS_PULL_REQUEST", "42",
			"TRAVIS_PULL_REQUEST_BRANCH", "feature/login-page", "TRAVIS_PULL_REQUEST_SHA", feat), "pr"},
		{"travis tag", tag, tr(tag, "TRAVIS_BRANCH", "v1.1.0", "TRAVIS_TAG", "v1.1.0"), "tag"},

		{"woodpecker release", rel, wp(rel, "CI_COMMIT_BRANCH", "release/1.2.0", "DRONE_BRANCH", "release/1.2.0"), "release"},
		{"woodpecker pull request", feat, wp(feat, "CI_COMMIT_BRANCH", "develop", "CI_COMMIT_PULL_REQUEST", "42",
			"CI_COMMIT_SOURCE_BRANCH", "feature/login-page", "CI_COMMIT_TARGET_BRANCH", "develop"), "pr"},
		{"woodpecker tag", tag, wp(tag, "CI_COMMIT_TAG", "v1.1.0"), "tag"},

		{"drone feature", feat, dr(feat, "DRONE_BRANCH", "feature/login-page"), "feature"},
		{"drone pull request", feat, dr(feat, "DRONE_BRANCH", "develop", "DRONE_PULL_REQUEST", "42",
			"DRONE_SOURCE_BRANCH", "feature/login-page", "DRONE_TARGET_BRANCH", "develop"), "pr"},
		{"drone tag", tag, dr(tag, "DRONE_TAG", "v1.1.0"), "tag"},

		{"teamcity develop", dev, tc(dev, "Git_Branch", "refs/heads/develop"), "develop"},
		{"teamcity hotfix without refs/heads", hot, tc(hot, "Git_Branch", "hotfix/1.1.1"), "hotfix"},
		{"teamcity pull request", feat, tc(feat, "Git_Branch", "pull/42", "TEAMCITY_PULLREQUEST_SOURCE_BRANCH", "feature/login-page",
			"TEAMCITY_PULLREQUEST_TARGET_BRANCH", "develop"), "pr"},
		{"teamcity tag", tag, tc(tag, "Git_Branch", "refs/tags/v1.1.0"), "tag"},
	}
	require.GreaterOrEqual(t, len(fixtures), 60)

	want := map[string]string{
		"develop": "1.3.0-dev.2+g" + dev[:10],
		"release": "1.2.0-rc.2",
		"hotfix":  "1.1.1-rc.1",
		"feature": "1.3.0-feature.login-page.3+g" + feat[:10],
		"pr":      "1.3.0-pr.42.3+g" + feat[:10],
		"tag":     "1.1.0",
	}
	results := map[string]*Result{}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			g.Detach(f.head)
			res, err := run(t, g.Dir, f.vars)
			require.NoError(t, err)
			assert.Equal(t, want[f.group], res.Version.SemVer(), res.Rule)
			if f.group == "pr" {
				assert.Equal(t, feat, res.Commit.SHA, "pull requests version the head commit")
			}
			results[f.name] = res
		})
	}
	// A push to feature/login-page and a pull request from it agree on the base
	// version, the commit and the commits counted; only the label differs.
	push, pr := results["github push feature"], results["github pull_request (merge checkout)"]
	require.NotNil(t, push)
	require.NotNil(t, pr)
	assert.Equal(t, push.Base, pr.Base)
	assert.Equal(t, push.Distance, pr.Distance)
	assert.Equal(t, push.Commit.SHA, pr.Commit.SHA)
}

func TestMainWithoutTagFailsOnEveryCI(t *testing.T) {
	g := testutil.NewGitFlow(t)
	g.Checkout("main", false)
	sha := g.Commit("untagged")
	g.Detach(sha)
	for _, vars := range []map[string]string{
		{"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/heads/main", "GITHUB_SHA": sha},
		{"GITLAB_CI": "true", "CI_COMMIT_BRANCH": "main", "CI_COMMIT_SHA": sha},
		{"CIRCLECI": "true", "CIRCLE_BRANCH": "main", "CIRCLE_SHA1": sha},
		{"JENKINS_URL": "x", "BRANCH_NAME": "main", "GIT_COMMIT": sha},
	} {
		_, err := run(t, g.Dir, vars)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "has no version tag")
	}
}

// TestTeamCityWithoutBranchSaysWhatToAdd: TeamCity exports no branch unless
// the build configuration maps it; the error says which parameter to add.
func TestTeamCityWithoutBranchSaysWhatToAdd(t *testing.T) {
	g := testutil.NewGitFlow(t)
	g.Detach(g.At["develop"])
	_, err := run(t, g.Dir, map[string]string{"TEAMCITY_VERSION": "2025.11", "BUILD_VCS_NUMBER": g.At["develop"]})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot tell which branch")
	assert.Contains(t, err.Error(), "env.Git_Branch = %teamcity.build.vcs.branch.<VCS root id>%")
}
