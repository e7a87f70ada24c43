package venv

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/testutil"
)

// compileallChoice prints, NUL-separated, each file compileall's own walk of
// a directory hands to compile_file that compile_file then compiles (a name
// ending in .py that is a file, through a link or not).
const compileallChoice = `import compileall, os, sys
chosen = []
def record(fullname, *args, **kwargs):
    fullname = os.fspath(fullname)
    if fullname.endswith(".py") and os.path.isfile(fullname):
        chosen.append(fullname)
    return True
compileall.compile_file = record
compileall.compile_dir(sys.argv[1], quiet=2)
sys.stdout.buffer.write(b"".join(os.fsencode(c) + b"\0" for c in chosen))
`

// TestPythonSourcesAreWhatCompileallCompiles holds the list the compile
// script is given against compileall's own walk of the same tree, which
// decided before: packages deep and wide, __pycache__ at any depth, a
// directory reached through a link, links named .py to a file, to a
// directory and to nothing, a directory named .py, names with spaces, a
// newline and bytes that are no UTF-8.
func TestPythonSourcesAreWhatCompileallCompiles(t *testing.T) {
	lib := filepath.Join(t.TempDir(), "lib")
	write := func(rel string) {
		p := filepath.Join(lib, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("X = 1\n"), 0o644))
	}
	for _, rel := range []string{
		"python3.11/site-packages/a/__init__.py", "python3.11/site-packages/a/b/c/d.py", "python3.11/site-packages/a/data.txt",
		"python3.11/site-packages/a/__pycache__/stale.py", "python3.11/site-packages/a/b/__pycache__/x/y.py",
		"python3.11/site-packages/A/upper.py", "python3.11/site-packages/with space/m .py",
		"python3.11/site-packages/new\nline.py", "python3.11/site-packages/latin-\xe9.py",
		"python3.11/site-packages/dir.py/inside.py", "python3.11/site-packages/noext", "python3.11/site-packages/x.pyc",
		"elsewhere/behind_link.py", "top.py",
	} {
		write(rel)
	}
	site := filepath.Join(lib, "python3.11", "site-packages")
	for link, target := range map[string]string{
		"linked_dir": "../../elsewhere", "to_file.py": "a/__init__.py", "to_dir.py": "a", "dangling.py": "missing.py",
	} {
		require.NoError(t, os.Symlink(target, filepath.Join(site, link)))
	}
	for i := range 30 {
		write(filepath.Join("python3.11/site-packages/wide", string(rune('a'+i%26))+strings.Repeat("z", i/26), "mod.py"))
	}

	out, err := exec.Command(testutil.DebianPython, "-c", compileallChoice, lib).Output()
	require.NoError(t, err)
	want := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	require.Len(t, want, 40, "the 10 sources outside wide (to_file.py among them) and its 30")

	got, err := pythonSources(lib, "/opt/app/lib")
	require.NoError(t, err)
	var compiled []string
	for _, s := range got {
		require.True(t, strings.HasPrefix(s, "/opt/app/lib/"), s)
		onDisk := filepath.Join(lib, strings.TrimPrefix(s, "/opt/app/lib/"))
		// What compile_file passes over may be listed; it compiles none of it.
		if fi, err := os.Stat(onDisk); err == nil && fi.Mode().IsRegular() {
			compiled = append(compiled, onDisk)
		}
	}
	slices.Sort(want)
	slices.Sort(compiled)
	assert.Equal(t, want, compiled)
	assert.Contains(t, compiled, filepath.Join(site, "to_file.py"))
	assert.NotContains(t, compiled, filepath.Join(site, "linked_dir", "behind_link.py"))

	none, err := pythonSources(filepath.Join(t.TempDir(), "missing"), "/opt/app/lib")
	require.NoError(t, err)
	assert.Empty(t, none)
}

// TestCompileScriptClaimsEverySourceOnce runs the compile script on 300
// sources of mixed sizes: each is compiled by exactly one worker (the lists
// of all workers name each .pyc once, one list a CPU), and each .pyc has the
// bytes compileall itself writes for it (compiling a copy as if at its path).
func TestCompileScriptClaimsEverySourceOnce(t *testing.T) {
	dir := t.TempDir()
	lib, ref := filepath.Join(dir, "lib"), filepath.Join(dir, "ref")
	var sources []byte
	for i := range 300 {
		rel := filepath.Join("pkg"+strconv.Itoa(i%7), "m"+strconv.Itoa(i)+".py")
		body := strings.Repeat("def f"+strconv.Itoa(i)+"(x):\n    return x + 1\n", 1+(i%13)*40)
		for _, root := range []string{lib, ref} {
			require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(rel)), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, rel), []byte(body), 0o644))
		}
		sources = append(append(sources, filepath.Join(lib, rel)...), 0)
	}
	store, out := filepath.Join(dir, "store"), filepath.Join(dir, "out")
	require.NoError(t, os.MkdirAll(store, 0o755))
	require.NoError(t, os.MkdirAll(out, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(out, "sources"), sources, 0o644))
	cmd := exec.Command(testutil.DebianPython, "-c", compileScript, store, "prefix", out)
	cmd.Env = testutil.CleanEnv()
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	b, err = exec.Command(testutil.DebianPython, "-m", "compileall", "-q", "-f", "--invalidation-mode", "unchecked-hash", "-d", lib, ref).CombinedOutput()
	require.NoError(t, err, "%s", b)

	lists, err := filepath.Glob(filepath.Join(out, "*.list"))
	require.NoError(t, err)
	var cpus unix.CPUSet
	require.NoError(t, unix.SchedGetaffinity(0, &cpus))
	assert.Len(t, lists, cpus.Count(), "a list a worker, a worker a CPU")
	listed := map[string]int{}
	for _, l := range lists {
		data, err := os.ReadFile(l)
		require.NoError(t, err)
		fields := strings.Split(string(data), "\x00")
		for i := 0; i+7 <= len(fields); i += 7 {
			assert.Equal(t, "C", fields[i], "nothing was in the store")
			listed[fields[i+2]]++
		}
	}
	assert.Len(t, listed, 300)
	for pyc, n := range listed {
		assert.Equal(t, 1, n, "%s compiled by %d workers", pyc, n)
		rel, err := filepath.Rel(lib, pyc)
		require.NoError(t, err)
		got, err := os.ReadFile(pyc)
		require.NoError(t, err)
		want, err := os.ReadFile(filepath.Join(ref, rel))
		require.NoError(t, err)
		assert.Equal(t, want, got, rel)
	}
}
