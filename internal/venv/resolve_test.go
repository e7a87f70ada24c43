package venv

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/python/pep508"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

// pipResolution is what pip (Debian's, the reference) would install for the
// requirements from find_links alone: name==version of each, and whether
// it resolved at all.
func pipResolution(t *testing.T, links []string, reqs []string, noBuild bool) ([]string, bool) {
	t.Helper()
	report := filepath.Join(t.TempDir(), "report.json")
	args := []string{"-m", "pip", "install", "-q", "--dry-run", "--ignore-installed", "--no-index", "--report", report}
	if noBuild {
		args = append(args, "--only-binary", ":all:")
	}
	for _, l := range links {
		args = append(args, "--find-links", l)
	}
	cmd := exec.Command(testutil.DebianPython, append(args, reqs...)...)
	cmd.Env = testutil.CleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("pip: %v\n%s", err, tail(string(out), 5))
		return nil, false
	}
	data, err := os.ReadFile(report)
	require.NoError(t, err)
	var r struct {
		Install []struct {
			Metadata struct{ Name, Version string }
		}
	}
	require.NoError(t, json.Unmarshal(data, &r))
	var out []string
	for _, i := range r.Install {
		out = append(out, python.Normalize(i.Metadata.Name)+"=="+i.Metadata.Version)
	}
	slices.Sort(out)
	return out, true
}

// localResolution is the local resolver's answer, or why it gave up.
func localResolution(t *testing.T, in python.Interpreter, links []string, reqs []string, noBuild bool) ([]string, string) {
	t.Helper()
	var roots []pep508.Requirement
	for _, s := range reqs {
		r, err := pep508.ParseRequirement(s)
		require.NoError(t, err)
		roots = append(roots, r)
	}
	r, err := newLocalResolver(in, links, noBuild)
	var why giveUp
	if errors.As(err, &why) {
		return nil, string(why)
	}
	require.NoError(t, err)
	dists, err := r.resolve(t.Context(), roots, nil, nil)
	if errors.As(err, &why) {
		return nil, string(why)
	}
	require.NoError(t, err)
	var out []string
	for _, d := range dists {
		out = append(out, d.name+"=="+d.meta.Version)
	}
	slices.Sort(out)
	return out, ""
}

// TestLocalResolutionEqualsPipOnTheCorpus resolves every distribution the
// corpus was made from, and the dependencies of its three applications,
// and requires pip's answer, distribution for distribution.
func TestLocalResolutionEqualsPipOnTheCorpus(t *testing.T) {
	t.Parallel()
	in, err := python.Probe(t.Context(), nil, testutil.DebianPython)
	require.NoError(t, err)
	links := []string{testutil.Corpus(t)}
	sets := map[string][]string{"top.in": topLevel(t)}
	apps, _ := filepath.Glob(filepath.Join(testutil.RepoRoot(), "tools", "corpus", "apps", "*", "pyproject.toml"))
	require.Len(t, apps, 3)
	for _, a := range apps {
		var deps []string
		for _, d := range projectDependencies(t, a) {
			// The corpus has psycopg2 as an sdist only, which no_build
			// refuses; its binary wheel stands in.
			deps = append(deps, strings.Replace(d, "psycopg2>", "psycopg2-binary>", 1))
		}
		sets[filepath.Base(filepath.Dir(a))] = deps
	}
	total := 0
	for name, reqs := range sets {
		want, ok := pipResolution(t, links, reqs, true)
		require.True(t, ok, "pip resolves %s from the corpus", name)
		got, why := localResolution(t, in, links, reqs, true)
		require.Empty(t, why, "%s: the local resolver gave up", name)
		assert.Equal(t, want, got, name)
		total += len(got)
	}
	require.Greater(t, total, 250, "the sets resolve to a realistic number of distributions")
	t.Logf("%d sets, %d distributions resolved as pip resolves them", len(sets), total)
}

// topLevel reads tools/corpus/top.in: one requirement a line.
func topLevel(t *testing.T) []string {
	f, err := os.Open(filepath.Join(testutil.RepoRoot(), "tools", "corpus", "top.in"))
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(strings.SplitN(sc.Text(), "#", 2)[0]); l != "" {
			out = append(out, l)
		}
	}
	require.Greater(t, len(out), 150)
	return out
}

func projectDependencies(t *testing.T, pyproject string) []string {
	data, err := os.ReadFile(pyproject)
	require.NoError(t, err)
	var deps []string
	in := false
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "dependencies"):
			in = true
		case in && strings.HasPrefix(l, "]"):
			in = false
		case in && strings.HasPrefix(l, `"`):
			deps = append(deps, strings.Trim(strings.TrimSuffix(l, ","), `"`))
		}
	}
	require.NotEmpty(t, deps, pyproject)
	return deps
}

// fakeDist is a wheel for the resolver cases: name, version and metadata.
type fakeDist struct {
	name, version, requiresPython string
	requires, extras              []string
	tag                           string
	files                         map[string]string // more members, by name
}

func writeFakeWheel(t *testing.T, dir string, d fakeDist) {
	t.Helper()
	tag := d.tag
	if tag == "" {
		tag = "py3-none-any"
	}
	mod := strings.ReplaceAll(d.name, "-", "_")
	info := fmt.Sprintf("%s-%s.dist-info", mod, d.version)
	meta := fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", d.name, d.version)
	if d.requiresPython != "" {
		meta += "Requires-Python: " + d.requiresPython + "\n"
	}
	for _, e := range d.extras {
		meta += "Provides-Extra: " + e + "\n"
	}
	for _, r := range d.requires {
		meta += "Requires-Dist: " + r + "\n"
	}
	files := map[string]string{
		mod + "/__init__.py": "",
		info + "/METADATA":   meta,
		info + "/WHEEL":      "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: " + tag + "\n",
	}
	var record strings.Builder
	names := []string{mod + "/__init__.py", info + "/METADATA", info + "/WHEEL"}
	for n, data := range d.files {
		files[n] = data
		names = append(names, n)
	}
	for _, n := range names {
		fmt.Fprintf(&record, "%s,%s,%d\n", n, python.RecordHash([]byte(files[n])), len(files[n]))
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", info)
	files[info+"/RECORD"] = record.String()
	names = append(names, info+"/RECORD")
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%s-%s.whl", mod, d.version, tag)))
	require.NoError(t, err)
	zw := zip.NewWriter(f)
	for _, n := range names {
		w, err := zw.Create(n)
		require.NoError(t, err)
		_, err = w.Write([]byte(files[n]))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
}

// TestLocalResolverAgreesWithPipOrGivesUp builds small wheelhouses with
// several versions of each distribution. Wherever the local resolver
// answers, its answer is pip's; where pip would have to backtrack or might
// take a pre-release or build an sdist, it gives up and says why.
func TestLocalResolverAgreesWithPipOrGivesUp(t *testing.T) {
	t.Parallel()
	in, err := python.Probe(t.Context(), nil, testutil.DebianPython)
	require.NoError(t, err)
	cases := []struct {
		name   string
		dists  []fakeDist
		sdists []string
		reqs   []string
		giveUp string // "" when the resolver must answer
	}{
		{name: "the newest version", reqs: []string{"app"},
			dists: []fakeDist{{name: "app", version: "1.0"}, {name: "app", version: "1.10"}, {name: "app", version: "1.9"}}},
		{name: "specifiers and a dependency's own", reqs: []string{"app<2", "lib"},
			dists: []fakeDist{{name: "app", version: "1.5", requires: []string{"lib>=1.1,!=1.3"}}, {name: "app", version: "2.0"},
				{name: "lib", version: "1.0"}, {name: "lib", version: "1.2"}, {name: "lib", version: "1.3"}}},
		{name: "extras and markers", reqs: []string{"app[fast]"},
			dists: []fakeDist{{name: "app", version: "1.0", extras: []string{"fast", "slow"}, requires: []string{"speed; extra == 'fast'", "slow; extra == 'slow'", "old; python_version < '3'", "new; python_version >= '3.8'"}},
				{name: "speed", version: "1.0"}, {name: "slow", version: "1.0"}, {name: "old", version: "1.0"}, {name: "new", version: "1.0"}}},
		{name: "an extra asked later", reqs: []string{"app", "tool"},
			dists: []fakeDist{{name: "app", version: "1.0", extras: []string{"fast"}, requires: []string{"speed; extra == 'fast'"}}, {name: "tool", version: "1.0", requires: []string{"app[fast]>=1"}},
				{name: "speed", version: "2.0"}}},
		{name: "an extra the distribution does not provide", reqs: []string{"app[fast]"},
			dists: []fakeDist{{name: "app", version: "1.0", requires: []string{"speed; extra == 'fast'"}}, {name: "speed", version: "2.0"}}},
		{name: "a requirement met after the choice", reqs: []string{"lib", "app"}, giveUp: "pip backtracks",
			dists: []fakeDist{{name: "app", version: "1.0", requires: []string{"lib<2"}}, {name: "lib", version: "1.0"}, {name: "lib", version: "2.0"}}},
		{name: "a pre-release newer than the final release", reqs: []string{"app"},
			dists: []fakeDist{{name: "app", version: "1.0"}, {name: "app", version: "2.0b1"}, {name: "app", version: "2.0.dev3"}}},
		{name: "an exclusive bound of a pre-release admits none", reqs: []string{"app<2.0a0"},
			dists: []fakeDist{{name: "app", version: "1.0"}, {name: "app", version: "1.1rc1"}}},
		{name: "Requires-Python of the newest", reqs: []string{"app"},
			dists: []fakeDist{{name: "app", version: "1.0", requiresPython: ">=3.7"}, {name: "app", version: "2.0", requiresPython: ">=3.99"}}},
		{name: "a wheel for another platform", reqs: []string{"app"},
			dists: []fakeDist{{name: "app", version: "1.0"}, {name: "app", version: "2.0", tag: "cp311-cp311-win_amd64"}}},
		{name: "a later requirement rejects a version taken", reqs: []string{"app", "lib"}, giveUp: "pip backtracks",
			dists: []fakeDist{{name: "app", version: "1.0"}, {name: "app", version: "2.0", requires: []string{"tool"}}, {name: "tool", version: "1.0", requires: []string{"lib"}},
				{name: "lib", version: "1.0", requires: []string{"app<2"}}}},
		{name: "a later requirement admits a newer pre-release", reqs: []string{"app", "lib"}, giveUp: "pip backtracks",
			dists: []fakeDist{{name: "app", version: "1.0", requires: []string{"tool"}}, {name: "app", version: "2.0b1"}, {name: "tool", version: "1.0", requires: []string{"lib"}},
				{name: "lib", version: "1.0", requires: []string{"app>=1.0b1"}}}},
		{name: "only a pre-release fits", reqs: []string{"app>=1.5"}, giveUp: "only a pre-release",
			dists: []fakeDist{{name: "app", version: "1.0"}, {name: "app", version: "2.0rc1"}}},
		{name: "a specifier admits pre-releases", reqs: []string{"app>=2.0b1"},
			dists: []fakeDist{{name: "app", version: "2.0b2"}, {name: "app", version: "1.9"}}},
		{name: "an sdist pip may build", reqs: []string{"app"}, sdists: []string{"app-3.0.tar.gz"}, giveUp: "sdist",
			dists: []fakeDist{{name: "app", version: "1.0"}}},
		{name: "a direct URL", reqs: []string{"app", "lib @ file:///nowhere/lib-1.0-py3-none-any.whl"}, giveUp: "URL",
			dists: []fakeDist{{name: "app", version: "1.0"}}},
		{name: "nothing fits", reqs: []string{"app>=3"}, giveUp: "no wheel of app",
			dists: []fakeDist{{name: "app", version: "1.0"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, d := range tc.dists {
				writeFakeWheel(t, dir, d)
			}
			for _, s := range tc.sdists {
				require.NoError(t, os.WriteFile(filepath.Join(dir, s), []byte("not read"), 0o644))
			}
			got, why := localResolution(t, in, []string{dir}, tc.reqs, false)
			if tc.giveUp != "" {
				require.Contains(t, why, tc.giveUp)
				return
			}
			require.Empty(t, why)
			want, ok := pipResolution(t, []string{dir}, tc.reqs, false)
			require.True(t, ok, "pip resolves it")
			require.Equal(t, want, got)
		})
	}
}

// TestBuildNeedsNoPipFromFindLinks builds hello from find_links without
// build isolation: the project's wheel through the backend's hooks and the
// resolution in GoPythonGo, so pip never runs (its copy in the cache is not
// even compiled). The project's wheel is byte for byte the one pip wheel
// builds, and the venv holds what pip would have resolved.
func TestBuildNeedsNoPipFromFindLinks(t *testing.T) {
	t.Parallel()
	p := testutil.HelloProject(t, helloConfig)
	cache := t.TempDir()
	run := buildIn(t, p.Dir, cache)
	require.NoError(t, run.err, run.log)
	assert.Contains(t, run.log, "2 wheel(s) resolved from find_links and cached")
	assertPipNeverRan(t, cache, "pip never ran, so its copy was never compiled")

	want, got := pipWheelOf(t, p.Dir, false, "hello-1*.whl"), projectWheelOf(t, run.res, "hello-1*.whl")
	assert.Equal(t, filepath.Base(want), filepath.Base(got))
	assert.Equal(t, fileSHA256(t, want), fileSHA256(t, got), "the hooks build the wheel pip builds")

	// venv.resolver: pip resolves the same wheels, through pip.
	pipRun := buildIn(t, p.Dir, t.TempDir(), "GOPYTHONGO_VENV_RESOLVER=pip")
	require.NoError(t, pipRun.err, pipRun.log)
	assert.Contains(t, pipRun.log, "2 wheel(s) resolved by pip and cached")
	assert.Equal(t, run.res.Venv.Digest, pipRun.res.Venv.Digest, "the same tree")
}

// assertPipNeverRan: pip's copy in the cache is compiled before pip first
// runs, so a cache without a compiled copy saw no pip.
func assertPipNeverRan(t *testing.T, cache, msg string) {
	t.Helper()
	compiled, _ := filepath.Glob(filepath.Join(cache, "pip", "*", ".compiled-*"))
	assert.Empty(t, compiled, msg)
}

// pipWheelOf is the wheel pip wheel (Debian's, the reference) builds of a
// copy of the project at dir (without its dist/), offline from its wheels/,
// with build isolation or without; pattern names it (hello-1*.whl).
func pipWheelOf(t *testing.T, dir string, isolated bool, pattern string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "project")
	require.NoError(t, exec.Command("cp", "-a", dir, src).Run())
	require.NoError(t, os.RemoveAll(filepath.Join(src, "dist")))
	out := t.TempDir()
	args := []string{"-m", "pip", "wheel", "-q", "--no-deps", "--no-index", "--find-links", filepath.Join(src, "wheels"), "-w", out, src}
	if !isolated {
		args = append(args, "--no-build-isolation")
	}
	cmd := exec.Command(testutil.DebianPython, args...)
	cmd.Env = append(testutil.CleanEnv(), "SOURCE_DATE_EPOCH=1700000000")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "pip wheel: %s", b)
	want, _ := filepath.Glob(filepath.Join(out, pattern))
	require.Len(t, want, 1)
	return want[0]
}

// projectWheelOf is the wheel a build made whose name matches pattern.
func projectWheelOf(t *testing.T, res *Result, pattern string) string {
	t.Helper()
	for _, w := range res.Wheels {
		if ok, _ := path.Match(pattern, w.File); ok {
			return w.Path
		}
	}
	t.Fatalf("the build made no wheel %s", pattern)
	return ""
}

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	sum, err := sha256File(p)
	require.NoError(t, err)
	return sum
}

// TestIsolatedBuildEnvironmentFromTheCache builds hello with build
// isolation (the default) from find_links that hold setuptools and wheel:
// the backend's requirements are resolved and installed natively once, into
// the cache, and the hooks run with that environment in place of the
// interpreter's site-packages (an in-tree backend fails the build if it sees
// them). pip never runs, and the wheel is byte for byte the one pip wheel
// builds in its own isolated environment. The next build reuses the
// environment.
func TestIsolatedBuildEnvironmentFromTheCache(t *testing.T) {
	t.Parallel()
	p := testutil.HelloProject(t, strings.Replace(helloConfig, "build_isolation: false", "build_isolation: true", 1))
	for _, w := range []string{"setuptools-*.whl", "wheel-*.whl"} {
		found, _ := filepath.Glob(filepath.Join("/usr/share/python-wheels", w))
		require.Len(t, found, 1, "make test installs python3-setuptools-whl and python3-wheel-whl")
		data, err := os.ReadFile(found[0])
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(p.Dir, "wheels", filepath.Base(found[0])), data, 0o644))
	}
	p.WriteFile("isobackend.py", `import sys
from setuptools import build_meta as _setuptools

def _isolated():
    system = ("/usr/lib/python3/dist-packages", "/usr/local/lib/python3.11/dist-packages", "/usr/lib/python3.11/dist-packages")
    seen = [p for p in sys.path if p.startswith(system) and "/_in_process" not in p]
    if seen:
        raise RuntimeError("the build sees the interpreter's packages: %s" % seen)

def get_requires_for_build_wheel(config_settings=None):
    _isolated()
    return _setuptools.get_requires_for_build_wheel(config_settings)

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _isolated()
    return _setuptools.prepare_metadata_for_build_wheel(metadata_directory, config_settings)

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _isolated()
    # A build requirement's console script runs, as pip's build environment
    # lets it (backends run cmake, ninja, cython so).
    import shutil, subprocess
    script = shutil.which("wheel")
    if not script or script.startswith("/usr/"):
        raise RuntimeError("the build environment's scripts are not first on PATH: %s" % script)
    out = subprocess.run([script, "version"], capture_output=True, text=True)
    if out.returncode != 0 or "0.38" not in out.stdout:
        raise RuntimeError("the wheel script of the build environment did not run: %r" % (out,))
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)
`)
	pyproject, err := os.ReadFile(filepath.Join(p.Dir, "pyproject.toml"))
	require.NoError(t, err)
	p.WriteFile("pyproject.toml", strings.Replace(string(pyproject), `build-backend = "setuptools.build_meta"`, "build-backend = \"isobackend\"\nbackend-path = [\".\"]", 1))
	p.Git("add", "-A")
	p.Commit("an in-tree backend that must be isolated")

	cache := t.TempDir()
	run := buildIn(t, p.Dir, cache)
	require.NoError(t, run.err, run.log)
	assertPipNeverRan(t, cache, "pip never ran")
	envs, _ := filepath.Glob(filepath.Join(cache, "buildenvs", "*", ".complete"))
	require.Len(t, envs, 1, "one build environment in the cache")
	first, err := os.Stat(envs[0])
	require.NoError(t, err)
	for _, d := range []string{"setuptools", "wheel"} {
		infos, _ := filepath.Glob(filepath.Join(filepath.Dir(envs[0]), "lib", "python3.11", "site-packages", d+"-*.dist-info"))
		assert.Len(t, infos, 1, d)
	}

	want, got := pipWheelOf(t, p.Dir, true, "hello-1*.whl"), projectWheelOf(t, run.res, "hello-1*.whl")
	assert.Equal(t, fileSHA256(t, want), fileSHA256(t, got), "the wheel pip builds in its isolated environment")

	// A change to the source builds the project again, in the same
	// environment.
	p.WriteFile("src/hello/extra.py", "X = 1\n")
	p.Git("add", "-A")
	p.Commit("a change")
	again := buildIn(t, p.Dir, cache)
	require.NoError(t, again.err, again.log)
	assert.False(t, again.res.ProjectCached, "the project was built again")
	envs, _ = filepath.Glob(filepath.Join(cache, "buildenvs", "*", ".complete"))
	require.Len(t, envs, 1)
	second, err := os.Stat(envs[0])
	require.NoError(t, err)
	assert.True(t, os.SameFile(first, second), "the environment was reused, not made again")
}

// TestProjectWheelIsPipsForEachBackend builds a small project with each
// build backend of the corpus, isolated, from find_links that hold only the
// backend and what it needs: the hooks build the wheel without
// prepare_metadata_for_build_wheel, and it is byte for byte the one pip wheel
// builds (which calls it, then build_wheel with its metadata).
func TestProjectWheelIsPipsForEachBackend(t *testing.T) {
	t.Parallel()
	corpus := testutil.Corpus(t)
	for _, tc := range []struct {
		name      string
		wheels    []string // of the corpus, by name prefix
		build     string   // pyproject.toml's [build-system] and more
		module    string   // where the package goes
		wheelName string
	}{
		{"setuptools", []string{"setuptools-"},
			"[build-system]\nrequires = [\"setuptools>=77\"]\nbuild-backend = \"setuptools.build_meta\"\n",
			"src/demo_app", "demo_app-1.2.0-py3-none-any.whl"},
		{"hatchling", []string{"hatchling-", "packaging-", "pathspec-", "pluggy-", "trove_classifiers-", "tomlkit-"},
			"[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n[tool.hatch.build.targets.wheel]\npackages = [\"src/demo_app\"]\n",
			"src/demo_app", "demo_app-1.2.0-py3-none-any.whl"},
		{"flit_core", []string{"flit_core-"},
			"[build-system]\nrequires = [\"flit_core>=3.4\"]\nbuild-backend = \"flit_core.buildapi\"\n",
			"demo_app", "demo_app-1.2.0-py3-none-any.whl"},
		{"poetry-core", []string{"poetry_core-"},
			"[build-system]\nrequires = [\"poetry-core>=2\"]\nbuild-backend = \"poetry.core.masonry.api\"\n[tool.poetry]\npackages = [{include = \"demo_app\", from = \"src\"}]\n",
			"src/demo_app", "demo_app-1.2.0-py3-none-any.whl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := testutil.NewGitRepo(t)
			wheels := filepath.Join(r.Dir, "wheels")
			require.NoError(t, os.MkdirAll(wheels, 0o755))
			for _, prefix := range tc.wheels {
				found, _ := filepath.Glob(filepath.Join(corpus, prefix+"[0-9]*.whl"))
				require.NotEmpty(t, found, "the corpus holds %s*.whl (make deps)", prefix)
				for _, f := range found {
					require.NoError(t, os.Link(f, filepath.Join(wheels, filepath.Base(f))))
				}
			}
			r.WriteFile("pyproject.toml", tc.build+`[project]
name = "demo-app"
version = "1.2.0"
description = "A demo of the build backends"
requires-python = ">=3.9"
dependencies = []
[project.scripts]
demo = "demo_app.cli:main"
`)
			r.WriteFile(tc.module+"/__init__.py", "\"\"\"The demo.\"\"\"\n")
			r.WriteFile(tc.module+"/cli.py", "def main():\n    print('demo')\n")
			r.WriteFile(tc.module+"/data/greeting.txt", "hello\n")
			r.WriteFile(".gitignore", "dist/\nwheels/\n")
			r.WriteFile(".gopythongo.yaml", `schema: 1
project: {name: demo-app, deploy_path: /opt/demo, python: /usr/bin/python3}
venv:
  find_links: [wheels]
  no_index: true
`)
			r.Git("add", "-A")
			r.Commit("demo")

			cache := t.TempDir()
			run := buildIn(t, r.Dir, cache)
			require.NoError(t, run.err, run.log)
			assertPipNeverRan(t, cache, "the hooks built the wheel: pip never ran")
			want, got := pipWheelOf(t, r.Dir, true, tc.wheelName), projectWheelOf(t, run.res, tc.wheelName)
			assert.Equal(t, fileSHA256(t, want), fileSHA256(t, got), "the wheel pip builds with %s", tc.name)
		})
	}
}
