package venv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/testutil"
)

// TestAppOnlyChangeBuildsOnTheCachedTree: after an app-only change, only
// the project is installed and compiled into the cached tree of its
// dependencies, and the tree is the one a build without any cache makes,
// whether the change edits, adds or removes modules, packages, console
// scripts and files venv.strip leaves out; on this machine and in an
// isolated builder.
func TestAppOnlyChangeBuildsOnTheCachedTree(t *testing.T) {
	t.Parallel()
	for _, builder := range []string{"host", "chroot"} {
		t.Run(builder, func(t *testing.T) { testAppOnlyChange(t, testutil.BuilderEnv(t, builder)) })
	}
}

func testAppOnlyChange(t *testing.T, env []string) {
	p := testutil.HelloProject(t, helloConfig+"  strip: ['**/fixtures', '**/__pycache__']\n")
	cache := t.TempDir()
	at := epoch
	// fresh is the tree of the checkout as a build without any cache
	// makes it, in a copy of the checkout (whose dist/root this build
	// leaves alone).
	fresh := func() *Result {
		t.Helper()
		other := t.TempDir()
		out, err := exec.Command("cp", "-a", p.Dir+"/.", other).CombinedOutput()
		require.NoError(t, err, string(out))
		require.NoError(t, os.RemoveAll(filepath.Join(other, "dist")))
		run := buildWith(t, other, t.TempDir(), at, true, env...)
		require.NoError(t, run.err, run.log)
		assert.False(t, run.res.FromBase)
		return run.res
	}
	build := func() buildRun {
		t.Helper()
		run := buildWith(t, p.Dir, cache, at, false, env...)
		require.NoError(t, run.err, run.log)
		return run
	}
	first := build()
	assert.False(t, first.res.FromBase, "nothing to build on yet")

	pyproject := readFile(t, filepath.Join(p.Dir, "pyproject.toml"))
	twoScripts := strings.Replace(pyproject, `hello = "hello.cli:main"`, `hello = "hello.cli:main"`+"\nhello-extra = \"hello.cli:main\"", 1)
	require.NotEqual(t, pyproject, twoScripts)
	steps := []struct {
		name   string
		write  map[string]string
		remove []string
	}{
		{"a module changed, a module, a package, a stripped directory and a console script added", map[string]string{
			"src/hello/cli.py":                  "import sys\n\ndef main(argv=None):\n    print('Hi!')\n    return 0\n",
			"src/hello/extra.py":                "EXTRA = 1\n",
			"src/hello/sub/__init__.py":         "",
			"src/hello/sub/deep/__init__.py":    "X = 2\n",
			"src/hello/fixtures/__init__.py":    "",
			"src/hello/fixtures/data/sample.py": "Y = 3\n",
			"pyproject.toml":                    twoScripts,
		}, nil},
		{"a module, a package and a console script removed", map[string]string{"pyproject.toml": pyproject},
			[]string{"src/hello/extra.py", "src/hello/sub"}},
		{"only the commit time", nil, nil},
	}
	for i, s := range steps {
		// In CI dist/ starts empty: the tree is linked from the cache.
		// Where dist/root is the tree the last build left, it is kept.
		inPlace := i%2 == 0
		if !inPlace {
			require.NoError(t, os.RemoveAll(filepath.Join(p.Dir, "dist", "root")))
		}
		for name, content := range s.write {
			p.WriteFile(name, content)
		}
		for _, name := range s.remove {
			require.NoError(t, os.RemoveAll(filepath.Join(p.Dir, name)))
		}
		p.Git("add", "-A")
		p.Commit(s.name)
		at = at.Add(time.Hour)
		run := build()
		assert.True(t, run.res.FromBase, "%s:\n%s", s.name, run.log)
		requireSumsRecorded(t, run.res.Root)
		if inPlace {
			assert.Contains(t, run.log, "dist/root is the tree", s.name)
		} else {
			assert.Contains(t, run.log, "which has the same dependencies, linked", s.name)
		}
		assert.NotContains(t, run.log, "built whole", s.name)
		assert.NotContains(t, run.log, "could not be made into this one", s.name)
		assert.Len(t, cachedTrees(t, cache), 1, "%s: the cached tree was made into the new one", s.name)
		// The tree and all that is recorded of it (interpreter package,
		// library dependencies, distributions) as without a cache.
		assert.Equal(t, fresh().Venv, run.res.Venv, "%s: the tree of a build without a cache", s.name)
		info, err := Inspect(run.res.Root)
		require.NoError(t, err)
		assert.Equal(t, run.res.Venv.Digest, info.Digest, "%s: the digest of what is on disk", s.name)
	}
	if env == nil { // the tree of an isolated builder runs in its target
		assert.Equal(t, "Hi!\n", inNamespace(t, filepath.Join(p.Dir, "dist", "root"), "/opt/hello", "/opt/hello/bin/hello"))
	}
	assert.NoFileExists(t, filepath.Join(p.Dir, "dist", "root", "opt", "hello", "bin", "hello-extra"))

	warm := build()
	assert.True(t, warm.res.TreeCached, "the tree made from the base is cached too")
	// Every file of the cached tree made into the new one is the file its
	// record says.
	require.NoError(t, os.RemoveAll(filepath.Join(p.Dir, "dist", "root")))
	again := build()
	assert.True(t, again.res.TreeCached, again.log)
	assert.Contains(t, again.log, "each checked against its sha256")
	assert.Equal(t, warm.res.Venv.Digest, again.res.Venv.Digest)
}

// TestAppOnlyChangeThatCannotBuildOnTheTreeSaysWhatAFreshBuildSays: a new
// project file that a dependency owns fails the build as a build from
// nothing fails it, not as a replaced file.
func TestAppOnlyChangeThatCannotBuildOnTheTreeSaysWhatAFreshBuildSays(t *testing.T) {
	t.Parallel()
	p := testutil.HelloProject(t, helloConfig)
	cache := t.TempDir()
	require.NoError(t, buildIn(t, p.Dir, cache).err)
	p.WriteFile("src/hello_lib/__init__.py", "def greet(name):\n    return name\n")
	p.Git("add", "-A")
	p.Commit("a file of hello-lib")
	run := buildWith(t, p.Dir, cache, epoch.Add(time.Hour), false)
	require.Error(t, run.err)
	assert.Contains(t, run.err.Error(), "two distributions cannot own one file")
	assert.Contains(t, run.log, "so the venv is built whole")
	fresh := buildWith(t, p.Dir, t.TempDir(), epoch.Add(time.Hour), true)
	require.Error(t, fresh.err)
	assert.Equal(t, fresh.err.Error(), run.err.Error())
}

func TestOwnedByProject(t *testing.T) {
	t.Parallel()
	dir, file := func(p string) Entry { return Entry{Path: p, Mode: 0o755 | os.ModeDir} }, func(p string) Entry { return Entry{Path: p, Mode: 0o644} }
	site := "v/lib/python3.11/site-packages"
	entries := []Entry{dir("."), dir("v"), dir("v/bin"), file("v/bin/app"), file("v/bin/dep"), dir("v/include"), dir("v/include/site"), file("v/include/site/app.h"),
		dir("v/lib"), dir("v/lib/python3.11"), dir(site), dir(site + "/__pycache__"), file(site + "/__pycache__/app.cpython-311.pyc"), file(site + "/__pycache__/dep.cpython-311.pyc"),
		file(site + "/app.py"), dir(site + "/app"), dir(site + "/app/__pycache__"), file(site + "/app/__pycache__/__init__.cpython-311.pyc"), file(site + "/app/__init__.py"), dir(site + "/app/empty"),
		dir(site + "/shared"), file(site + "/shared/app.py"), file(site + "/shared/dep.py"), file(site + "/dep.py")}
	rels := []string{"bin/app", "include/site/app.h", "lib/python3.11/site-packages/app.py", "lib/python3.11/site-packages/app/__init__.py",
		"lib/python3.11/site-packages/app/empty/x.txt", "lib/python3.11/site-packages/shared/app.py"}
	skeleton := map[string]bool{"bin": true, "include": true, "lib": true, "lib/python3.11": true, "lib/python3.11/site-packages": true}
	deps := map[string]bool{"bin/dep": true, "lib/python3.11/site-packages/dep.py": true, "lib/python3.11/site-packages/shared/dep.py": true}
	foreign := func(rel string, isDir bool) bool {
		if isDir {
			return skeleton[rel] || rel == "lib/python3.11/site-packages/shared"
		}
		return deps[rel]
	}
	owned, err := ownedByProject(entries, "v", rels, foreign)
	require.NoError(t, err)
	assert.Equal(t, []string{"v/bin/app", "v/include/site", "v/include/site/app.h", site + "/__pycache__/app.cpython-311.pyc", site + "/app.py",
		site + "/app", site + "/app/__pycache__", site + "/app/__pycache__/__init__.cpython-311.pyc", site + "/app/__init__.py", site + "/app/empty",
		site + "/shared/app.py"}, owned)

	_, err = ownedByProject(entries, "v", append(rels, "lib/python3.11/site-packages/app/__pycache__/x.pyc"), foreign)
	assert.ErrorContains(t, err, "into a __pycache__ directory")
	deps[site[2:]+"/__pycache__/app.cpython-311.pyc"] = true
	_, err = ownedByProject(entries, "v", rels, foreign)
	assert.ErrorContains(t, err, "comes from another wheel too")
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

func TestAnyELF(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.so"), []byte("\x7fELF\x02\x01"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mod.py"), []byte("x = 1\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "short"), []byte("\x7f"), 0o644))
	assert.False(t, anyELF(dir, []string{"mod.py", "short", "stripped-away"}))
	assert.True(t, anyELF(dir, []string{"mod.py", "lib.so"}))
}

// TestAppOnlyChangeOnTheCorpus: at real size (Django, Celery, NumPy, lxml
// and their dependencies from the PyPI corpus, thousands of files, ELF
// libraries among them), the tree an app-only change builds on the cached
// tree, and all that is recorded of it (the library dependencies taken from
// the base), is what the build makes with no cached tree.
func TestAppOnlyChangeOnTheCorpus(t *testing.T) {
	t.Parallel()
	p := testutil.HelloProject(t, fmt.Sprintf(`schema: 1
project: {name: hello, deploy_path: /opt/hello, python: /usr/bin/python3}
venv:
  find_links: [wheels, %s]
  no_index: true
  build_isolation: false
  packages: ["django<6", "numpy>=1.26", "lxml>=5", "requests", "pyyaml", "celery[redis]"]
  strip: ['**/tests']
`, testutil.Corpus(t)))
	cache := t.TempDir()
	cold := buildWith(t, p.Dir, cache, epoch, false)
	require.NoError(t, cold.err, cold.log)
	require.Greater(t, cold.res.Venv.Files, 5000, "a tree of real size")
	require.NotEmpty(t, cold.res.Venv.Depends, "NumPy's and lxml's libraries need the system's")

	p.WriteFile("src/hello/cli.py", "import sys\n\ndef main(argv=None):\n    print('Hi!')\n    return 0\n")
	p.WriteFile("src/hello/views/__init__.py", "VIEWS = []\n")
	p.Git("add", "-A")
	p.Commit("an app-only change")
	at := epoch.Add(time.Hour)
	// As in CI: no dist/root, the tree linked from the cache.
	require.NoError(t, os.RemoveAll(filepath.Join(p.Dir, "dist", "root")))
	app := buildWith(t, p.Dir, cache, at, false)
	require.NoError(t, app.err, app.log)
	assert.True(t, app.res.FromBase, app.log)
	assert.Contains(t, app.log, "which has the same dependencies, linked")

	require.NoError(t, forceRemoveAll(filepath.Join(cache, "trees")))
	require.NoError(t, os.RemoveAll(filepath.Join(p.Dir, "dist", "root")))
	whole := buildWith(t, p.Dir, cache, at, false)
	require.NoError(t, whole.err, whole.log)
	assert.False(t, whole.res.FromBase)
	assert.Equal(t, whole.res.Venv, app.res.Venv, "the tree and its record as the whole build makes them")
}

// TestAppOnlyChangeOnAChangedCachedTree: a file of the cached tree changed
// since it was kept (the cache, or dist/root linked with it, written) is
// found when the tree is linked for an app-only change; the cached tree is
// dropped and the venv built whole, right.
func TestAppOnlyChangeOnAChangedCachedTree(t *testing.T) {
	t.Parallel()
	p := testutil.HelloProject(t, helloConfig)
	cache := t.TempDir()
	require.NoError(t, buildIn(t, p.Dir, cache).err)
	trees := cachedTrees(t, cache)
	require.Len(t, trees, 1)
	lib, err := filepath.Glob(filepath.Join(cache, "trees", trees[0], "root", "opt", "hello", "lib", "python3*", "site-packages", "hello_lib", "__init__.py"))
	require.NoError(t, err)
	require.Len(t, lib, 1)
	require.NoError(t, os.WriteFile(lib[0], []byte("def greet(name):\n    return 'pwned'\n"), 0o644))

	p.WriteFile("src/hello/extra.py", "EXTRA = 1\n")
	p.Git("add", "-A")
	p.Commit("an app-only change")
	at := epoch.Add(time.Hour)
	run := buildWith(t, p.Dir, cache, at, false)
	require.NoError(t, run.err, run.log)
	assert.False(t, run.res.FromBase)
	assert.Contains(t, run.log, "cannot be used")
	assert.Contains(t, run.log, "so the venv is built whole")
	fresh := buildWith(t, p.Dir, t.TempDir(), at, true)
	require.NoError(t, fresh.err, fresh.log)
	assert.Equal(t, fresh.res.Venv, run.res.Venv)
	assert.Equal(t, "Hello, world!\n", inNamespace(t, filepath.Join(p.Dir, "dist", "root"), "/opt/hello", "/opt/hello/bin/hello"))
}
