package venv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	pep440 "github.com/aquasecurity/go-pep440-version"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/python/pep508"
)

// localResolver resolves requirements from the wheels of local find_links
// directories (venv.no_index), as pip's resolver does, without starting pip.
//
// It takes for every distribution the newest version whose wheel runs on the
// target and that every requirement met so far accepts. Where the result
// could differ from pip's it gives up and says why, and pip resolves: a
// requirement that rejects a version already taken (pip would backtrack), a
// pre-release pip might take, an sdist pip might build, a direct URL, a wheel
// whose metadata contradicts its name. A resolution it finishes is the one
// pip finds: each version is the newest that all the requirements of the
// result accept (TestLocalResolutionEqualsPip holds it against pip).
type localResolver struct {
	interp  python.Interpreter
	noBuild bool
	// dists are the versions found of each distribution (by normalized
	// name), newest first, each with the wheel the target takes.
	dists map[string][]*localDist
	// sdists are the normalized stems of the sdists found ("foo-bar-1-0").
	sdists []string
}

type localDist struct {
	name    string
	version pep440.Version
	path    string
	meta    *python.Metadata
}

// giveUp is why the local resolver leaves a resolution to pip.
type giveUp string

func (g giveUp) Error() string { return string(g) }

// newLocalResolver lists the find_links directories. Nothing in them is
// read but names until a distribution is needed.
func newLocalResolver(interp python.Interpreter, dirs []string, noBuild bool) (*localResolver, error) {
	r := &localResolver{interp: interp, noBuild: noBuild, dists: map[string][]*localDist{}}
	byVersion := map[string][]string{} // name==version -> wheel paths
	seen := map[string]string{}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, giveUp(fmt.Sprintf("find_links %s cannot be listed: %v", dir, err))
		}
		for _, e := range entries {
			name := e.Name()
			if prev, ok := seen[name]; ok {
				return nil, giveUp(fmt.Sprintf("%s is in %s and in %s", name, prev, dir))
			}
			seen[name] = dir
			switch {
			case strings.HasSuffix(name, ".whl"):
				w, err := python.ParseWheelName(name)
				if err != nil {
					return nil, giveUp(fmt.Sprintf("%s: %v", name, err))
				}
				k := python.Normalize(w.Name) + "==" + w.Version
				byVersion[k] = append(byVersion[k], filepath.Join(dir, name))
			case isSdistName(name):
				r.sdists = append(r.sdists, python.Normalize(strings.ReplaceAll(sdistStem(name), ".", "-")))
			}
		}
	}
	for k, paths := range byVersion {
		name, ver, _ := strings.Cut(k, "==")
		files := make([]string, len(paths))
		for i, p := range paths {
			files[i] = filepath.Base(p)
		}
		choice := interp.ChooseWheel(files)
		if choice.File == "" {
			continue // no wheel of this version runs on the target: pip skips it too
		}
		v, err := pep440.Parse(ver)
		if err != nil || v.Local() != "" {
			return nil, giveUp(fmt.Sprintf("%s has a version (%s) this resolver does not order", choice.File, ver))
		}
		for _, p := range paths {
			if filepath.Base(p) == choice.File {
				r.dists[name] = append(r.dists[name], &localDist{name: name, version: v, path: p})
			}
		}
	}
	for _, ds := range r.dists {
		slices.SortFunc(ds, func(a, b *localDist) int { return b.version.Compare(a.version) })
		for i := 1; i < len(ds); i++ {
			if ds[i].version.Equal(ds[i-1].version) { // 1.0 and 1.0.0: pip's order between them is its own
				return nil, giveUp(fmt.Sprintf("%s has two wheels of version %s", ds[i].name, ds[i].version))
			}
		}
	}
	return r, nil
}

var sdistSuffixes = []string{".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar"}

func isSdistName(name string) bool { return sdistStem(name) != name }

func sdistStem(name string) string {
	for _, s := range sdistSuffixes {
		if stem, ok := strings.CutSuffix(name, s); ok {
			return stem
		}
	}
	return name
}

// pin is a distribution taken, with the extras asked of it.
type pin struct {
	dist   *localDist
	extras []string
}

// request is a requirement met while resolving, and who made it.
type request struct {
	req  pep508.Requirement
	from string
}

// resolve finds the wheel of every distribution the roots need. project, if
// set, is the project's wheel with its extras, taken as it is.
//
// Like pip's resolver (resolvelib), it takes one distribution at a time and
// knows every requirement of those taken before it: the version it takes
// is the newest that all of them accept. A requirement met later that
// would change a version taken is where pip backtracks, and it gives up.
func (r *localResolver) resolve(ctx context.Context, roots []pep508.Requirement, project *localDist, extras []string) ([]*localDist, error) {
	pins := map[string]*pin{}
	var queue []request
	env := r.interp.Markers
	// need queues the requirements of a distribution taken, for its extras.
	need := func(d *localDist, extras []string) error {
		for _, text := range d.meta.RequiresDist {
			q, err := pep508.ParseRequirement(text)
			if err != nil {
				return giveUp(fmt.Sprintf("%s %s: %v", d.name, d.version, err))
			}
			for _, e := range append([]string{""}, extras...) {
				ok, err := q.Applies(env.With("extra", e))
				if err != nil {
					return giveUp(fmt.Sprintf("%s %s: %v", d.name, d.version, err))
				}
				if ok {
					queue = append(queue, request{q, d.name + " " + d.version.String()})
					break
				}
			}
		}
		return nil
	}
	if project != nil {
		provided, err := providedExtras(project, extras)
		if err != nil {
			return nil, err
		}
		pins[project.name] = &pin{dist: project, extras: provided}
		if err := need(project, provided); err != nil {
			return nil, err
		}
	}
	for _, q := range roots {
		if ok, err := q.Applies(env.With("extra", "")); err != nil {
			return nil, giveUp(err.Error())
		} else if ok {
			queue = append(queue, request{q, "the configuration"})
		}
	}
	specs := map[string][]pep508.Specifier{}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		q := queue[0]
		queue = queue[1:]
		if q.req.URL != "" {
			return nil, giveUp(fmt.Sprintf("%s (from %s) names a URL", q.req.Text, q.from))
		}
		name := q.req.Name
		specs[name] = append(specs[name], q.req.Specifier)
		p, taken := pins[name]
		if !taken {
			// Every requirement of what is taken so far counts.
			all := slices.Clone(specs[name])
			for _, o := range queue {
				if o.req.Name == name {
					all = append(all, o.req.Specifier)
				}
			}
			d, err := r.choose(name, all)
			if err != nil {
				return nil, err
			}
			p = &pin{dist: d}
			pins[name] = p
			if err := need(d, nil); err != nil {
				return nil, err
			}
		} else if p.dist != project {
			if d, err := r.choose(name, specs[name]); err != nil || d != p.dist {
				return nil, giveUp(fmt.Sprintf("%s (from %s) would change %s %s, taken before: pip backtracks", q.req.Text, q.from, name, p.dist.version))
			}
		} else if !q.req.Specifier.Contains(p.dist.version.String()) {
			return nil, giveUp(fmt.Sprintf("%s (from %s) rejects the project's version %s", q.req.Text, q.from, p.dist.version))
		}
		provided, err := providedExtras(p.dist, q.req.Extras)
		if err != nil {
			return nil, err
		}
		var added []string
		for _, e := range provided {
			if !slices.Contains(p.extras, e) {
				added = append(added, e)
			}
		}
		if len(added) > 0 {
			p.extras = append(p.extras, added...)
			if err := need(p.dist, added); err != nil {
				return nil, err
			}
		}
	}
	out := make([]*localDist, 0, len(pins))
	for _, p := range pins {
		out = append(out, p.dist)
	}
	slices.SortFunc(out, func(a, b *localDist) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// providedExtras are the extras asked of a distribution that its metadata
// provides; pip ignores the others (with a warning). An extra that matches
// only once both are normalized is pip's to judge.
func providedExtras(d *localDist, asked []string) ([]string, error) {
	var out []string
	for _, e := range asked {
		for _, p := range d.meta.Header["Provides-Extra"] {
			p = strings.TrimSpace(p)
			if p == e {
				out = append(out, e)
				break
			}
			if python.Normalize(p) == e {
				return nil, giveUp(fmt.Sprintf("%s provides the extra %q, asked for as %q", d.name, p, e))
			}
		}
	}
	return out, nil
}

// choose takes the newest version of a distribution that every specifier
// accepts and that runs on the interpreter's Python. Pre-releases count when
// a specifier admits them (packaging's rule), else only when no final release
// fits, which is pip's to decide.
func (r *localResolver) choose(name string, specs []pep508.Specifier) (*localDist, error) {
	if !r.noBuild {
		for _, s := range r.sdists {
			if strings.HasPrefix(s, name+"-") {
				return nil, giveUp(fmt.Sprintf("find_links holds an sdist of %s, which pip may build", name))
			}
		}
	}
	ds := r.dists[name]
	if len(ds) == 0 {
		return nil, giveUp(fmt.Sprintf("find_links holds no wheel of %s for this target", name))
	}
	allowPre := slices.ContainsFunc(specs, prereleaseSpec)
	pre := false
	for _, d := range ds {
		ok := true
		for _, s := range specs {
			ok = ok && s.Contains(d.version.String())
		}
		if !ok {
			continue
		}
		if d.version.IsPreRelease() && !allowPre {
			pre = true
			continue
		}
		if d.meta == nil {
			md, err := python.WheelMetadata(d.path)
			if err != nil {
				return nil, giveUp(err.Error())
			}
			if python.Normalize(md.Name) != name || !versionEqual(md.Version, d.version.String()) {
				return nil, giveUp(fmt.Sprintf("%s says it is %s %s", filepath.Base(d.path), md.Name, md.Version))
			}
			d.meta = &md
		}
		if rp := d.meta.RequiresPython; rp != "" {
			s, err := pep508.ParseSpecifier(rp)
			if err != nil {
				return nil, giveUp(fmt.Sprintf("%s: Requires-Python %q: %v", filepath.Base(d.path), rp, err))
			}
			if !s.Contains(r.interp.Version) {
				continue // pip tries the next older version
			}
		}
		return d, nil
	}
	if pre {
		return nil, giveUp(fmt.Sprintf("only a pre-release of %s fits %s", name, joinSpecs(specs)))
	}
	return nil, giveUp(fmt.Sprintf("no wheel of %s in find_links fits %s", name, joinSpecs(specs)))
}

// prereleaseSpec reports whether a specifier lets pip take pre-releases:
// an inclusive clause (==, >=, <=, ~=) of a pre-release, as packaging's
// Specifier.prereleases says (<2.0a0 does not), or an arbitrary ===.
func prereleaseSpec(s pep508.Specifier) bool {
	for _, clause := range strings.Split(s.String(), ",") {
		clause = strings.TrimSpace(clause)
		if strings.HasPrefix(clause, "===") {
			return true
		}
		op := clause[:len(clause)-len(strings.TrimLeft(clause, "~=!<>"))]
		if op != "==" && op != ">=" && op != "<=" && op != "~=" {
			continue
		}
		v := strings.TrimSuffix(strings.TrimSpace(clause[len(op):]), ".*")
		if pv, err := pep440.Parse(v); err == nil && pv.IsPreRelease() {
			return true
		}
	}
	return false
}

func joinSpecs(specs []pep508.Specifier) string {
	var parts []string
	for _, s := range specs {
		if s.String() != "" {
			parts = append(parts, s.String())
		}
	}
	if len(parts) == 0 {
		return "any version"
	}
	return strings.Join(parts, ",")
}
