// Package gitflow applies the Git Flow rules that turn a commit on a branch
// into a version: which branch is what (Patterns), the newest release each
// branch has seen, and the distances counted from it. It reads the repository
// through internal/gitrepo and never changes it.
package gitflow

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/gopythongo/gopythongo/internal/gitrepo"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/version"
)

// Role is what a branch is for in Git Flow.
type Role string

// The roles. RoleOther is a branch no pattern matches; it is built like a feature.
const (
	RoleMain    Role = "main"
	RoleDevelop Role = "develop"
	RoleRelease Role = "release"
	RoleHotfix  Role = "hotfix"
	RoleFeature Role = "feature"
	RoleSupport Role = "support"
	RolePR      Role = "pull request"
	RoleOther   Role = "other"
	RoleTag     Role = "tag"
)

// Patterns maps roles to branch name patterns; a * matches the rest of a name.
type Patterns struct {
	Main, Develop, Release, Hotfix, Feature, Support []string
}

// Classify returns the role of a branch and what its pattern's * matched.
func (p Patterns) Classify(branch string) (Role, string) {
	for _, rp := range []struct {
		role Role
		pats []string
	}{{RoleMain, p.Main}, {RoleDevelop, p.Develop}, {RoleRelease, p.Release}, {RoleHotfix, p.Hotfix}, {RoleFeature, p.Feature}, {RoleSupport, p.Support}} {
		for _, pat := range rp.pats {
			if m, ok := matchPattern(pat, branch); ok {
				return rp.role, m
			}
		}
	}
	return RoleOther, branch
}

func matchPattern(pat, name string) (string, bool) {
	before, after, star := strings.Cut(pat, "*")
	if !star {
		return "", pat == name
	}
	if len(name) < len(before)+len(after)+1 || !strings.HasPrefix(name, before) || !strings.HasSuffix(name, after) {
		return "", false
	}
	return name[len(before) : len(name)-len(after)], true
}

// TagReader reads a tag name as a version. ok is false for tags that are not
// versions of this project (another prefix); err is set for malformed ones.
type TagReader func(name string) (v version.Version, ok bool, err error)

// Request is what Resolve needs to know about the build.
type Request struct {
	SHA      string // the commit to version
	Branch   string // the branch being built, "" when unknown
	Tag      string // the tag being built, as the CI says
	PR       int
	PRSource string
	PRTarget string
	Patterns Patterns
	ReadTag  TagReader
	Initial  version.Version
	// MainUntagged is "error" or "post".
	MainUntagged string
	// Fixed is the base version of a non-git source; nil takes it from tags.
	Fixed *version.Version
	// Tags are the repository's tags (local, or the remote's with --fetch).
	Tags []gitrepo.Ref
	// Branches reads its branches, local and remote-tracking (or the
	// remote's), when a rule needs them: a release build at a tag does not.
	Branches func() ([]gitrepo.Ref, error)
	// Shallow lists the boundary commits of a shallow clone.
	Shallow []string
}

// Result is the version of a commit and how it was found.
type Result struct {
	Version  version.Version // without build metadata
	Base     version.Version
	Distance int
	Role     Role
	Rule     string
	Warnings []string
}

// HistoryError means the clone lacks history or refs a rule needs.
type HistoryError struct {
	Missing string
	// Branches names the branches that are missing, when that is the problem.
	Branches []string
}

func (e *HistoryError) Error() string { return "the clone is missing " + e.Missing }

// UsageError is a build that cannot get a version without the user's action.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

type tagInfo struct {
	ref gitrepo.Ref
	v   version.Version
}

type resolver struct {
	ctx      context.Context
	repo     *gitrepo.Repo
	req      Request
	tags     []tagInfo // version tags, highest first, once tagsRead
	tagsRead bool
	// branchRefs are req.Branches' answer, once branchesRead.
	branchRefs   []gitrepo.Ref
	branchErr    error
	branchesRead bool
	shallow      map[string]bool
	graphs       map[string]*gitrepo.Graph
	lines        map[string]*line
	res          Result
	// unread says why each tag on the commit was not read as a version.
	unread []string
}

// Resolve computes the version of req.SHA.
func Resolve(ctx context.Context, repo *gitrepo.Repo, req Request) (Result, error) {
	r := &resolver{ctx: ctx, repo: repo, req: req, shallow: map[string]bool{}, graphs: map[string]*gitrepo.Graph{}, lines: map[string]*line{}}
	for _, s := range req.Shallow {
		r.shallow[s] = true
	}
	err := r.resolve()
	return r.res, err
}

// branches reads the branches once.
func (r *resolver) branches() ([]gitrepo.Ref, error) {
	if !r.branchesRead {
		r.branchesRead = true
		if r.req.Branches != nil {
			r.branchRefs, r.branchErr = r.req.Branches()
		}
	}
	return r.branchRefs, r.branchErr
}

// versionTags parses every version tag once, highest first. A tag build never
// needs them all.
func (r *resolver) versionTags() []tagInfo {
	if !r.tagsRead {
		r.tagsRead = true
		r.readTags()
	}
	return r.tags
}

func (r *resolver) readTags() {
	var bad []string
	for _, ref := range r.req.Tags {
		if !ref.IsTag() {
			continue
		}
		v, ok, err := r.req.ReadTag(ref.ShortName())
		switch {
		case err != nil:
			bad = append(bad, ref.ShortName())
		case ok:
			r.tags = append(r.tags, tagInfo{ref: ref, v: v})
		}
	}
	slices.SortStableFunc(r.tags, func(a, b tagInfo) int { return version.Compare(b.v, a.v) })
	r.res.Warnings = nil // the list of all tags includes those on the commit
	r.warnMalformed(bad)
}

// warnMalformed gives one warning for all tags that look like nothing.
func (r *resolver) warnMalformed(bad []string) {
	if len(bad) == 0 {
		return
	}
	slices.Sort(bad)
	list := strings.Join(bad, ", ")
	if len(bad) > 10 {
		list = strings.Join(bad[:10], ", ") + fmt.Sprintf(" and %d more", len(bad)-10)
	}
	r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("skipped %d tag(s) that are not versions: %s", len(bad), list))
}

func (r *resolver) resolve() error {
	req := r.req
	// A tag build: the CI names the tag, and the tag alone is enough, even in a
	// depth-1 clone without tags.
	if req.Tag != "" {
		v, ok, err := req.ReadTag(req.Tag)
		if err != nil || !ok {
			return &UsageError{Msg: fmt.Sprintf("this is a build of tag %q, which is not a version: %v (tag releases as v1.2.3 or 1.3.0-rc.1)", req.Tag, errOr(err, "it lacks version.tag_prefix"))}
		}
		r.release(v, RoleTag, fmt.Sprintf("tag build of %s", req.Tag))
		return nil
	}
	var onCommit []tagInfo
	var bad []string
	for _, ref := range req.Tags {
		if ref.IsTag() && ref.Commit == req.SHA {
			v, ok, err := req.ReadTag(ref.ShortName())
			switch {
			case err != nil:
				bad = append(bad, ref.ShortName())
				r.unread = append(r.unread, fmt.Sprintf("tag %s is not a version (%v)", ref.ShortName(), err))
			case ok:
				onCommit = append(onCommit, tagInfo{ref: ref, v: v})
			default:
				r.unread = append(r.unread, fmt.Sprintf("tag %s is not a version of this project's prefix", ref.ShortName()))
			}
		}
	}
	r.warnMalformed(bad)
	slices.SortStableFunc(onCommit, func(a, b tagInfo) int { return version.Compare(b.v, a.v) })

	role, capture := RoleOther, req.Branch
	switch {
	case req.PR > 0:
		role = RolePR
	case req.Branch != "":
		role, capture = req.Patterns.Classify(req.Branch)
	}
	// Only a build of main (or of a commit no branch names) at a tagged
	// commit is the release: develop, feature, pull request, support and
	// release branches that reach a tagged commit build their own channel,
	// so that they never collide with the tag's build.
	if len(onCommit) > 0 && (role == RoleMain || req.Branch == "" && req.PR == 0) {
		// Highest precedence wins: a release beats its pre-releases.
		t := onCommit[0]
		rule := fmt.Sprintf("tag %s on the commit", t.ref.ShortName())
		if len(onCommit) > 1 {
			rule += fmt.Sprintf(" (highest of %d tags)", len(onCommit))
		}
		r.release(t.v, RoleTag, rule)
		return nil
	}
	if req.PR == 0 && req.Branch == "" {
		return &UsageError{Msg: "cannot tell which branch this is (a detached HEAD, and no CI variable names it): pass --branch NAME"}
	}
	r.res.Role = role
	switch role {
	case RoleMain:
		return r.main()
	case RoleRelease, RoleHotfix:
		return r.releaseBranch(role, capture)
	case RoleDevelop:
		return r.develop()
	case RoleSupport:
		return r.support()
	case RolePR:
		return r.pullRequest()
	default:
		return r.feature(role)
	}
}

func errOr(err error, alt string) string {
	if err != nil {
		return err.Error()
	}
	return alt
}

func (r *resolver) release(v version.Version, role Role, rule string) {
	r.res.Version, r.res.Base, r.res.Role, r.res.Rule = v, v, role, rule
}

// main: a build of main without a tag on its commit.
func (r *resolver) main() error {
	if f := r.req.Fixed; f != nil {
		r.release(*f, RoleMain, "main: the release "+f.SemVer()+" from the version source")
		return nil
	}
	if r.req.MainUntagged != "post" && len(r.unread) > 0 {
		slices.Sort(r.unread)
		return &UsageError{Msg: fmt.Sprintf("%s is a release branch, but no tag on commit %s reads as a version: %s: set version.tag_prefix or version.tag_pattern to read it, or tag the release as v1.2.3", r.req.Branch, state.ShortSHA(r.req.SHA), strings.Join(r.unread, "; "))}
	}
	if r.req.MainUntagged != "post" {
		return &UsageError{Msg: fmt.Sprintf("%s is a release branch, but commit %s has no version tag: tag the release (git tag v1.2.3 %s && git push origin v1.2.3), build the tag instead of the branch, or set version.main_untagged: post for post-releases", r.req.Branch, state.ShortSHA(r.req.SHA), state.ShortSHA(r.req.SHA))}
	}
	base, ok, err := r.newestSeen(r.req.SHA)
	if err != nil {
		return err
	}
	if !ok {
		return &UsageError{Msg: fmt.Sprintf("%s has no release tag in its history, so there is nothing to make a post-release of: tag the first release", r.req.Branch)}
	}
	n, err := r.count(r.req.SHA, base.ref.Commit)
	if err != nil {
		return err
	}
	v := base.v.Core()
	v.Post = uint64(n)
	r.res.Version, r.res.Base, r.res.Distance = v, base.v, n
	r.res.Rule = fmt.Sprintf("main without a tag: post-release %d commit(s) after %s", n, base.ref.ShortName())
	return nil
}

func (r *resolver) releaseBranch(role Role, capture string) error {
	var v version.Version
	if f := r.req.Fixed; f != nil {
		v = f.Core()
	} else {
		parsed, err := version.ParseTag(capture)
		if err != nil {
			return &UsageError{Msg: fmt.Sprintf("branch %s should name the version it releases, like %s/1.3.0: %v", r.req.Branch, role, err)}
		}
		v = parsed.Core()
	}
	// Once its version is released, every later build of the branch would
	// sort below the release: stop, and say what to start instead.
	for _, t := range r.versionTags() {
		if t.v.IsRelease() && version.Compare(t.v.Core(), v) == 0 {
			next, _ := version.Bump(v, version.PartPatch)
			return &UsageError{Msg: fmt.Sprintf("%s builds %s-rc.N, but %s is released (tag %s on %s): a build of it now would sort below the release. Start hotfix/%s for further fixes, or delete the branch", r.req.Branch, v.SemVer(), v.SemVer(), t.ref.ShortName(), state.ShortSHA(t.ref.Commit), next.SemVer())}
		}
	}
	// Release branches fork from develop, hotfix branches from main.
	baseRole, pats := "develop", r.req.Patterns.Develop
	if role == RoleHotfix {
		baseRole, pats = "main", r.req.Patterns.Main
	}
	baseTip, name, err := r.branchTip(pats, baseRole)
	if err != nil {
		return err
	}
	n, err := r.own(r.req.SHA, baseTip)
	if err != nil {
		return err
	}
	if n, err = r.sinceRC(v, n); err != nil {
		return err
	}
	v.Pre = &version.Pre{Label: version.LabelRC, Number: uint64(n)}
	r.res.Version, r.res.Base, r.res.Distance = v, v.Core(), n
	r.res.Rule = fmt.Sprintf("%s branch: %s-rc.N, N = %d commit(s) of its own since it left %s", role, v.Core().SemVer(), n, name)
	return nil
}

// develop builds the minor after the newest release of the repository,
// counting develop's own line since the release branch of that minor left it.
func (r *resolver) develop() error {
	target, anchor, why, err := r.developTarget(r.req.SHA)
	if err != nil {
		return err
	}
	n, err := r.since(r.req.SHA, anchor)
	if err != nil {
		return err
	}
	v := target
	v.Pre = &version.Pre{Label: version.LabelDev, Number: uint64(n)}
	r.res.Version, r.res.Base, r.res.Distance = v, target, n
	r.res.Rule = fmt.Sprintf("develop: %s-dev.N, %s; N = %d commit(s) of develop's line since %s", target.SemVer(), why, n, short(anchor))
	return nil
}

func (r *resolver) support() error {
	if f := r.req.Fixed; f != nil {
		n, err := r.count(r.req.SHA)
		if err != nil {
			return err
		}
		v := f.Core()
		v.Pre = &version.Pre{Label: version.LabelDev, Number: uint64(n)}
		r.res.Version, r.res.Base, r.res.Distance, r.res.Rule = v, f.Core(), n, "support branch: the version source's version, -dev.N"
		return nil
	}
	seen, ok, err := r.newestSeen(r.req.SHA)
	if err != nil {
		return err
	}
	if !ok {
		return &UsageError{Msg: fmt.Sprintf("support branch %s has no release tag in its history: support branches continue a released version", r.req.Branch)}
	}
	n, err := r.count(r.req.SHA, seen.ref.Commit)
	if err != nil {
		return err
	}
	v, _ := version.Bump(seen.v.Core(), version.PartPatch)
	base := v
	v.Pre = &version.Pre{Label: version.LabelDev, Number: uint64(n)}
	r.res.Version, r.res.Base, r.res.Distance = v, base, n
	r.res.Rule = fmt.Sprintf("support branch: the patch after %s, -dev.N, N = %d commit(s) since", seen.ref.ShortName(), n)
	return nil
}

// feature builds take the version their target branch (develop) is working on and
// count their own commits.
func (r *resolver) feature(role Role) error {
	tip, name, err := r.branchTip(append(slices.Clone(r.req.Patterns.Develop), r.req.Patterns.Main...), "develop")
	if err != nil {
		return err
	}
	target, _, why, err := r.developTarget(tip)
	if err != nil {
		return err
	}
	n, err := r.own(r.req.SHA, tip)
	if err != nil {
		return err
	}
	v := target
	v.Pre = &version.Pre{Label: version.LabelFeature, Name: version.Slug(featureName(r.req.Patterns, r.req.Branch)), Number: uint64(n)}
	r.res.Version, r.res.Base, r.res.Distance = v, target, n
	kind := "feature branch"
	if role == RoleOther {
		kind = "branch (no Git Flow pattern matches; built as a feature)"
	}
	r.res.Rule = fmt.Sprintf("%s: %s targets %s (%s), N = %d commit(s) of its own", kind, name, target.SemVer(), why, n)
	return nil
}

// featureName is what the feature pattern's * matched, or the whole name.
func featureName(p Patterns, branch string) string {
	for _, pat := range p.Feature {
		if m, ok := matchPattern(pat, branch); ok {
			return m
		}
	}
	return branch
}

func (r *resolver) pullRequest() error {
	target := r.req.PRTarget
	role, capture := r.req.Patterns.Classify(target)
	var base version.Version
	var tip, why string
	var err error
	switch role {
	case RoleRelease, RoleHotfix:
		if f := r.req.Fixed; f != nil {
			base = f.Core()
		} else {
			v, err := version.ParseTag(capture)
			if err != nil {
				return &UsageError{Msg: fmt.Sprintf("pull request into %s: the branch should name its version: %v", target, err)}
			}
			base = v.Core()
		}
		why = "the version of " + target
		if tip, _, err = r.branchTip([]string{target}, target); err != nil {
			return err
		}
	default:
		if tip, _, err = r.branchTip([]string{target}, target); err != nil {
			return err
		}
		if base, _, why, err = r.developTarget(tip); err != nil {
			return err
		}
	}
	n, err := r.own(r.req.SHA, tip)
	if err != nil {
		return err
	}
	v := base
	v.Pre = &version.Pre{Label: version.LabelPR, Name: fmt.Sprint(r.req.PR), Number: uint64(n)}
	r.res.Version, r.res.Base, r.res.Distance = v, base, n
	r.res.Rule = fmt.Sprintf("pull request #%d into %s: %s (%s), N = %d commit(s) of its own", r.req.PR, target, base.SemVer(), why, n)
	return nil
}

// branchTip finds the commit of the first branch matching pats, local branches
// before remote-tracking ones.
func (r *resolver) branchTip(pats []string, what string) (commit, name string, err error) {
	bs, err := r.branches()
	if err != nil {
		return "", "", err
	}
	var remote *gitrepo.Ref
	for _, pat := range pats {
		if strings.Contains(pat, "*") {
			continue
		}
		for i, ref := range bs {
			if ref.IsTag() || ref.ShortName() != pat {
				continue
			}
			if strings.HasPrefix(ref.Name, "refs/heads/") {
				return ref.Commit, pat, nil
			}
			if remote == nil {
				remote = &bs[i]
			}
		}
	}
	if remote != nil {
		return remote.Commit, path.Join(strings.TrimPrefix(remote.Name, "refs/remotes/")), nil
	}
	return "", "", &HistoryError{Missing: fmt.Sprintf("the branch %s (%s), which this build counts its commits against", strings.Join(nonGlob(pats), " or "), what), Branches: nonGlob(pats)}
}

func nonGlob(pats []string) []string {
	var out []string
	for _, p := range pats {
		if !strings.Contains(p, "*") {
			out = append(out, p)
		}
	}
	return out
}

// newestSeen finds the highest release tag a commit has seen: the tagged commit is
// in its history, or the branch that was merged to make the tagged merge commit is
// (a release branch merged into main and tagged there, then merged back into
// develop: the tag itself is not reachable from develop).
func (r *resolver) newestSeen(at string) (tagInfo, bool, error) {
	var releases []tagInfo
	for _, t := range r.versionTags() {
		if t.v.IsRelease() {
			releases = append(releases, t)
		}
	}
	if len(releases) == 0 {
		if len(r.shallow) > 0 {
			return tagInfo{}, false, &HistoryError{Missing: "tags (a shallow clone usually has none)"}
		}
		return tagInfo{}, false, nil
	}
	// Versions grow with time, so the highest tags are tried first, and usually
	// the first or second is seen. After a few, one walk finds all reachable tags.
	const tries = 6
	head := releases[:min(tries, len(releases))]
	var commits []string
	for _, t := range head {
		if r.repo.HasCommit(r.ctx, t.ref.Commit) {
			commits = append(commits, t.ref.Commit)
		}
	}
	parents, err := r.repo.Parents(r.ctx, commits)
	if err != nil {
		return tagInfo{}, false, err
	}
	for _, t := range head {
		ps, present := parents[t.ref.Commit]
		if !present {
			continue
		}
		candidates := append([]string{t.ref.Commit}, tail(ps)...)
		for _, c := range candidates {
			ok, err := r.repo.IsAncestor(r.ctx, c, at)
			if err != nil {
				return tagInfo{}, false, err
			}
			if ok {
				return t, true, nil
			}
		}
	}
	if len(releases) > tries {
		// Far from the newest tags: one walk of the whole history answers which
		// tags are reachable, and then the distance, without further walks.
		g, err := r.graph(at)
		if err != nil {
			return tagInfo{}, false, err
		}
		for _, t := range releases[tries:] {
			if g.Has(t.ref.Commit) {
				return t, true, nil
			}
		}
	}
	if len(r.shallow) > 0 {
		return tagInfo{}, false, &HistoryError{Missing: "the history back to the newest release tag"}
	}
	return tagInfo{}, false, nil
}

// graph loads, once per tip, the whole history of a commit.
func (r *resolver) graph(tip string) (*gitrepo.Graph, error) {
	if g, ok := r.graphs[tip]; ok {
		return g, nil
	}
	g, err := r.repo.Graph(r.ctx, tip)
	if err != nil {
		return nil, err
	}
	r.graphs[tip] = g
	return g, nil
}

func tail(s []string) []string {
	if len(s) < 2 {
		return nil
	}
	return s[1:]
}

// count counts the commits reachable from tip and not from exclude. In a shallow
// clone it fails when the range reaches the shallow boundary, where the count
// would be too small.
func (r *resolver) count(tip string, exclude ...string) (int, error) {
	if g, ok := r.graphs[tip]; ok {
		if n, ok := g.CountExcluding(exclude...); ok {
			return n, nil
		}
	}
	if len(r.shallow) == 0 {
		n, err := r.repo.Count(r.ctx, tip, exclude...)
		var ge *gitrepo.GitError
		if errors.As(err, &ge) && strings.Contains(ge.Stderr, "bad object") {
			return 0, &HistoryError{Missing: "commits the rules count from (" + strings.TrimSpace(ge.Stderr) + ")"}
		}
		return n, err
	}
	for _, e := range exclude {
		if !r.repo.HasCommit(r.ctx, e) {
			return 0, &HistoryError{Missing: "the history back to commit " + state.ShortSHA(e)}
		}
	}
	list, err := r.repo.RevList(r.ctx, tip, exclude...)
	if err != nil {
		return 0, err
	}
	for _, c := range list {
		if r.shallow[c] {
			return 0, &HistoryError{Missing: "the history between this commit and the one it counts from"}
		}
	}
	return len(list), nil
}

// IsHistory reports whether err means missing history or refs.
func IsHistory(err error) bool {
	var h *HistoryError
	return errors.As(err, &h)
}
