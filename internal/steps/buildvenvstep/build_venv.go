package buildvenvstep

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gopythongo/gopythongo/internal/check"
	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/steps"
	"github.com/gopythongo/gopythongo/internal/ui"
	"github.com/gopythongo/gopythongo/internal/venv"
)

const buildVenvHelp = `
Builds the project's virtual environment at its deploy path (project.deploy_path,
e.g. /opt/hello), so that nothing in it ever needs rewriting: shebangs, pyvenv.cfg,
RECORD and the co_filename of every .pyc name the deploy path. The result is the
staging tree dist/root/, which mirrors the target file system
(dist/root/opt/hello/bin/python), for gopythongo-package.

Builders (venv.builder):
  host       an interpreter of this machine, in a private mount namespace where the
             staging directory is mounted at the deploy path: the machine's own
             deploy path is never written. Needs root, or unprivileged user
             namespaces.
  chroot     a Debian or Ubuntu root (venv.chroot: distribution, architecture,
             mirror, install, run_after_create), made once with mmdebstrap (or
             debootstrap) and cached as a tarball keyed by its inputs; each build
             mounts an overlay of it, with the staging directory at the deploy path
             and the project, wheel cache and find-links read-only, in a private
             mount namespace. Needs root.
  container  a build image (venv.container.image, or built from
             venv.container.dockerfile) run with docker or podman: the staging
             directory mounted at the deploy path, the project and caches
             read-only; the container is removed after the build, also on failure.
The venv's interpreter is the target's. Compiled code is stripped of debug symbols
(venv.strip_debug) and the packages of the shared libraries it links become the
package's Depends, as dpkg-shlibdeps computes them. An interrupt (SIGINT, SIGTERM)
stops every command of the build and removes its containers and directories.

pip runs from this machine against the venv's interpreter and never reads user
configuration or PIP_* variables; index settings come from venv.* alone. Wheels
built from the project or from sdists, and every resolution, are kept in a
content-addressed cache (venv.cache_dir) that CI can persist: a second build of
unchanged inputs builds no wheel and asks no index anything, and takes the finished
tree from the cache. After an app-only change (a new commit, the same
dependencies) the build goes on from the cached tree of those dependencies: only
the project's wheel is installed and compiled, and the tree is the one a build
without a cache makes.

After the build, a check fails it if any file names the build directory, the
workspace or the cache; every time stamp is SOURCE_DATE_EPOCH (default: the commit
time), so two builds of the same inputs give identical trees. The tree is built in
a temporary directory and moved to dist/root only when everything succeeded (an
app-only change may take dist/root itself, when it is the cached tree as the last
build left it: a build that then fails leaves no dist/root).

The project is built with the version of the state file (PEP 440): written into
the build's copy of pyproject.toml, or given to setuptools-scm, hatch-vcs and
pdm-backend through their variables (venv.set_version). For a library, --dist-only
(or venv.dists alongside the venv) writes the project's wheel and a reproducible
sdist to dist/python/, for the pypi and pypi-dir stores of gopythongo-publish.

Needs the state file of gopythongo-version (dist/gopythongo.json).

Examples:
  gopythongo-build-venv
  gopythongo-build-venv --python /usr/bin/python3.11 --verbose
  gopythongo-build-venv --builder chroot --set venv.chroot.distribution=bookworm \
      --set venv.chroot.install=python3,python3-venv,python3-dev,gcc,libpq-dev
  gopythongo-build-venv --builder container --set venv.container.image=python:3.11-slim
  gopythongo-build-venv --set venv.no_index=true --set venv.find_links=wheels
  gopythongo-build-venv --no-cache        re-resolve, ignoring the cache's records
  gopythongo-build-venv --dist-only       a library: wheel and sdist in dist/python
  gopythongo-build-venv --set venv.index_url=file:///srv/pypi/simple
                                          install libraries from a pypi-dir store
`

// BuildVenv is the gopythongo-build-venv command.
func BuildVenv() cli.Step {
	var o struct{ noCache, verbose, distOnly bool }
	return cli.Step{
		Name:    "gopythongo-build-venv",
		Summary: "build the virtual environment where it will live",
		Help:    buildVenvHelp,
		Keys: []cli.KeyFlag{
			{Flag: "builder", Path: "venv.builder"},
			{Flag: "python", Path: "project.python"},
			{Flag: "deploy-path", Path: "project.deploy_path"},
			{Flag: "cache-dir", Path: "venv.cache_dir"},
			{Flag: "dists", Path: "venv.dists"},
		},
		Flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&o.noCache, "no-cache", false, "ignore the wheel cache's records (resolve and build again)")
			fs.BoolVar(&o.verbose, "verbose", false, "show pip's output (otherwise shown only when it fails)")
			fs.BoolVar(&o.distOnly, "dist-only", false, "build only the project's wheel and sdist into dist/python (a library build), no venv")
		},
		Section: "venv",
		Checks:  steps.ConfigChecks(),
		Outputs: []cli.Output{
			{Name: "venv_root", Doc: "the staging tree, dist/root"},
			{Name: "deploy_path", Doc: "where the venv lives on the target, e.g. /opt/hello"},
			{Name: "python_version", Doc: "the venv's interpreter version"},
			{Name: "venv_digest", Doc: "the digest of the built tree"},
			{Name: "wheel", Doc: "the project's wheel in dist/python (--dist-only, venv.dists)"},
			{Name: "sdist", Doc: "the project's sdist in dist/python (--dist-only, venv.dists)"},
		},
		Check: func(ctx context.Context, s *cli.Session) []check.Finding {
			f, _ := steps.StateFinding(s, func(st *state.State) string {
				if st.Version == nil {
					return "it records no version yet: gopythongo-version writes it"
				}
				return ""
			})
			return append([]check.Finding{f}, venv.Check(ctx, s.Config, false, s.Getenv)...)
		},
		Run: func(ctx context.Context, s *cli.Session) error {
			st, epoch, err := s.Begin()
			if err != nil {
				return err
			}
			opts := venv.Options{Config: s.Config, Epoch: epoch, Getenv: s.Getenv, Log: s.Log, Output: s.Log.Writer(), Verbose: o.verbose, NoCache: o.noCache}
			if st.Version != nil {
				opts.Version = st.Version.PEP440
			}
			build := venv.Build
			if o.distOnly {
				build = venv.BuildDists
			}
			res, err := build(ctx, opts)
			if err != nil {
				return err
			}
			for _, sec := range res.Secrets {
				s.Reporter.Mask(sec)
			}
			out := cli.Outcome{State: st}
			if !o.distOnly {
				st.Venv = &res.Venv
				out.Outputs = []cli.Value{
					{Name: "venv_root", Value: res.Venv.Root},
					{Name: "deploy_path", Value: res.Venv.DeployPath},
					{Name: "python_version", Value: res.Venv.Interpreter.Version},
					{Name: "venv_digest", Value: res.Venv.Digest},
				}
				out.Summary = venvSummary(res)
			}
			if o.distOnly || s.Config.Venv.Dists {
				st.SetArtifacts(func(f state.Format) bool { return f == state.FormatWheel || f == state.FormatSdist }, res.Dists)
				for _, a := range res.Dists {
					out.Outputs = append(out.Outputs, cli.Value{Name: string(a.Format), Value: steps.DistPath(s, a.Path)})
				}
			}
			if err := s.Finish(out); err != nil {
				return err
			}
			if o.distOnly {
				s.Log.Printf("built %d distribution(s) of version %s in %s", len(res.Dists), opts.Version, filepath.Join(s.Config.Project.Dist, venv.DistDir))
				return nil
			}
			s.Log.Printf("built %s: %d distributions, %d files, %s (%s)", res.Venv.DeployPath, len(res.Venv.Distributions), res.Venv.Files, ui.Size(res.Venv.Size), cacheNote(res))
			return nil
		},
	}
}

func cacheNote(res *venv.Result) string {
	switch {
	case res.TreeCached:
		return "the whole tree from the cache"
	case res.FromBase:
		return "the dependencies' tree from the cache, the project installed into it"
	case res.ResolutionCached:
		return "all wheels from the cache"
	case res.ProjectCached:
		return "project wheel from the cache"
	}
	return "cache filled"
}

func venvSummary(res *venv.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Virtual environment %s\n\n%s %s, %d files, %s. Tree digest `%s`.\n\n| distribution | version | license |\n| --- | --- | --- |\n",
		res.Venv.DeployPath, res.Venv.Interpreter.Implementation, res.Venv.Interpreter.Version, res.Venv.Files, ui.Size(res.Venv.Size), res.Venv.Digest[:16])
	for _, d := range res.Venv.Distributions {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", d.Name, d.Version, d.License)
	}
	return b.String()
}
