package versionstep

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/gopythongo/gopythongo/internal/check"
	"github.com/gopythongo/gopythongo/internal/ci"
	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/gitflow"
	"github.com/gopythongo/gopythongo/internal/scaffold"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/steps"
	"github.com/gopythongo/gopythongo/internal/storeask"
	"github.com/gopythongo/gopythongo/internal/storetype"
	"github.com/gopythongo/gopythongo/internal/versioning"
)

const versionHelp = `
Computes the version of the commit being built from git (or another source) and
the Git Flow branch it is on, and renders it for every consumer: SemVer, PEP 440,
Debian and OCI tag. It writes them to stdout, to the CI's outputs and to the state
file dist/gopythongo.json, which later steps read.

Git Flow, with the standard branch names and no configuration:
  tag v1.2.3, or main at it      1.2.3          (a tag build needs no history)
  release/1.3.0, hotfix/1.2.4    1.3.0-rc.N     (N: the branch's own commits; refused
                                                 once 1.3.0 is released)
  develop                        1.3.0-dev.N    (the minor after the newest release
                                                 anywhere, tags or open release branches;
                                                 N: develop's commits since that release
                                                 branch left it)
  feature/login-page             1.3.0-feature.login-page.N
  pull request 123               1.3.0-pr.123.N (N: its own commits)
  main without a tag             an error, or a post-release (version.main_untagged)
N counts first parents, so merges either way never lower it: every build of a branch
sorts above its earlier builds in SemVer, PEP 440 and Debian order. Dev, feature and
PR builds get +g<10 hex digits of the commit>. For pull requests the head commit of the
source branch is versioned, not the CI's merge commit (on GitHub, GitLab, Jenkins,
Azure, Travis and the others gopythongo-version recognises).

Exit codes: 0 success, 1 failure, 2 bad flags or configuration, 3 the clone lacks
the history or tags needed (the message says how to fetch them on your CI).

Starting a project: --init reads pyproject.toml (name, console scripts, build
backend, test extra), the tests/ or test/ directory, a lock file (uv.lock,
pylock.toml, poetry.lock, requirements with hashes), the git remote and tags and the
CI files present, and writes a commented .gopythongo.yaml that builds the project as
it stands; --ci github|gitlab|jenkins|circleci adds that CI's pipeline file. It never
overwrites a file.

Examples:
  gopythongo-version --init --ci github       start: .gopythongo.yaml and a workflow
  gopythongo-version --check                  configuration, git, CI and the version it would compute
  gopythongo-version                          key=value lines for the current commit
  gopythongo-version --format json --explain  JSON, and how the version came about
  gopythongo-version --fetch                  deepen a shallow CI clone as needed
  gopythongo-version --branch develop         name the branch of a detached HEAD
  gopythongo-version --revision-from apt      next free package revision in store apt
  gopythongo-version --source pyproject --scheme none
`

// Version is the gopythongo-version command; ask makes how the step asks
// the store of version.revision_from what it holds (AskPublish in the
// binary, which does not link the stores).
func Version(ask func(s *cli.Session) storeask.Existing) cli.Step {
	var o versionFlags
	return cli.Step{
		Name:    "gopythongo-version",
		Summary: "compute the version of this build, four ways",
		Help:    versionHelp,
		Keys: []cli.KeyFlag{
			{Flag: "source", Path: "version.source"},
			{Flag: "scheme", Path: "version.scheme"},
			{Flag: "revision", Path: "version.revision"},
			{Flag: "revision-from", Path: "version.revision_from"},
			{Flag: "fetch", Path: "version.fetch"},
			{Flag: "dirty", Path: "version.dirty"},
		},
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&o.format, "format", "text", "output format: text (key=value lines) or json")
			fs.BoolVar(&o.explain, "explain", false, "print how the version was computed (at most 20 lines, to stderr)")
			fs.StringVar(&o.branch, "branch", "", "the branch being built, instead of what the CI or git says")
			fs.StringVar(&o.tag, "tag", "", "the tag being built, instead of what the CI says")
			fs.IntVar(&o.pr, "pr", 0, "the pull request number being built")
			fs.StringVar(&o.prTarget, "pr-target", "", "the pull request's target branch")
			fs.BoolVar(&o.init, "init", false, "start a project: read pyproject.toml, its tests, lock files, git remote and tags, and write a commented .gopythongo.yaml that builds it as it stands (never overwriting a file), then exit")
			fs.StringVar(&o.ci, "ci", "", "with --init, also write the pipeline file of this CI: "+strings.Join(scaffold.CIKinds(), ", "))
			fs.StringVar(&o.artifact, "artifact-sha256", "", "sha256 of an artifact already built for this commit (for --revision-from)")
		},
		Section: "version",
		Checks:  steps.ConfigChecks(),
		Outputs: []cli.Output{
			{Name: "semver", Doc: "the SemVer rendering, e.g. 1.3.0-dev.42+g1a2b3c4d5e"},
			{Name: "pep440", Doc: "the PEP 440 rendering, e.g. 1.3.0.dev42+g1a2b3c4d5e"},
			{Name: "debian", Doc: "the Debian rendering with revision, e.g. 1.3.0~dev42+g1a2b3c4d5e-1"},
			{Name: "oci_tag", Doc: "the OCI tag rendering, e.g. 1.3.0-dev.42_g1a2b3c4d5e"},
			{Name: "channel", Doc: "release, rc, dev, feature, pr or post"},
			{Name: "sha", Doc: "the commit versioned (for pull requests the head commit)"},
			{Name: "base", Doc: "the version the Git Flow rule started from"},
			{Name: "distance", Doc: "the commits the rule counted"},
		},
		Before: func(ctx context.Context, stdout, stderr io.Writer) (bool, error) {
			if !o.init {
				if o.ci != "" {
					return false, config.Usagef("--ci names the CI file that --init writes: give --init too")
				}
				return false, nil
			}
			wd, err := os.Getwd()
			if err != nil {
				return true, err
			}
			return true, initProject(wd, o.ci, stderr)
		},
		Check: func(ctx context.Context, s *cli.Session) []check.Finding {
			return versionCheck(ctx, s, o.env(s.Env), o.artifact, ask(s))
		},
		Run: func(ctx context.Context, s *cli.Session) error {
			if o.format != "text" && o.format != "json" {
				return config.Usagef("--format %q: valid formats are text and json", o.format)
			}
			env := o.env(s.Env)
			ph := s.Log.Phase("version")
			defer ph.End()
			res, err := versioning.Run(ctx, versioning.Request{Config: s.Config, Env: env, Lookup: s.Lookup, Artifact: o.artifact, Existing: ask(s)})
			var mh *versioning.MissingHistoryError
			switch {
			case errors.As(err, &mh):
				return cli.Fail(cli.ExitHistory, err)
			case errors.As(err, new(*gitflow.UsageError)):
				return cli.Fail(cli.ExitFailure, err)
			case err != nil:
				return err
			}
			for _, w := range res.Warnings {
				s.Log.Warnf("%s", w)
				s.Reporter.Annotate(ci.Annotation{Level: ci.LevelWarning, Title: "gopythongo-version", Message: w})
			}
			if o.explain {
				for _, l := range res.Explain {
					s.Log.Printf("%s", l)
				}
			}
			out := cli.Outcome{
				State:   &state.State{Commit: res.Commit, Version: res.State()},
				Outputs: versionOutputs(res),
				Summary: versionSummary(res),
			}
			if o.format == "json" {
				out.Print = func(w io.Writer, outputs []cli.Value) error {
					m := map[string]any{}
					for _, v := range outputs {
						m[v.Name] = v.Value
					}
					m["distance"], m["revision"] = res.Distance, max(res.Version.Revision, 1)
					b, _ := json.MarshalIndent(m, "", "  ")
					_, err := fmt.Fprintln(w, string(b))
					return err
				}
			}
			if err := s.Finish(out); err != nil {
				return err
			}
			ph.Done(fmt.Sprintf("%s (%s)", res.Version.SemVer(), res.Version.Channel()))
			return nil
		},
	}
}

type versionFlags struct {
	format, branch, tag, prTarget, artifact, ci string
	pr                                          int
	explain, init                               bool
}

// env is what the CI says, with what the flags say instead.
func (o versionFlags) env(env ci.Env) ci.Env {
	if o.branch != "" {
		env.Branch, env.Tag = o.branch, ""
	}
	if o.tag != "" {
		env.Tag = o.tag
	}
	if o.pr > 0 {
		env.PR, env.PRSource = o.pr, env.Branch
	}
	if o.prTarget != "" {
		env.PRTarget = o.prTarget
	}
	return env
}

// versionCheck computes the version as the step would, without deepening a
// shallow clone (version.fetch is reported instead), and checks the store
// of version.revision_from.
func versionCheck(ctx context.Context, s *cli.Session, env ci.Env, artifact string, existing storeask.Existing) []check.Finding {
	c := *s.Config
	c.Version.Fetch = false
	var fs []check.Finding
	if sc, ok := c.Store(c.Version.RevisionFrom); ok {
		fs = append(fs, storetype.Secrets(sc, s.Getenv)...)
		if check.Problems(fs) > 0 {
			return fs
		}
	} // the version below asks the store as the step would
	res, err := versioning.Run(ctx, versioning.Request{Config: &c, Env: env, Lookup: s.Lookup, Artifact: artifact, Existing: existing})
	var mh *versioning.MissingHistoryError
	switch {
	case errors.As(err, &mh) && s.Config.Version.Fetch:
		return append(fs, check.Notef("version", "the clone lacks the history or tags needed; version.fetch deepens it when the step runs"))
	case err != nil:
		return append(fs, check.Bad("version", err))
	}
	for _, w := range res.Warnings {
		fs = append(fs, check.Notef("version", "%s", w))
	}
	return append(fs, check.Good("version", "would be %s (%s) of commit %s: %s", res.Version.SemVer(), res.Version.Channel(), state.ShortSHA(res.Commit.SHA), res.Rule))
}

// versionOutputs are the results every CI gets, in a fixed order.
func versionOutputs(r *versioning.Result) []cli.Value {
	rd := r.Version.Render()
	return []cli.Value{
		{Name: "semver", Value: rd.SemVer},
		{Name: "pep440", Value: rd.PEP440},
		{Name: "debian", Value: rd.Debian},
		{Name: "oci_tag", Value: rd.OCITag},
		{Name: "channel", Value: string(r.Version.Channel())},
		{Name: "sha", Value: r.Commit.SHA},
		{Name: "base", Value: r.Base.SemVer()},
		{Name: "distance", Value: strconv.Itoa(r.Distance)},
	}
}

// versionSummary is the Markdown for the CI's job summary.
func versionSummary(r *versioning.Result) string {
	rd := r.Version.Render()
	var b strings.Builder
	fmt.Fprintf(&b, "### Version %s\n\n| format | version |\n| --- | --- |\n", rd.SemVer)
	fmt.Fprintf(&b, "| SemVer | `%s` |\n| PEP 440 | `%s` |\n| Debian | `%s` |\n| OCI tag | `%s` |\n", rd.SemVer, rd.PEP440, rd.Debian, rd.OCITag)
	fmt.Fprintf(&b, "\nChannel **%s**, commit `%s`. %s.\n", r.Version.Channel(), r.Commit.SHA, r.Rule)
	return b.String()
}

// AskPublish asks the store through gopythongo-publish, installed beside
// this step, with this binary's build (read when a store is asked: most
// runs ask none), its messages on the step's.
func AskPublish(s *cli.Session) storeask.Existing {
	return func(ctx context.Context, sc config.StoreConfig, dir, pkg string) ([]storetype.Release, error) {
		return storeask.Process(cli.Build(), s.Stdout, s.Log.Writer())(ctx, sc, dir, pkg)
	}
}
