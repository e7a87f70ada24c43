// Package versioning computes the version of a build: the base version from
// its source, the Git Flow rules applied to the commit and branch the CI builds,
// the package revision from what the stores hold, rendered four ways.
package versioning

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gopythongo/gopythongo/internal/ci"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/gitflow"
	"github.com/gopythongo/gopythongo/internal/gitrepo"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/storeask"
	"github.com/gopythongo/gopythongo/internal/storetype"
	"github.com/gopythongo/gopythongo/internal/version"
)

// Request is the input of one run.
type Request struct {
	Config *config.Config
	// Env is what the CI says; flags may have changed it.
	Env ci.Env
	// Lookup reads the environment (the env version source).
	Lookup ci.Lookup
	// Artifact is the sha256 of an artifact already built for this commit, if
	// known; a store holding it means no new revision.
	Artifact string
	// Existing asks the store named by version.revision_from what it holds
	// (nil: revision_from is refused).
	Existing storeask.Existing
}

// Result is the computed version and how it came about.
type Result struct {
	Version  version.Version
	Commit   state.Commit
	Base     version.Version
	Distance int
	Source   string
	Rule     string
	Explain  []string
	Warnings []string
}

// State returns the version part of the state file.
func (r *Result) State() *state.Version {
	rd := r.Version.Render()
	return &state.Version{
		SemVer: rd.SemVer, PEP440: rd.PEP440, Debian: rd.Debian, OCITag: rd.OCITag,
		Channel: string(r.Version.Channel()), Base: r.Base.SemVer(), Distance: r.Distance,
		Source: r.Source, Rule: r.Rule, Revision: max(r.Version.Revision, 1),
	}
}

// MissingHistoryError means the clone lacks history or tags; the CLI exits 3.
type MissingHistoryError struct {
	Missing string
	Fix     string
}

func (e *MissingHistoryError) Error() string {
	return fmt.Sprintf("cannot compute the version: the clone is missing %s.\n%s", e.Missing, e.Fix)
}

// fixFor says how to get full history, or a missing branch, on each CI.
func fixFor(p ci.Provider, branches []string) string {
	const fetch = "Or pass --fetch (version.fetch: true) to fetch what is needed without writing any ref."
	if len(branches) > 0 {
		b := branches[0]
		switch p {
		case ci.GitHub:
			return "actions/checkout with `fetch-depth: 0` fetches all branches. " + fetch
		case ci.Jenkins:
			return fmt.Sprintf("Let the checkout fetch %s too (refspec +refs/heads/%s:refs/remotes/origin/%s, or all branches). %s", b, b, b, fetch)
		}
		return fmt.Sprintf("Fetch it: git fetch origin %s:refs/remotes/origin/%s. %s", b, b, fetch)
	}
	switch p {
	case ci.GitHub:
		return "actions/checkout clones one commit without tags by default: set `with: fetch-depth: 0`. " + fetch
	case ci.GitLab:
		return "GitLab clones shallow by default: set `variables: GIT_DEPTH: 0` (and `GIT_FETCH_EXTRA_FLAGS: --tags`). " + fetch
	case ci.Jenkins:
		return "Turn off shallow clone and turn on tags in the Git SCM options (CloneOption shallow: false, noTags: false; in multibranch: Advanced clone behaviours). " + fetch
	case ci.CircleCI:
		return "Run `git fetch --unshallow --tags` before this step, or check out with full history. " + fetch
	}
	return "Run `git fetch --unshallow --tags origin`. " + fetch
}

// Run computes the version.
func Run(ctx context.Context, req Request) (*Result, error) {
	c := req.Config
	env := req.Env
	res := &Result{Source: c.Version.Source}
	if env.IsPR() && env.PRTarget == "" {
		env.PRTarget = c.Version.PRTarget
		res.Explain = append(res.Explain, fmt.Sprintf("note: the CI does not name the pull request's target; version.pr_target says %s", env.PRTarget))
	}

	var fixed *version.Version
	if c.Version.Source != "git" {
		v, where, err := readSource(c, req.Lookup)
		if err != nil {
			return nil, err
		}
		fixed, res.Source = &v, fmt.Sprintf("%s (%s)", c.Version.Source, where)
	}

	needGit := c.Version.Source == "git" || c.Version.Scheme == "gitflow"
	var repo *gitrepo.Repo
	if needGit {
		r, err := gitrepo.Open(ctx, c.Dir)
		if err != nil {
			return nil, err
		}
		repo = r
		if err := res.readCommit(ctx, repo, env); err != nil {
			return nil, err
		}
	} else {
		res.Commit = commitFromEnv(env)
	}

	var v version.Version
	switch {
	case c.Version.Scheme == "none" && fixed != nil:
		v, res.Base, res.Rule = *fixed, fixed.Core(), "scheme none: the version source's version as it is"
	case c.Version.Scheme == "none":
		if err := res.tagOnCommit(ctx, c, repo, &v); err != nil {
			return nil, err
		}
	default:
		if err := res.gitflow(ctx, c, repo, env, fixed, &v); err != nil {
			return nil, err
		}
		if fixed != nil && fixed.Pre != nil && (v.Pre == nil || *v.Pre != *fixed.Pre) {
			// Git Flow numbers the pre-releases by branch: say so rather
			// than drop the source's without a word.
			res.Rule += fmt.Sprintf("; the pre-release of %s from the version source is not kept: Git Flow makes the pre-releases by branch (-dev.N on develop, -rc.N on release branches); use version.scheme: none to build the source's version as it is", fixed.SemVer())
		}
	}

	if repo != nil {
		if err := res.dirty(ctx, c, repo, &v); err != nil {
			return nil, err
		}
	}
	if c.Version.CommitID && res.Commit.SHA != "" {
		switch v.Channel() {
		case version.ChannelDev, version.ChannelFeature, version.ChannelPR, version.ChannelPost:
			v.Build = append([]string{"g" + res.Commit.SHA[:min(10, len(res.Commit.SHA))]}, v.Build...)
		}
	}
	if err := res.revision(ctx, c, req.Existing, req.Artifact, &v); err != nil {
		return nil, err
	}
	if err := v.Validate(); err != nil {
		return nil, fmt.Errorf("the computed version is invalid: %w", err)
	}
	res.Version = v
	res.explain(c, env)
	return res, nil
}

func commitFromEnv(env ci.Env) state.Commit {
	return state.Commit{
		SHA: env.SHA, Branch: env.Branch, Tag: env.Tag, PR: env.PR, PRSource: env.PRSource, PRTarget: env.PRTarget,
		Provider: string(env.Provider), BuildNumber: env.BuildNumber, BuildURL: env.BuildURL, SourceURL: env.SourceURL,
	}
}

// readCommit settles which commit and branch are built: the CI's, else HEAD's.
func (res *Result) readCommit(ctx context.Context, repo *gitrepo.Repo, env ci.Env) error {
	res.Commit = commitFromEnv(env)
	rev := "HEAD"
	if env.SHA != "" {
		if !repo.HasCommit(ctx, env.SHA) {
			return &MissingHistoryError{Missing: fmt.Sprintf("commit %s, which the CI says it builds", env.SHA), Fix: fixFor(env.Provider, nil)}
		}
		rev = env.SHA
	}
	sha, unix, err := repo.Commit(ctx, rev)
	if err != nil {
		return err
	}
	res.Commit.SHA, res.Commit.Time = sha, unix
	if env.Provider == ci.Jenkins && env.IsPR() {
		if err := res.jenkinsHead(ctx, repo); err != nil {
			return err
		}
	}
	if res.Commit.Branch == "" && res.Commit.Tag == "" && !env.IsPR() {
		res.Commit.Branch = repo.CurrentBranch(ctx)
	}
	return nil
}

// jenkinsHead finds the pull request's head commit under the merge Jenkins
// makes with its default strategy (GitHub and Bitbucket branch sources:
// "merging the pull request with the current target branch revision"). It
// checks out the head, merges the target's commit and names the merge
// "Merge commit '<target>' into HEAD", so the head is the first parent.
// A checkout of the head itself is left as it is.
func (res *Result) jenkinsHead(ctx context.Context, repo *gitrepo.Repo) error {
	sha := res.Commit.SHA
	parents, err := repo.Parents(ctx, []string{sha})
	if err != nil {
		return err
	}
	ps := parents[sha]
	if len(ps) != 2 {
		return nil
	}
	subject, err := repo.Subject(ctx, sha)
	if err != nil {
		return err
	}
	if subject != fmt.Sprintf("Merge commit '%s' into HEAD", ps[1]) {
		return nil
	}
	head, unix, err := repo.Commit(ctx, ps[0])
	if err != nil {
		return err
	}
	res.Commit.SHA, res.Commit.Time = head, unix
	res.Explain = append(res.Explain, fmt.Sprintf("note: Jenkins merged the target %s into the pull request; versioning its head commit %s, not the merge %s", state.ShortSHA(ps[1]), state.ShortSHA(head), state.ShortSHA(sha)))
	return nil
}

func (res *Result) tagReader(c *config.Config) (gitflow.TagReader, error) {
	var rp *version.RegexParser
	if c.Version.TagPattern != "" {
		p, err := version.NewRegexParser(c.Version.TagPattern)
		if err != nil {
			return nil, err
		}
		rp = p
	}
	prefix := c.Version.TagPrefix
	return func(name string) (version.Version, bool, error) {
		if !strings.HasPrefix(name, prefix) {
			return version.Version{}, false, nil
		}
		s := strings.TrimPrefix(name, prefix)
		if rp != nil {
			v, err := rp.Parse(s)
			return v, err == nil, err
		}
		v, err := version.ParseTag(s)
		return v, err == nil, err
	}, nil
}

func patterns(c *config.Config) gitflow.Patterns {
	b := c.Version.Branches
	return gitflow.Patterns{Main: b.Main, Develop: b.Develop, Release: b.Release, Hotfix: b.Hotfix, Feature: b.Feature, Support: b.Support}
}

// tagOnCommit is scheme none with git: the highest version tag on the commit.
func (res *Result) tagOnCommit(ctx context.Context, c *config.Config, repo *gitrepo.Repo, v *version.Version) error {
	read, err := res.tagReader(c)
	if err != nil {
		return err
	}
	if res.Commit.Tag != "" {
		tv, ok, err := read(res.Commit.Tag)
		if err != nil {
			return fmt.Errorf("tag %q is not a version: %w", res.Commit.Tag, err)
		}
		if !ok {
			return fmt.Errorf("tag %q does not start with version.tag_prefix %q", res.Commit.Tag, c.Version.TagPrefix)
		}
		*v, res.Base, res.Rule = tv, tv.Core(), "scheme none: the tag being built, "+res.Commit.Tag
		return nil
	}
	refs, err := repo.TagRefs(ctx)
	if err != nil {
		return err
	}
	found := false
	for _, r := range refs {
		if !r.IsTag() || r.Commit != res.Commit.SHA {
			continue
		}
		tv, ok, err := read(r.ShortName())
		if err == nil && ok && (!found || version.Compare(tv, *v) > 0) {
			*v, found = tv, true
			res.Rule = "scheme none: tag " + r.ShortName() + " on the commit"
		}
	}
	if !found {
		return fmt.Errorf("scheme none with the git source needs a version tag on commit %s; tag it, or use scheme gitflow", state.ShortSHA(res.Commit.SHA))
	}
	res.Base = v.Core()
	return nil
}

func (res *Result) gitflow(ctx context.Context, c *config.Config, repo *gitrepo.Repo, env ci.Env, fixed *version.Version, v *version.Version) error {
	read, err := res.tagReader(c)
	if err != nil {
		return err
	}
	initial, _ := version.ParseTag(c.Version.Initial) // validated with the configuration
	req := gitflow.Request{
		SHA: res.Commit.SHA, Branch: res.Commit.Branch, Tag: res.Commit.Tag,
		PR: env.PR, PRSource: env.PRSource, PRTarget: env.PRTarget,
		Patterns: patterns(c), ReadTag: read, Initial: initial,
		MainUntagged: c.Version.MainUntagged, Fixed: fixed,
	}
	if req.Shallow, err = repo.Shallow(); err != nil {
		return err
	}
	if req.Tags, err = repo.TagRefs(ctx); err != nil {
		return err
	}
	req.Branches = func() ([]gitrepo.Ref, error) { return repo.BranchRefs(ctx) }
	out, err := gitflow.Resolve(ctx, repo, req)
	if gitflow.IsHistory(err) && c.Version.Fetch {
		out, err = res.fetch(ctx, repo, req)
	}
	var he *gitflow.HistoryError
	if errors.As(err, &he) {
		return &MissingHistoryError{Missing: he.Missing, Fix: fixFor(env.Provider, he.Branches)}
	}
	var ue *gitflow.UsageError
	if errors.As(err, &ue) && len(env.Notes) > 0 && env.Branch == "" && !env.IsPR() {
		// What reading the CI's variables found explains a missing branch
		// (TeamCity exports none unless told to).
		return &gitflow.UsageError{Msg: ue.Msg + "; " + strings.Join(env.Notes, "; ")}
	}
	if err != nil {
		return err
	}
	*v, res.Base, res.Distance, res.Rule = out.Version, out.Base, out.Distance, out.Rule
	res.Warnings = append(res.Warnings, out.Warnings...)
	return nil
}

// fetch gets what the rules need from the remote without writing any ref: the
// refs come from git ls-remote, and the objects of the built commit and of every
// branch tip are fetched, in a shallow clone deeper and deeper (doubling) until
// the rules find what they need.
func (res *Result) fetch(ctx context.Context, repo *gitrepo.Repo, req gitflow.Request) (gitflow.Result, error) {
	remote, err := repo.DefaultRemote(ctx)
	if err != nil {
		return gitflow.Result{}, err
	}
	refs, err := repo.RemoteRefs(ctx, remote)
	if err != nil {
		return gitflow.Result{}, err
	}
	var branches []gitrepo.Ref
	req.Tags = nil
	want := []string{req.SHA}
	for _, r := range refs {
		if r.IsTag() {
			req.Tags = append(req.Tags, r)
		} else {
			branches = append(branches, r)
			want = append(want, r.Commit)
		}
	}
	req.Branches = func() ([]gitrepo.Ref, error) { return branches, nil }
	if len(req.Shallow) == 0 {
		if err := repo.Deepen(ctx, remote, 0, want); err != nil {
			return gitflow.Result{}, fmt.Errorf("fetch from %s: %w", remote, err)
		}
		res.Explain = append(res.Explain, fmt.Sprintf("fetch: fetched %d branch tip(s) from %s (refs from git ls-remote)", len(want)-1, remote))
		return gitflow.Resolve(ctx, repo, req)
	}
	var out gitflow.Result
	for depth := 32; ; depth *= 2 {
		if err := repo.Deepen(ctx, remote, depth, want); err != nil {
			return out, fmt.Errorf("deepen the clone from %s: %w", remote, err)
		}
		if req.Shallow, err = repo.Shallow(); err != nil {
			return out, err
		}
		out, err = gitflow.Resolve(ctx, repo, req)
		if !gitflow.IsHistory(err) || len(req.Shallow) == 0 {
			res.Explain = append(res.Explain, fmt.Sprintf("fetch: deepened the clone to %d commits (refs from git ls-remote %s)", depth, remote))
			return out, err
		}
	}
}

func (res *Result) dirty(ctx context.Context, c *config.Config, repo *gitrepo.Repo, v *version.Version) error {
	files, err := repo.DirtyFiles(ctx)
	if err != nil || len(files) == 0 {
		return err
	}
	if !c.Version.Dirty {
		list := strings.Join(files[:min(5, len(files))], ", ")
		if len(files) > 5 {
			list += fmt.Sprintf(" and %d more", len(files)-5)
		}
		return fmt.Errorf("the work tree has uncommitted changes (%s): commit or stash them, or allow a .dirty version with version.dirty: true (--dirty)", list)
	}
	// A dirty build cannot sort below the clean build of the same commit in
	// every ordering (pip and apt put +dirty above it), so a release or
	// release candidate is never built dirty, and publish refuses the others.
	if ch := v.Channel(); ch == version.ChannelRelease || ch == version.ChannelRC {
		return fmt.Errorf("the work tree has uncommitted changes, and %s is a %s build: a dirty %s would sort above the clean one in pip and apt; commit or stash the changes (version.dirty applies to dev, feature and pull request builds only)", v.SemVer(), ch, v.SemVer())
	}
	v.Build = append(v.Build, "dirty")
	return nil
}

// revision finds the package revision: the configured one, or from a store the
// next free revision after the highest it holds for the same upstream version,
// and no new one when the store already holds this build.
func (res *Result) revision(ctx context.Context, c *config.Config, existing storeask.Existing, artifact string, v *version.Version) error {
	v.Revision = c.Version.Revision
	name := c.Version.RevisionFrom
	if name == "" {
		return nil
	}
	sc, _ := c.Store(name) // validated with the configuration
	pkg := c.Project.Name
	if pkg == "" {
		return c.Errorf("project.name", "revision_from needs project.name, the package to look up")
	}
	if existing == nil {
		return c.Errorf("version.revision_from", "this step cannot ask a store what it holds")
	}
	rels, err := existing(ctx, sc, c.Dir, pkg)
	if err != nil {
		return fmt.Errorf("ask store %s for the revisions of %s: %w", name, pkg, err)
	}
	rev, why := NextRevision(*v, storetype.VersionFormat(sc.Type), rels, res.Commit.SHA, artifact)
	v.Revision = rev
	res.Explain = append(res.Explain, fmt.Sprintf("revision: %d from store %s (%s)", rev, name, why))
	return nil
}

// NextRevision picks the package revision for v given what a store holds, in the
// store's rendering f (Debian -N, PEP 440 .postN, OCI _rev.N): the revision of an
// existing release of the same commit or artifact, else one more than the highest
// for the same upstream version, else v's own.
func NextRevision(v version.Version, f version.Format, rels []storetype.Release, commit, artifact string) (int, string) {
	upstream := v.WithoutRevision().In(f)
	highest, same := 0, 0
	for _, r := range rels {
		got, err := version.ParseFormat(f, r.Version)
		if err != nil || got.WithoutRevision().In(f) != upstream {
			continue
		}
		rev := max(got.Revision, 1)
		highest = max(highest, rev)
		// The content decides when it is known: a rebuild of the same commit
		// with other bytes needs a new revision. Without it, the commit.
		switch {
		case artifact != "":
			if r.SHA256 == artifact || r.Digest == artifact || "sha256:"+r.SHA256 == artifact {
				same = max(same, rev)
			}
		case commit != "" && r.Commit == commit:
			same = max(same, rev)
		}
	}
	switch {
	case same > 0:
		return same, fmt.Sprintf("it already holds this build of %s as revision %d", upstream, same)
	case highest > 0:
		return highest + 1, fmt.Sprintf("it holds %s up to revision %d", upstream, highest)
	}
	return max(v.Revision, 1), "it holds no " + upstream
}

func (res *Result) explain(c *config.Config, env ci.Env) {
	when := time.Unix(res.Commit.Time, 0).UTC().Format(time.RFC3339)
	lines := []string{
		"source:   " + res.Source,
		fmt.Sprintf("commit:   %s (%s)", res.Commit.SHA, when),
		"build:    " + describeBuild(res.Commit),
		fmt.Sprintf("CI:       %s, from %s", env.Provider, varsOrNone(env.Vars)),
		"rule:     " + res.Rule,
		fmt.Sprintf("base:     %s, distance %d", res.Base.SemVer(), res.Distance),
	}
	for _, n := range env.Notes {
		lines = append(lines, "note:     "+n)
	}
	lines = append(lines, res.Explain...)
	for _, w := range res.Warnings {
		lines = append(lines, "warning:  "+w)
	}
	lines = append(lines, "result:   "+res.Version.SemVer())
	if len(lines) > 20 {
		lines = append(lines[:19], lines[len(lines)-1])
	}
	res.Explain = lines
}

func describeBuild(c state.Commit) string {
	switch {
	case c.Tag != "":
		return "tag " + c.Tag
	case c.PR > 0:
		return fmt.Sprintf("pull request #%d from %s into %s", c.PR, c.PRSource, c.PRTarget)
	case c.Branch != "":
		return "branch " + c.Branch
	}
	return "detached HEAD, branch unknown"
}

func varsOrNone(v []string) string {
	if len(v) == 0 {
		return "no CI variables"
	}
	return strings.Join(v, ", ")
}
