// Package ci knows the CI systems GoPythonGo runs in: which one this is, what it
// says about the branch, tag, pull request and commit being built, and how a step
// reports outputs, annotations and summaries to it.
package ci

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/gopythongo/gopythongo/internal/lazy"
	"github.com/gopythongo/gopythongo/internal/state"
)

// Provider names a CI system.
type Provider string

// The CI systems GoPythonGo knows. Local is any run outside them.
const (
	GitHub     Provider = "github"
	Jenkins    Provider = "jenkins"
	CircleCI   Provider = "circleci"
	GitLab     Provider = "gitlab"
	Azure      Provider = "azure"
	Bitbucket  Provider = "bitbucket"
	Buildkite  Provider = "buildkite"
	Travis     Provider = "travis"
	Woodpecker Provider = "woodpecker"
	Drone      Provider = "drone"
	TeamCity   Provider = "teamcity"
	Local      Provider = "local"
)

// Env is what the CI says about the build, normalized across providers.
type Env struct {
	Provider Provider
	// Branch is the branch being built; for a pull request, its source branch.
	Branch string
	// Tag is set on tag builds.
	Tag string
	// PR is the pull (merge) request number, 0 when this is no pull request build.
	PR       int
	PRSource string
	PRTarget string
	// SHA is the commit to version. For pull requests it is the head commit of the
	// source branch, not the merge commit some CIs check out: the version then
	// names a commit that exists in the repository's history.
	SHA string
	// MergeSHA is the merge commit a CI checked out for a pull request, if it said.
	MergeSHA    string
	BuildNumber string
	BuildURL    string
	SourceURL   string
	// Vars lists the environment variables that were read, for --explain.
	Vars []string
	// Notes explain choices made while reading the environment.
	Notes []string
}

// IsPR reports whether this is a pull request build.
func (e Env) IsPR() bool { return e.PR > 0 }

// Lookup reads an environment variable, as os.LookupEnv does.
type Lookup func(string) (string, bool)

// ReadFile reads a file, as os.ReadFile does (GitHub's event payload).
type ReadFile func(string) ([]byte, error)

// reader remembers which variables were looked at.
type reader struct {
	lookup Lookup
	used   []string
}

func (r *reader) get(name string) string {
	v, ok := r.lookup(name)
	if ok && v != "" {
		r.used = append(r.used, name)
	}
	return v
}

// Detect works out the CI provider and what it says about the build.
func Detect(lookup Lookup, readFile ReadFile) Env {
	r := &reader{lookup: lookup}
	var e Env
	switch {
	case r.get("GITHUB_ACTIONS") == "true":
		e = github(r, readFile)
	case r.get("GITLAB_CI") == "true":
		e = gitlab(r)
	case r.get("CIRCLECI") == "true":
		e = circleci(r)
	case r.get("JENKINS_URL") != "" || r.get("JENKINS_HOME") != "":
		e = jenkins(r)
	case strings.EqualFold(r.get("TF_BUILD"), "true"):
		e = azure(r)
	case r.get("BITBUCKET_BUILD_NUMBER") != "":
		e = bitbucket(r)
	case r.get("BUILDKITE") == "true":
		e = buildkite(r)
	case r.get("TRAVIS") == "true":
		e = travis(r)
	// Woodpecker before Drone: it also sets some DRONE_ variables.
	case r.get("CI") == "woodpecker":
		e = woodpecker(r)
	case r.get("DRONE") == "true":
		e = drone(r)
	case r.get("TEAMCITY_VERSION") != "":
		e = teamcity(r)
	default:
		e = Env{Provider: Local}
	}
	e.Vars = r.used
	return e
}

var githubPRRef = lazy.Regexp(`^refs/pull/(\d+)/(?:merge|head)$`)

func github(r *reader, readFile ReadFile) Env {
	e := Env{Provider: GitHub, SHA: r.get("GITHUB_SHA"), BuildNumber: r.get("GITHUB_RUN_NUMBER")}
	server, repo := r.get("GITHUB_SERVER_URL"), r.get("GITHUB_REPOSITORY")
	if server != "" && repo != "" {
		e.SourceURL = server + "/" + repo
		if id := r.get("GITHUB_RUN_ID"); id != "" {
			e.BuildURL = e.SourceURL + "/actions/runs/" + id
		}
	}
	ref := r.get("GITHUB_REF")
	event := r.get("GITHUB_EVENT_NAME")
	var payload struct {
		Number      int `json:"number"`
		PullRequest *struct {
			Number int `json:"number"`
			Head   struct {
				SHA string `json:"sha"`
				Ref string `json:"ref"`
			} `json:"head"`
			Base struct {
				Ref string `json:"ref"`
			} `json:"base"`
		} `json:"pull_request"`
		MergeGroup struct {
			HeadSHA string `json:"head_sha"`
			BaseRef string `json:"base_ref"`
		} `json:"merge_group"`
	}
	if p := r.get("GITHUB_EVENT_PATH"); p != "" && readFile != nil {
		if data, err := readFile(p); err == nil {
			if err := json.Unmarshal(data, &payload); err != nil {
				e.Notes = append(e.Notes, fmt.Sprintf("GITHUB_EVENT_PATH %s is not valid JSON: %v", p, err))
			}
		}
	}
	m := githubPRRef().FindStringSubmatch(ref)
	isPR := m != nil || event == "pull_request" || event == "pull_request_target"
	switch {
	case event == "merge_group" || strings.HasPrefix(ref, "refs/heads/gh-readonly-queue/"):
		// A merge queue tests the commit its target branch will move to:
		// it is versioned as a build of that branch.
		e.Branch = mergeQueueTarget(ref, payload.MergeGroup.BaseRef)
		if h := payload.MergeGroup.HeadSHA; h != "" {
			e.SHA = h
		}
		e.Notes = append(e.Notes, fmt.Sprintf("merge queue: versioned as a build of %s, the branch the queue merges into", e.Branch))
	case isPR:
		if m != nil {
			e.PR, _ = strconv.Atoi(m[1])
		}
		e.PRSource, e.PRTarget = r.get("GITHUB_HEAD_REF"), r.get("GITHUB_BASE_REF")
		if pr := payload.PullRequest; pr != nil {
			if e.PR == 0 {
				e.PR = pr.Number
			}
			if e.PRSource == "" {
				e.PRSource = pr.Head.Ref
			}
			if e.PRTarget == "" {
				e.PRTarget = pr.Base.Ref
			}
			if pr.Head.SHA != "" && pr.Head.SHA != e.SHA {
				e.MergeSHA = e.SHA
				e.SHA = pr.Head.SHA
				e.Notes = append(e.Notes, fmt.Sprintf("pull request: versioning the head commit %s from the event payload, not the merge commit GITHUB_SHA=%s", state.ShortSHA(e.SHA), state.ShortSHA(e.MergeSHA)))
			}
		} else if m != nil && strings.HasSuffix(ref, "/merge") {
			e.Notes = append(e.Notes, "pull request: no event payload with the head commit; GITHUB_SHA is the merge commit")
		}
		if e.PR == 0 {
			e.PR = payload.Number
		}
		e.Branch = e.PRSource
	case strings.HasPrefix(ref, "refs/tags/"):
		e.Tag = strings.TrimPrefix(ref, "refs/tags/")
	case strings.HasPrefix(ref, "refs/heads/"):
		e.Branch = strings.TrimPrefix(ref, "refs/heads/")
	}
	return e
}

func gitlab(r *reader) Env {
	e := Env{
		Provider:    GitLab,
		SHA:         r.get("CI_COMMIT_SHA"),
		BuildNumber: r.get("CI_PIPELINE_IID"),
		BuildURL:    r.get("CI_JOB_URL"),
		SourceURL:   r.get("CI_PROJECT_URL"),
	}
	if iid := r.get("CI_MERGE_REQUEST_IID"); iid != "" {
		e.PR, _ = strconv.Atoi(iid)
		e.PRSource = r.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")
		e.PRTarget = r.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
		e.Branch = e.PRSource
		if head := r.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"); head != "" && head != e.SHA {
			e.MergeSHA, e.SHA = e.SHA, head
			e.Notes = append(e.Notes, fmt.Sprintf("merge request: versioning the head commit %s, not the merged result %s", state.ShortSHA(e.SHA), state.ShortSHA(e.MergeSHA)))
		}
		return e
	}
	if tag := r.get("CI_COMMIT_TAG"); tag != "" {
		e.Tag = tag
		return e
	}
	e.Branch = r.get("CI_COMMIT_BRANCH")
	if e.Branch == "" {
		e.Branch = r.get("CI_COMMIT_REF_NAME")
	}
	return e
}

var trailingNumber = lazy.Regexp(`(\d+)/?$`)

func circleci(r *reader) Env {
	e := Env{
		Provider:    CircleCI,
		SHA:         r.get("CIRCLE_SHA1"),
		BuildNumber: r.get("CIRCLE_BUILD_NUM"),
		BuildURL:    r.get("CIRCLE_BUILD_URL"),
		SourceURL:   r.get("CIRCLE_REPOSITORY_URL"),
	}
	if tag := r.get("CIRCLE_TAG"); tag != "" {
		e.Tag = tag
		return e
	}
	e.Branch = r.get("CIRCLE_BRANCH")
	pr := r.get("CIRCLE_PR_NUMBER")
	if pr == "" {
		if m := trailingNumber().FindStringSubmatch(r.get("CIRCLE_PULL_REQUEST")); m != nil {
			pr = m[1]
		}
	}
	if pr != "" {
		e.PR, _ = strconv.Atoi(pr)
		e.PRSource = e.Branch
		// CircleCI does not name the target branch; the caller fills in
		// version.pr_target.
	}
	return e
}

func jenkins(r *reader) Env {
	e := Env{
		Provider:    Jenkins,
		SHA:         r.get("GIT_COMMIT"),
		BuildNumber: r.get("BUILD_NUMBER"),
		BuildURL:    r.get("BUILD_URL"),
		SourceURL:   r.get("GIT_URL"),
	}
	// Multibranch pipelines.
	if id := r.get("CHANGE_ID"); id != "" {
		e.PR, _ = strconv.Atoi(id)
		e.PRSource, e.PRTarget = r.get("CHANGE_BRANCH"), r.get("CHANGE_TARGET")
		e.Branch = e.PRSource
		return e
	}
	if tag := r.get("TAG_NAME"); tag != "" {
		e.Tag = tag
		return e
	}
	// The GitHub pull request builder plugin of freestyle jobs.
	if id := r.get("ghprbPullId"); id != "" {
		e.PR, _ = strconv.Atoi(id)
		e.PRSource, e.PRTarget = r.get("ghprbSourceBranch"), r.get("ghprbTargetBranch")
		e.Branch = e.PRSource
		if head := r.get("ghprbActualCommit"); head != "" {
			e.SHA = head
		}
		return e
	}
	if b := r.get("BRANCH_NAME"); b != "" {
		e.Branch = b
		return e
	}
	// Freestyle jobs: GIT_BRANCH carries the remote, origin/develop.
	e.Branch = stripRemote(r.get("GIT_BRANCH"))
	return e
}

// stripRemote turns origin/feature/x, refs/remotes/origin/feature/x and
// refs/heads/feature/x into feature/x.
func stripRemote(b string) string {
	switch {
	case strings.HasPrefix(b, "refs/heads/"):
		return strings.TrimPrefix(b, "refs/heads/")
	case strings.HasPrefix(b, "refs/remotes/"):
		b = strings.TrimPrefix(b, "refs/remotes/")
		_, rest, _ := strings.Cut(b, "/")
		return rest
	case strings.HasPrefix(b, "origin/"):
		return strings.TrimPrefix(b, "origin/")
	}
	return b
}

// mergeQueueTarget is the branch a GitHub merge queue merges into: the
// payload's base_ref, else what its branch name says
// (gh-readonly-queue/<target>/pr-<n>-<sha>).
func mergeQueueTarget(ref, baseRef string) string {
	if baseRef != "" {
		return strings.TrimPrefix(baseRef, "refs/heads/")
	}
	name := strings.TrimPrefix(ref, "refs/heads/gh-readonly-queue/")
	if i := strings.LastIndex(name, "/pr-"); i > 0 {
		return name[:i]
	}
	return name
}

// refBranch reads refs/heads/x, refs/tags/v and refs/pull/N/merge, as Azure
// Pipelines names what it builds.
func refBranch(e *Env, ref string) {
	switch {
	case strings.HasPrefix(ref, "refs/tags/"):
		e.Tag = strings.TrimPrefix(ref, "refs/tags/")
	case strings.HasPrefix(ref, "refs/heads/"):
		e.Branch = strings.TrimPrefix(ref, "refs/heads/")
	}
}

// headCommit versions a pull request's head commit where the CI names it
// apart from the merge commit it checked out.
func headCommit(e *Env, head string) {
	if head != "" && head != e.SHA {
		e.MergeSHA, e.SHA = e.SHA, head
		e.Notes = append(e.Notes, fmt.Sprintf("pull request: versioning the head commit %s, not the merge commit %s", state.ShortSHA(e.SHA), state.ShortSHA(e.MergeSHA)))
	}
}

func azure(r *reader) Env {
	e := Env{Provider: Azure, SHA: r.get("BUILD_SOURCEVERSION"), BuildNumber: r.get("BUILD_BUILDNUMBER"), SourceURL: r.get("BUILD_REPOSITORY_URI")}
	if c, p, id := r.get("SYSTEM_COLLECTIONURI"), r.get("SYSTEM_TEAMPROJECT"), r.get("BUILD_BUILDID"); c != "" && p != "" && id != "" {
		e.BuildURL = strings.TrimSuffix(c, "/") + "/" + p + "/_build/results?buildId=" + id
	}
	pr := r.get("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER") // GitHub repositories
	if pr == "" {
		pr = r.get("SYSTEM_PULLREQUEST_PULLREQUESTID") // Azure Repos
	}
	if pr != "" {
		e.PR, _ = strconv.Atoi(pr)
		e.PRSource = strings.TrimPrefix(r.get("SYSTEM_PULLREQUEST_SOURCEBRANCH"), "refs/heads/")
		e.PRTarget = strings.TrimPrefix(r.get("SYSTEM_PULLREQUEST_TARGETBRANCH"), "refs/heads/")
		e.Branch = e.PRSource
		headCommit(&e, r.get("SYSTEM_PULLREQUEST_SOURCECOMMITID"))
		return e
	}
	// BUILD_SOURCEBRANCHNAME is only the last part of the name
	// (feature/x gives x); the full ref is BUILD_SOURCEBRANCH.
	refBranch(&e, r.get("BUILD_SOURCEBRANCH"))
	return e
}

func bitbucket(r *reader) Env {
	e := Env{Provider: Bitbucket, SHA: r.get("BITBUCKET_COMMIT"), BuildNumber: r.get("BITBUCKET_BUILD_NUMBER"), SourceURL: r.get("BITBUCKET_GIT_HTTP_ORIGIN")}
	if e.SourceURL != "" {
		e.BuildURL = e.SourceURL + "/pipelines/results/" + e.BuildNumber
	}
	if tag := r.get("BITBUCKET_TAG"); tag != "" {
		e.Tag = tag
		return e
	}
	e.Branch = r.get("BITBUCKET_BRANCH")
	if pr := r.get("BITBUCKET_PR_ID"); pr != "" {
		// BITBUCKET_COMMIT is the source branch's commit; the clone merges
		// the destination in only on request.
		e.PR, _ = strconv.Atoi(pr)
		e.PRSource, e.PRTarget = e.Branch, r.get("BITBUCKET_PR_DESTINATION_BRANCH")
	}
	return e
}

func buildkite(r *reader) Env {
	e := Env{Provider: Buildkite, SHA: r.get("BUILDKITE_COMMIT"), BuildNumber: r.get("BUILDKITE_BUILD_NUMBER"), BuildURL: r.get("BUILDKITE_BUILD_URL"), SourceURL: r.get("BUILDKITE_REPO")}
	if e.SHA == "HEAD" {
		// A build started by hand without a commit: the checkout's HEAD.
		e.SHA = ""
	}
	if tag := r.get("BUILDKITE_TAG"); tag != "" {
		e.Tag = tag
		return e
	}
	e.Branch = r.get("BUILDKITE_BRANCH")
	if pr := r.get("BUILDKITE_PULL_REQUEST"); pr != "" && pr != "false" {
		e.PR, _ = strconv.Atoi(pr)
		e.PRSource, e.PRTarget = e.Branch, r.get("BUILDKITE_PULL_REQUEST_BASE_BRANCH")
	}
	return e
}

func travis(r *reader) Env {
	e := Env{Provider: Travis, SHA: r.get("TRAVIS_COMMIT"), BuildNumber: r.get("TRAVIS_BUILD_NUMBER"), BuildURL: r.get("TRAVIS_BUILD_WEB_URL")}
	if slug := r.get("TRAVIS_REPO_SLUG"); slug != "" {
		e.SourceURL = "https://github.com/" + slug
	}
	if tag := r.get("TRAVIS_TAG"); tag != "" {
		e.Tag = tag
		return e
	}
	if pr := r.get("TRAVIS_PULL_REQUEST"); pr != "" && pr != "false" {
		// For pull requests TRAVIS_BRANCH is the target, and TRAVIS_COMMIT
		// the merge commit Travis made.
		e.PR, _ = strconv.Atoi(pr)
		e.PRSource, e.PRTarget = r.get("TRAVIS_PULL_REQUEST_BRANCH"), r.get("TRAVIS_BRANCH")
		e.Branch = e.PRSource
		headCommit(&e, r.get("TRAVIS_PULL_REQUEST_SHA"))
		return e
	}
	e.Branch = r.get("TRAVIS_BRANCH")
	return e
}

func woodpecker(r *reader) Env {
	e := Env{Provider: Woodpecker, SHA: r.get("CI_COMMIT_SHA"), BuildNumber: r.get("CI_PIPELINE_NUMBER"), BuildURL: r.get("CI_PIPELINE_URL"), SourceURL: r.get("CI_REPO_URL")}
	if tag := r.get("CI_COMMIT_TAG"); tag != "" {
		e.Tag = tag
		return e
	}
	if pr := r.get("CI_COMMIT_PULL_REQUEST"); pr != "" {
		e.PR, _ = strconv.Atoi(pr)
		e.PRSource, e.PRTarget = r.get("CI_COMMIT_SOURCE_BRANCH"), r.get("CI_COMMIT_TARGET_BRANCH")
		e.Branch = e.PRSource
		return e
	}
	e.Branch = r.get("CI_COMMIT_BRANCH")
	return e
}

func drone(r *reader) Env {
	e := Env{Provider: Drone, SHA: r.get("DRONE_COMMIT_SHA"), BuildNumber: r.get("DRONE_BUILD_NUMBER"), BuildURL: r.get("DRONE_BUILD_LINK"), SourceURL: r.get("DRONE_REPO_LINK")}
	if tag := r.get("DRONE_TAG"); tag != "" {
		e.Tag = tag
		return e
	}
	if pr := r.get("DRONE_PULL_REQUEST"); pr != "" {
		// For pull requests DRONE_BRANCH is the target.
		e.PR, _ = strconv.Atoi(pr)
		e.PRSource, e.PRTarget = r.get("DRONE_SOURCE_BRANCH"), r.get("DRONE_TARGET_BRANCH")
		e.Branch = e.PRSource
		return e
	}
	e.Branch = r.get("DRONE_BRANCH")
	return e
}

// teamcity reads what TeamCity puts in the environment: the commit
// (BUILD_VCS_NUMBER) and the build number. The branch is a configuration
// parameter TeamCity does not export; the GitVersion convention is a
// parameter env.Git_Branch = %teamcity.build.vcs.branch.<root>% (refs/heads/x,
// refs/tags/v, refs/pull/N/head, or pull/N with the pull requests feature).
func teamcity(r *reader) Env {
	e := Env{Provider: TeamCity, SHA: r.get("BUILD_VCS_NUMBER"), BuildNumber: r.get("BUILD_NUMBER")}
	ref := r.get("Git_Branch")
	if ref == "" {
		e.Notes = append(e.Notes, "TeamCity does not export the branch: add the parameter env.Git_Branch = %teamcity.build.vcs.branch.<VCS root id>% to the build configuration")
		return e
	}
	if m := teamcityPR().FindStringSubmatch(ref); m != nil {
		e.PR, _ = strconv.Atoi(m[1])
		e.PRSource = r.get("TEAMCITY_PULLREQUEST_SOURCE_BRANCH")
		e.PRTarget = r.get("TEAMCITY_PULLREQUEST_TARGET_BRANCH")
		e.Branch = e.PRSource
		return e
	}
	refBranch(&e, ref)
	if e.Branch == "" && e.Tag == "" {
		e.Branch = ref // a branch given without refs/heads/
	}
	return e
}

var teamcityPR = lazy.Regexp(`^(?:refs/)?pull/(\d+)(?:/(?:head|merge))?$`)
