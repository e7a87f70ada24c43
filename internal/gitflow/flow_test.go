package gitflow

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/gitrepo"
	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/version"
)

var standard = Patterns{
	Main: []string{"main", "master"}, Develop: []string{"develop"}, Release: []string{"release/*"},
	Hotfix: []string{"hotfix/*"}, Feature: []string{"feature/*"}, Support: []string{"support/*"},
}

func readTag(prefix string) TagReader {
	return func(name string) (version.Version, bool, error) {
		if !strings.HasPrefix(name, prefix) {
			return version.Version{}, false, nil
		}
		v, err := version.ParseTag(strings.TrimPrefix(name, prefix))
		return v, err == nil, err
	}
}

func resolve(t *testing.T, dir string, req Request) (Result, error) {
	t.Helper()
	ctx := context.Background()
	repo, err := gitrepo.Open(ctx, dir)
	require.NoError(t, err)
	if req.Tags == nil {
		req.Tags, err = repo.TagRefs(ctx)
		require.NoError(t, err)
	}
	if req.Branches == nil {
		req.Branches = func() ([]gitrepo.Ref, error) { return repo.BranchRefs(ctx) }
	}
	if req.Shallow == nil {
		req.Shallow, err = repo.Shallow()
		require.NoError(t, err)
	}
	if req.Patterns.Main == nil {
		req.Patterns = standard
	}
	if req.ReadTag == nil {
		req.ReadTag = readTag("")
	}
	if req.Initial.Minor == 0 && req.Initial.Major == 0 {
		req.Initial = version.Version{Minor: 1}
	}
	return Resolve(ctx, repo, req)
}

func TestGitFlowRules(t *testing.T) {
	g := testutil.NewGitFlow(t)
	tests := []struct {
		name     string
		req      Request
		want     string
		distance int
		role     Role
	}{
		{"tagged release on main", Request{SHA: g.At["v1.1.0"], Branch: "main"}, "1.1.0", 0, RoleTag},
		{"tag build named by the CI", Request{SHA: g.At["v1.1.0"], Tag: "v1.1.0"}, "1.1.0", 0, RoleTag},
		{"release branch", Request{SHA: g.At["release"], Branch: "release/1.2.0"}, "1.2.0-rc.2", 2, RoleRelease},
		{"hotfix branch", Request{SHA: g.At["hotfix"], Branch: "hotfix/1.1.1"}, "1.1.1-rc.1", 1, RoleHotfix},
		// v1.1.0 is not reachable from develop, but release/1.1.0 was merged back;
		// and release/1.2.0 exists, so develop works on 1.3.0.
		{"develop after a release branch exists", Request{SHA: g.At["develop"], Branch: "develop"}, "1.3.0-dev.2", 2, RoleDevelop},
		{"feature", Request{SHA: g.At["feature"], Branch: "feature/login-page"}, "1.3.0-feature.login-page.3", 3, RoleFeature},
		{"pull request from the feature", Request{SHA: g.At["feature"], PR: 123, PRSource: "feature/login-page", PRTarget: "develop"}, "1.3.0-pr.123.3", 3, RolePR},
		{"pull request into a release branch", Request{SHA: g.At["release"], PR: 7, PRSource: "fix", PRTarget: "release/1.2.0"}, "1.2.0-pr.7.0", 0, RolePR},
		{"branch without a pattern", Request{SHA: g.At["feature"], Branch: "Bugfix/Weird_Name"}, "1.3.0-feature.bugfix-weird-name.3", 3, RoleOther},
		{"post-release on untagged main", Request{SHA: g.At["hotfix"], Branch: "main", MainUntagged: "post"}, "1.1.0+post.1", 1, RoleMain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := resolve(t, g.Dir, tt.req)
			require.NoError(t, err)
			assert.Equal(t, tt.want, res.Version.SemVer(), res.Rule)
			assert.Equal(t, tt.distance, res.Distance)
			assert.Equal(t, tt.role, res.Role)
			assert.NotEmpty(t, res.Rule)
		})
	}
}

func TestDevelopFollowsMergesNotOnlyTags(t *testing.T) {
	// Right after git flow release finish 1.1.0, before any new release branch:
	// v1.1.0 sits on main's merge commit, unreachable from develop.
	r := testutil.NewGitRepo(t)
	r.Commit("init")
	r.Tag("v1.0.0")
	r.Checkout("develop", true)
	r.Commits(2, "work")
	r.Checkout("release/1.1.0", true)
	r.Commit("bump")
	r.Checkout("main", false)
	r.Merge("release/1.1.0")
	r.Tag("v1.1.0")
	r.Checkout("develop", false)
	r.Merge("release/1.1.0")
	r.Git("branch", "-d", "release/1.1.0")
	r.Commits(3, "next")
	describe := r.Git("describe", "--tags", "--abbrev=0")
	require.Equal(t, "v1.0.0", describe, "git describe still sees 1.0.0 on develop")

	res, err := resolve(t, r.Dir, Request{SHA: r.Head(), Branch: "develop"})
	require.NoError(t, err)
	// The merge-back commit counts: it is on develop, after the release.
	assert.Equal(t, "1.2.0-dev.4", res.Version.SemVer())
	assert.Contains(t, res.Rule, "v1.1.0")
}

func TestNoTagAnywhere(t *testing.T) {
	r := testutil.NewGitRepo(t)
	r.Commits(17, "c")
	r.Checkout("develop", true)
	res, err := resolve(t, r.Dir, Request{SHA: r.Head(), Branch: "develop"})
	require.NoError(t, err)
	assert.Equal(t, "0.1.0-dev.17", res.Version.SemVer())
}

func TestSeveralTagsOnOneCommit(t *testing.T) {
	r := testutil.NewGitRepo(t)
	r.Commit("c")
	r.Tag("v2.0.0-rc.2")
	r.Tag("v2.0.0")
	r.Tag("v2.0.0-rc.10")
	r.Tag("not-a-version")
	r.Tag("v1.9.9-weird.label")
	res, err := resolve(t, r.Dir, Request{SHA: r.Head(), Branch: "main"})
	require.NoError(t, err)
	assert.Equal(t, "2.0.0", res.Version.SemVer())
	assert.Contains(t, res.Rule, "highest of 3 tags")
	require.Len(t, res.Warnings, 1, "malformed tags give one warning")
	assert.Contains(t, res.Warnings[0], "skipped 2 tag(s)")
	assert.Contains(t, res.Warnings[0], "not-a-version")
}

func TestMainWithoutTagExplains(t *testing.T) {
	g := testutil.NewGitFlow(t)
	g.Checkout("main", false)
	sha := g.Commit("untagged")
	_, err := resolve(t, g.Dir, Request{SHA: sha, Branch: "main"})
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "has no version tag")
	assert.Contains(t, err.Error(), "git tag v1.2.3")
	assert.Contains(t, err.Error(), "main_untagged: post")
}

func TestReleaseBranchNeedsAVersion(t *testing.T) {
	g := testutil.NewGitFlow(t)
	_, err := resolve(t, g.Dir, Request{SHA: g.At["release"], Branch: "release/next"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "should name the version it releases, like release/1.3.0")
}

func TestUnknownBranchAsksForIt(t *testing.T) {
	g := testutil.NewGitFlow(t)
	_, err := resolve(t, g.Dir, Request{SHA: g.At["develop"]})
	assert.ErrorContains(t, err, "pass --branch")
}

func TestFeatureNeedsDevelop(t *testing.T) {
	r := testutil.NewGitRepo(t)
	r.Commit("init")
	r.Tag("v1.0.0")
	r.Checkout("feature/x", true)
	r.Commit("x")
	r.Git("branch", "-D", "main")
	_, err := resolve(t, r.Dir, Request{SHA: r.Head(), Branch: "feature/x"})
	assert.True(t, IsHistory(err), "%v", err)
	assert.ErrorContains(t, err, "the branch develop or main or master")
}

func TestFixedBaseFromAFile(t *testing.T) {
	g := testutil.NewGitFlow(t)
	fixed := version.Version{Major: 4, Minor: 2}
	res, err := resolve(t, g.Dir, Request{SHA: g.At["release"], Branch: "release/1.2.0", Fixed: &fixed})
	require.NoError(t, err)
	assert.Equal(t, "4.2.0-rc.2", res.Version.SemVer())
	res, err = resolve(t, g.Dir, Request{SHA: g.At["hotfix"], Branch: "main", Fixed: &fixed})
	require.NoError(t, err)
	assert.Equal(t, "4.2.0", res.Version.SemVer())
}

func TestSupportBranch(t *testing.T) {
	r := testutil.NewGitRepo(t)
	r.Commit("init")
	r.Tag("v1.4.0")
	r.Checkout("support/1.x", true)
	r.Commits(2, "backport")
	res, err := resolve(t, r.Dir, Request{SHA: r.Head(), Branch: "support/1.x"})
	require.NoError(t, err)
	assert.Equal(t, "1.4.1-dev.2", res.Version.SemVer())
}

func TestTagPrefix(t *testing.T) {
	r := testutil.NewGitRepo(t)
	r.Commit("init")
	r.Tag("hello-v2.0.0")
	r.Tag("v9.0.0") // another project's
	res, err := resolve(t, r.Dir, Request{SHA: r.Head(), Branch: "main", ReadTag: readTag("hello-")})
	require.NoError(t, err)
	assert.Equal(t, "2.0.0", res.Version.SemVer())
}

func TestClassify(t *testing.T) {
	cases := map[string]Role{
		"main": RoleMain, "master": RoleMain, "develop": RoleDevelop, "release/1.2.0": RoleRelease,
		"hotfix/1.2.1": RoleHotfix, "feature/x/y": RoleFeature, "support/1.x": RoleSupport,
		"release/": RoleOther, "mainline": RoleOther, "features/x": RoleOther,
	}
	for b, want := range cases {
		got, _ := standard.Classify(b)
		assert.Equal(t, want, got, b)
	}
	_, capture := standard.Classify("release/1.2.0")
	assert.Equal(t, "1.2.0", capture)
	p := Patterns{Release: []string{"rel-*-final"}}
	role, capture := p.Classify("rel-3.1-final")
	assert.Equal(t, RoleRelease, role)
	assert.Equal(t, "3.1", capture)
}

// TestDistanceFromABranchTheWalkDidNotReach: with more release tags than the
// quick look tries (hotfix tags on main that develop never got), the rules
// read develop's whole graph once; the distance from the open release branch,
// whose tip is outside that graph, is still git's own count.
func TestDistanceFromABranchTheWalkDidNotReach(t *testing.T) {
	g := testutil.NewGitFlow(t)
	g.Checkout("main", false)
	for i := 1; i <= 7; i++ {
		g.Commit(fmt.Sprintf("hotfix %d on main only", i))
		g.Tag(fmt.Sprintf("v1.1.%d", i))
	}
	want, err := strconv.Atoi(g.Git("rev-list", "--count", g.At["develop"], "^"+g.At["release"]))
	require.NoError(t, err)
	res, err := resolve(t, g.Dir, Request{SHA: g.At["develop"], Branch: "develop"})
	require.NoError(t, err)
	assert.Equal(t, want, res.Distance, res.Rule)
	assert.Equal(t, fmt.Sprintf("1.3.0-dev.%d", want), res.Version.SemVer(), res.Rule)
}

// TestMainNamesTheTagItCannotRead: a tag on main's commit that does not read
// as a version is named, with the setting that would read it.
func TestMainNamesTheTagItCannotRead(t *testing.T) {
	g := testutil.NewGitFlow(t)
	g.Checkout("main", false)
	sha := g.Commit("release")
	g.Tag("release-1.2")
	_, err := resolve(t, g.Dir, Request{SHA: sha, Branch: "main", ReadTag: readTag("v")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "tag release-1.2 is not a version")
	assert.Contains(t, err.Error(), "set version.tag_prefix or version.tag_pattern")

	g.Tag("v1.2.x")
	_, err = resolve(t, g.Dir, Request{SHA: sha, Branch: "main", ReadTag: readTag("v")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "tag v1.2.x is not a version (")
}

// TestChannelsFollowTheBuild: only main (or a commit no branch names) at a
// tagged commit is the release; develop, feature and pull request builds of
// that commit keep their channel and sort above the release.
func TestChannelsFollowTheBuild(t *testing.T) {
	g := testutil.NewGitFlow(t)
	g.Checkout("develop", false)
	g.Tag("v1.2.5")
	at := g.Head()
	for _, tt := range []struct {
		req  Request
		want string
	}{
		{Request{SHA: at, Branch: "main"}, "1.2.5"},
		{Request{SHA: at}, "1.2.5"},
		{Request{SHA: at, Branch: "develop"}, "1.3.0-dev.2"},
		{Request{SHA: at, Branch: "feature/x"}, "1.3.0-feature.x.0"},
		{Request{SHA: at, PR: 7, PRSource: "feature/x", PRTarget: "develop"}, "1.3.0-pr.7.0"},
	} {
		res, err := resolve(t, g.Dir, tt.req)
		require.NoError(t, err)
		assert.Equal(t, tt.want, res.Version.SemVer(), "%+v: %s", tt.req, res.Rule)
		if tt.want != "1.2.5" {
			rel, _ := version.ParseTag("1.2.5")
			assert.Positive(t, version.Compare(res.Version, rel), "above the release")
		}
	}
}

// TestReleasedBranchStops: a hotfix branch kept after its release is
// refused, naming the release and the branch to start, never built below it.
func TestReleasedBranchStops(t *testing.T) {
	g := testutil.NewGitFlow(t)
	g.Checkout("main", false)
	g.Merge("hotfix/1.1.1")
	g.Tag("v1.1.1")
	g.Checkout("hotfix/1.1.1", false)
	sha := g.Commit("one more fix")
	_, err := resolve(t, g.Dir, Request{SHA: sha, Branch: "hotfix/1.1.1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1.1.1 is released (tag v1.1.1")
	assert.Contains(t, err.Error(), "hotfix/1.1.2")
}

// TestHistoriesThatWentBackwards are the histories in which builds used to
// sort below earlier ones; each later build now sorts above.
func TestHistoriesThatWentBackwards(t *testing.T) {
	build := func(t *testing.T, g *testutil.GitFlow, branch string) version.Version {
		t.Helper()
		res, err := resolve(t, g.Dir, Request{SHA: g.Head(), Branch: branch})
		require.NoError(t, err)
		return res.Version
	}
	above := func(t *testing.T, before, after version.Version) {
		t.Helper()
		assert.Positive(t, version.Compare(after, before), "%s then %s", before.SemVer(), after.SemVer())
	}

	t.Run("release branch merged into develop keeps counting", func(t *testing.T) {
		g := testutil.NewGitFlow(t)
		g.Checkout("release/1.2.0", false)
		g.Commits(3, "stabilize")
		before := build(t, g, "release/1.2.0")
		g.Checkout("develop", false)
		g.Merge("release/1.2.0")
		g.Checkout("release/1.2.0", false)
		g.Commit("one more fix")
		after := build(t, g, "release/1.2.0")
		above(t, before, after)
		assert.Equal(t, "1.2.0-rc.6", after.SemVer())
	})
	t.Run("release tagged on main, branch deleted, develop not merged back", func(t *testing.T) {
		g := testutil.NewGitFlow(t)
		g.Checkout("develop", false)
		before := build(t, g, "develop")
		g.Checkout("main", false)
		g.Merge("release/1.2.0")
		g.Tag("v1.2.0")
		g.Git("branch", "-q", "-D", "release/1.2.0")
		g.Checkout("develop", false)
		g.Commit("more work")
		after := build(t, g, "develop")
		above(t, before, after)
		rel, _ := version.ParseTag("1.2.0")
		above(t, rel, after)
	})
	t.Run("pre-release tag on develop moves it", func(t *testing.T) {
		g := testutil.NewGitFlow(t)
		g.Checkout("develop", false)
		g.Tag("v2.0.0-beta.1")
		g.Commit("after the beta")
		after := build(t, g, "develop")
		beta, _ := version.ParseTag("2.0.0-beta.1")
		above(t, beta, after)
		assert.Equal(t, "2.0.0-dev.1", after.SemVer())
	})
	t.Run("rc tag on a release branch lifts its count", func(t *testing.T) {
		g := testutil.NewGitFlow(t)
		g.Checkout("release/1.2.0", false)
		g.Tag("v1.2.0-rc.7")
		g.Commit("after rc.7")
		assert.Equal(t, "1.2.0-rc.8", build(t, g, "release/1.2.0").SemVer())
	})
}

// TestPreReleaseOfDevelopsOwnVersionIsRefused: a beta of the version develop
// works on, tagged on develop, cannot be followed by dev builds in PEP 440
// order; develop stops and says where such tags go.
func TestPreReleaseOfDevelopsOwnVersionIsRefused(t *testing.T) {
	g := testutil.NewGitFlow(t)
	g.Checkout("develop", false)
	g.Tag("v1.3.0-beta.1")
	sha := g.Commit("after the beta")
	_, err := resolve(t, g.Dir, Request{SHA: sha, Branch: "develop"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "develop reaches the tag v1.3.0-beta.1, a pre-release of 1.3.0")
	assert.Contains(t, err.Error(), "release/1.3.0")
}

// TestLongLinesAreReadAtOnce: develop built on a line of 700 commits from
// the root (no tag in reach), counted against an open release branch whose
// line holds 601: both lines are past 512 commits before they meet, at the
// root, so each is read whole by a git process of its own, the two at once.
// The count is git's own.
func TestLongLinesAreReadAtOnce(t *testing.T) {
	g := testutil.NewGitRepo(t)
	var s strings.Builder
	mark, when := 0, 1700000000
	commit := func(ref string, parent int) int {
		mark++
		when += 60
		fmt.Fprintf(&s, "commit %s\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata 2\nc\n", ref, mark, when)
		if parent > 0 {
			fmt.Fprintf(&s, "from :%d\n", parent)
		}
		return mark
	}
	root := commit("refs/heads/main", 0)
	fmt.Fprintf(&s, "tag v1.0.0\nfrom :%d\ntagger T <t@example.com> %d +0000\ndata 6\nv1.0.0\n", root, when)
	dev := root
	for range 600 {
		dev = commit("refs/heads/develop", dev)
	}
	commit("refs/heads/release/1.1.0", dev)
	line := root
	for range 700 {
		line = commit("refs/heads/legacy", line)
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir, cmd.Stdin = g.Dir, strings.NewReader(s.String())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	own, err := strconv.Atoi(g.Git("rev-list", "--count", "--first-parent", "legacy", "^release/1.1.0"))
	require.NoError(t, err)
	require.Equal(t, 700, own)

	res, err := resolve(t, g.Dir, Request{SHA: g.Git("rev-parse", "legacy"), Branch: "develop"})
	require.NoError(t, err)
	assert.Equal(t, "1.2.0-dev.700", res.Version.SemVer(), res.Rule)
	assert.Equal(t, own, res.Distance)
}

// TestBranchesAreReadOnlyWhenARuleNeedsThem: a release at a tag on main
// needs the tags alone; develop reads the branches once, and an error
// reading them is the run's error.
func TestBranchesAreReadOnlyWhenARuleNeedsThem(t *testing.T) {
	g := testutil.NewGitFlow(t)
	ctx := context.Background()
	repo, err := gitrepo.Open(ctx, g.Dir)
	require.NoError(t, err)
	reads := 0
	branches := func() ([]gitrepo.Ref, error) { reads++; return repo.BranchRefs(ctx) }

	res, err := resolve(t, g.Dir, Request{SHA: g.At["v1.1.0"], Branch: "main", Branches: branches})
	require.NoError(t, err)
	assert.Equal(t, "1.1.0", res.Version.SemVer())
	assert.Zero(t, reads, "a release at a tag reads no branch")

	res, err = resolve(t, g.Dir, Request{SHA: g.At["develop"], Branch: "develop", Branches: branches})
	require.NoError(t, err)
	assert.Equal(t, "1.3.0-dev.2", res.Version.SemVer())
	assert.Equal(t, 1, reads, "read once however many rules ask")

	broken := errors.New("refs/heads/x: object not found")
	_, err = resolve(t, g.Dir, Request{SHA: g.At["develop"], Branch: "develop", Branches: func() ([]gitrepo.Ref, error) { return nil, broken }})
	assert.ErrorIs(t, err, broken)
}
