package gitflow

import (
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/version"
)

// A branch's line is its first parents, newest first. Merges into a branch
// add one commit to its line and change nothing below, and merges of the
// branch elsewhere (with a merge commit, as git flow and pull requests make)
// do not change it at all: so a count along a line only grows as the branch
// moves on, whatever is merged in either direction. The rules count along
// lines for that reason; counting reachable commits against another branch
// restarts when that branch merges this one.
type line struct {
	commits  []string
	index    map[string]int
	complete bool
}

// line is the line of a commit, read as far as it has been needed.
func (r *resolver) line(tip string) *line {
	if l, ok := r.lines[tip]; ok {
		return l
	}
	l := &line{commits: []string{tip}, index: map[string]int{tip: 0}}
	r.lines[tip] = l
	return l
}

// extend reads more of a line: twice what it holds, at least 64 commits,
// and past 512 all of it in one go (git's one walk is cheaper than several).
func (r *resolver) extend(l *line) error {
	if l.complete {
		return nil
	}
	last := l.commits[len(l.commits)-1]
	limit := max(64, len(l.commits)) + 1
	if len(l.commits) >= 512 {
		limit = 0
	}
	more, complete, err := r.repo.FirstParents(r.ctx, last, limit)
	if err != nil {
		return err
	}
	for i, c := range more {
		if i == 0 {
			continue // last, which the line holds
		}
		l.index[c] = len(l.commits)
		l.commits = append(l.commits, c)
	}
	l.complete = complete || limit == 0 || len(more) <= 1
	return nil
}

// all reads the whole line.
func (r *resolver) all(l *line) error {
	for !l.complete {
		if err := r.extend(l); err != nil {
			return err
		}
	}
	return nil
}

// cut is what a line lacks when it ends at a shallow clone's boundary.
func (r *resolver) cut(l *line) error {
	if n := len(l.commits); n > 0 && r.shallow[l.commits[n-1]] {
		return &HistoryError{Missing: "the history between this commit and where its branch left the branch it is counted against"}
	}
	return nil
}

// meet finds where line a joins line b: the first commit of a that is on b
// (below it the two are the same line), with its place on each. Both lines
// are read only as far as that.
func (r *resolver) meet(a, b *line) (ia, ib int, ok bool, err error) {
	for {
		// The first commit of a found on the part of b read so far is the
		// meeting: an earlier one of a on b's unread part would put this one
		// below it on b, that is unread too.
		for i, c := range a.commits {
			if j, on := b.index[c]; on {
				return i, j, true, nil
			}
		}
		if a.complete && b.complete {
			// No meeting: the caller reads what it needs of the lines. A
			// line cut by a shallow clone may meet the other below the cut.
			if err := r.cut(a); err != nil {
				return 0, 0, false, err
			}
			return 0, 0, false, r.cut(b)
		}
		if err := r.extendBoth(a, b); err != nil {
			return 0, 0, false, err
		}
	}
}

// extendBoth reads more of both lines. When each is to be read whole by a
// git process of its own (both past 512 commits), the two run at once, a
// core each: two long lines that meet far down, or never, then take one
// walk's time instead of two.
func (r *resolver) extendBoth(a, b *line) error {
	if a.complete || b.complete || len(a.commits) < 512 || len(b.commits) < 512 {
		if err := r.extend(a); err != nil {
			return err
		}
		return r.extend(b)
	}
	var g errgroup.Group
	g.Go(func() error { return r.extend(a) })
	g.Go(func() error { return r.extend(b) })
	return g.Wait()
}

// own counts tip's own commits against base: the commits of tip's line
// before the first that is on base's line (the fork), all of tip's line
// when they never meet.
func (r *resolver) own(tip, base string) (int, error) {
	n, _, met, err := r.meet(r.line(tip), r.line(base))
	if err != nil || met {
		return n, err
	}
	l := r.line(tip)
	if err := r.all(l); err != nil {
		return 0, err
	}
	return len(l.commits), r.cut(l)
}

// since counts the commits of tip's line after anchor, or the whole line
// when the anchor is not on it.
func (r *resolver) since(tip, anchor string) (int, error) {
	l := r.line(tip)
	for {
		if i, ok := l.index[anchor]; ok && anchor != "" {
			return i, nil
		}
		if l.complete {
			return len(l.commits), r.cut(l)
		}
		if err := r.extend(l); err != nil {
			return 0, err
		}
	}
}

// developTarget is the version develop works on at commit at: the minor after
// the newest release of the whole repository (a tag anywhere, reachable or
// not, or an open release branch), or a pre-release tag on develop's line
// that is beyond it. anchor is where develop's count starts: where the release
// branch of that minor left develop's line (the oldest such place, so that a
// deleted branch or a new tag of the minor never moves it later), "" for
// develop's whole line.
func (r *resolver) developTarget(at string) (target version.Version, anchor, why string, err error) {
	if f := r.req.Fixed; f != nil {
		return f.Core(), "", "the version source says " + f.Core().SemVer(), nil
	}
	type candidate struct {
		v      version.Version
		tag    *tagInfo // a release tag, or
		branch string   // the tip of an open release branch
		name   string
	}
	var cands []candidate
	tags := r.versionTags()
	for i, t := range tags {
		if t.v.IsRelease() {
			cands = append(cands, candidate{v: t.v.Core(), tag: &tags[i], name: "tag " + t.ref.ShortName()})
		}
	}
	bs, err := r.branches()
	if err != nil {
		return version.Version{}, "", "", err
	}
	for _, ref := range bs {
		if ref.IsTag() {
			continue
		}
		role, capture := r.req.Patterns.Classify(ref.ShortName())
		if role != RoleRelease {
			continue
		}
		if v, err := version.ParseTag(capture); err == nil {
			cands = append(cands, candidate{v: v.Core(), branch: ref.Commit, name: "the release branch " + ref.ShortName()})
		}
	}
	if len(cands) == 0 {
		target, why = r.req.Initial.Core(), fmt.Sprintf("no release yet, so the initial version %s", r.req.Initial.Core().SemVer())
	} else {
		top := cands[0]
		for _, c := range cands[1:] {
			if version.Compare(c.v, top.v) > 0 {
				top = c
			}
		}
		target, _ = version.Bump(top.v, version.PartMinor)
		why = fmt.Sprintf("the minor after %s, the newest release of the repository", top.name)
		// Where the minor's release branch left develop: from the branch, or,
		// once it is finished, from the tag (the merge's other parent when it
		// was merged into main, the tag itself when tagged on the branch).
		// Patch releases of the minor are hotfixes, which left main, not
		// develop: they do not move it.
		var starts []string
		for _, c := range cands {
			if c.v.Epoch != top.v.Epoch || c.v.Major != top.v.Major || c.v.Minor != top.v.Minor {
				continue
			}
			switch {
			case c.branch != "":
				starts = append(starts, c.branch)
			case c.v.Patch == 0:
				ps, err := r.repo.Parents(r.ctx, []string{c.tag.ref.Commit})
				if err != nil {
					return version.Version{}, "", "", err
				}
				if p := ps[c.tag.ref.Commit]; len(p) > 1 {
					starts = append(starts, p[1:]...)
				} else {
					starts = append(starts, c.tag.ref.Commit)
				}
			}
		}
		// The oldest of the forks, so that a deleted branch or a new tag of
		// the minor never moves the anchor later (which would lower N).
		al := r.line(at)
		oldest, whole := -1, false
		for _, st := range starts {
			_, i, met, err := r.meet(r.line(st), al)
			if err != nil {
				return version.Version{}, "", "", err
			}
			if !met {
				whole = true // no common line: count all of develop's
			}
			oldest = max(oldest, i)
		}
		if oldest >= 0 && !whole {
			anchor = al.commits[oldest]
		}
	}
	// A pre-release tag on develop's line beyond the target moves it there.
	// One of the target itself cannot be followed: its dev builds would sort
	// below it (1.3.0.dev5 < 1.3.0b1 in PEP 440; 1.3.0-dev.5 < 1.3.0-rc.1
	// everywhere), so it is refused with what to do instead.
	var same []tagInfo
	for _, t := range r.versionTags() {
		if t.v.IsRelease() || t.v.Pre == nil || version.Compare(t.v.Core(), target) < 0 {
			continue
		}
		_, on, err := r.onLine(at, t.ref.Commit)
		if err != nil {
			return version.Version{}, "", "", err
		}
		switch {
		case !on:
		case version.Compare(t.v.Core(), target) > 0:
			target, anchor, why = t.v.Core(), t.ref.Commit, "the pre-release tag "+t.ref.ShortName()+" on develop"
		case t.v.Pre.Label != version.LabelDev:
			same = append(same, t)
		}
	}
	var names []string
	for _, t := range same {
		if version.Compare(t.v.Core(), target) == 0 {
			names = append(names, t.ref.ShortName())
		}
	}
	if len(names) > 0 {
		return version.Version{}, "", "", &UsageError{Msg: fmt.Sprintf("develop reaches the tag %s, a pre-release of %s, the version it works on: its builds (%s-dev.N) would sort below the tag in PEP 440 (and below an rc in every order). Tag pre-releases on the release branch (release/%s), or tag a version beyond develop's", strings.Join(names, ", "), target.SemVer(), target.SemVer(), target.SemVer())}
	}
	return target, anchor, why, nil
}

// onLine says whether c is on tip's line, and where.
func (r *resolver) onLine(tip, c string) (int, bool, error) {
	l := r.line(tip)
	for {
		if i, ok := l.index[c]; ok {
			return i, true, nil
		}
		if l.complete {
			return 0, false, nil
		}
		if err := r.extend(l); err != nil {
			return 0, false, err
		}
	}
}

// sinceRC lifts a release branch's count above every pre-release tag of its
// version on its line: after v1.3.0-rc.7, the next commit is at least rc.8.
func (r *resolver) sinceRC(v version.Version, n int) (int, error) {
	for _, t := range r.versionTags() {
		if t.v.Pre == nil || t.v.Pre.Label != version.LabelRC || version.Compare(t.v.Core(), v) != 0 {
			continue
		}
		i, on, err := r.onLine(r.req.SHA, t.ref.Commit)
		if err != nil {
			return 0, err
		}
		if on {
			n = max(n, int(t.v.Pre.Number)+i)
		}
	}
	return n, nil
}

func short(sha string) string {
	if sha == "" {
		return "the first commit"
	}
	return "commit " + state.ShortSHA(sha)
}
