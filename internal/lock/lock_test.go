package lock_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/lock"
	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

// tool runs one of dist/tools/pytools in dir with a clean environment (no
// PIP_*, UV_* or user configuration).
func tool(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	return toolEnv(t, dir, nil, name, args...)
}

func toolEnv(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	home := filepath.Join(filepath.Dir(dir), "home") // one per application's copy
	cmd := exec.Command(testutil.PyTool(t, name), args...)
	cmd.Dir = dir
	cmd.Env = append(testutil.CleanEnv(), "HOME="+home, "POETRY_CACHE_DIR="+filepath.Join(home, "poetry"), "UV_CACHE_DIR="+filepath.Join(home, "uv"),
		"UV_NO_CONFIG=1", "POETRY_VIRTUALENVS_IN_PROJECT=false")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

// app copies one of the corpus' applications.
func app(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join(testutil.RepoRoot(), "tools", "corpus", "apps", name))))
	return dir
}

// Locks are made by the real tools against pypiserver serving the corpus.
type locks struct {
	index *testutil.Index
	env   python.Environment
}

func setup(t *testing.T) locks {
	t.Helper()
	in, err := python.Probe(t.Context(), nil, testutil.DebianPython)
	require.NoError(t, err)
	return locks{index: testutil.StartPypiserver(t, false, testutil.Corpus(t)), env: in.Markers}
}

// lockWith makes a lock of an application with a real tool and returns its
// path.
func (l locks) lockWith(t *testing.T, dir string, f lock.Format) string {
	t.Helper()
	switch f {
	case lock.UV:
		tool(t, dir, "uv", "lock", "--index-url", l.index.URL, "-p", testutil.DebianPython)
		return filepath.Join(dir, "uv.lock")
	case lock.PyLock:
		tool(t, dir, "uv", "lock", "--index-url", l.index.URL, "-p", testutil.DebianPython)
		tool(t, dir, "uv", "export", "--format", "pylock.toml", "--all-extras", "-o", "pylock.toml", "-q")
		return filepath.Join(dir, "pylock.toml")
	case lock.Poetry:
		f, err := os.OpenFile(filepath.Join(dir, "pyproject.toml"), os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteString("\n[[tool.poetry.source]]\nname = \"corpus\"\nurl = \"" + l.index.URL + "\"\npriority = \"primary\"\n")
		require.NoError(t, err)
		require.NoError(t, f.Close())
		tool(t, dir, "poetry", "lock", "-n")
		return filepath.Join(dir, "poetry.lock")
	}
	tool(t, dir, "pip-compile", "-q", "--generate-hashes", "--strip-extras", "--all-extras", "--index-url", l.index.URL, "-o", "requirements.txt", "pyproject.toml")
	return filepath.Join(dir, "requirements.txt")
}

var installLine = regexp.MustCompile(`(?m)^\s*(?:\+ |- Installing )([A-Za-z0-9_.\-]+)(?:==| \()([^ )\n]+)`)

// installs asks the tool that made a lock what it would install for this
// machine's /usr/bin/python3: the oracle of a selection.
func (l locks) installs(t *testing.T, dir string, f lock.Format, extras []string) []string {
	t.Helper()
	var out string
	venv := filepath.Join(t.TempDir(), "venv")
	switch f {
	case lock.UV:
		args := []string{"sync", "--frozen", "--dry-run", "--no-install-project", "-p", testutil.DebianPython, "--index-url", l.index.URL}
		for _, e := range extras {
			args = append(args, "--extra", e)
		}
		out = toolEnv(t, dir, []string{"UV_PROJECT_ENVIRONMENT=" + venv}, "uv", args...)
	case lock.PyLock:
		b, err := exec.Command(testutil.DebianPython, "-m", "venv", "--without-pip", venv).CombinedOutput()
		require.NoError(t, err, "%s", b)
		args := []string{"pip", "install", "--dry-run", "--python", filepath.Join(venv, "bin", "python"), "-r", "pylock.toml", "--index-url", l.index.URL}
		for _, e := range extras {
			args = append(args, "--extra", e)
		}
		out = tool(t, dir, "uv", args...)
	case lock.Poetry:
		args := []string{"install", "--dry-run", "--no-root", "-n"}
		for _, e := range extras {
			args = append(args, "--extras", e)
		}
		// poetry lock made its env with the python on PATH (pyenv's here).
		tool(t, dir, "poetry", "env", "remove", "--all")
		tool(t, dir, "poetry", "env", "use", testutil.DebianPython)
		out = tool(t, dir, "poetry", args...)
	default:
		report := filepath.Join(t.TempDir(), "report.json")
		cmd := exec.Command(testutil.DebianPython, "-m", "pip", "install", "-q", "--dry-run", "--ignore-installed", "--no-deps", "--require-hashes", "--index-url", l.index.URL, "--report", report, "-r", filepath.Join(dir, "requirements.txt"))
		cmd.Env = testutil.CleanEnv()
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", b)
		var r struct {
			Install []struct {
				Metadata struct{ Name, Version string } `json:"metadata"`
			} `json:"install"`
		}
		data, err := os.ReadFile(report)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(data, &r))
		var names []string
		for _, i := range r.Install {
			names = append(names, python.Normalize(i.Metadata.Name)+"=="+i.Metadata.Version)
		}
		slices.Sort(names)
		return names
	}
	var names []string
	for _, m := range installLine.FindAllStringSubmatchIndex(out, -1) {
		if strings.HasPrefix(out[m[1]:], "): Skipped") {
			continue // poetry lists what it leaves out, too
		}
		names = append(names, python.Normalize(out[m[2]:m[3]])+"=="+out[m[4]:m[5]])
	}
	slices.Sort(names)
	require.NotEmpty(t, names, "no install plan in:\n%s", out)
	return names
}

func names(pkgs []lock.Package) []string {
	var out []string
	for _, p := range pkgs {
		out = append(out, p.Name+"=="+p.Version)
	}
	slices.Sort(out)
	return out
}

// TestSelectionsEqualTheLockersOwn makes every lock format of every corpus
// application with its real tool (uv, uv export, poetry, pip-compile) and
// holds the distributions GoPythonGo selects for /usr/bin/python3, with and
// without the test extra, against what that tool itself would install.
func TestSelectionsEqualTheLockersOwn(t *testing.T) {
	l := setup(t)
	for _, appName := range []string{"django-site", "fastapi-service", "data-job"} {
		for _, f := range []lock.Format{lock.UV, lock.PyLock, lock.Poetry, lock.Requirements} {
			t.Run(appName+"/"+string(f), func(t *testing.T) {
				t.Parallel()
				dir := app(t, appName)
				path := l.lockWith(t, dir, f)
				lk, err := lock.Read(path)
				require.NoError(t, err)
				extraSets := [][]string{nil, {"test"}}
				if f == lock.Requirements {
					extraSets = [][]string{nil} // pip-compile wrote the extras in
				}
				for _, extras := range extraSets {
					target := lock.Target{Env: l.env, Extras: extras}
					got, err := lk.Select(target)
					require.NoError(t, err)
					assert.Equal(t, l.installs(t, dir, f, extras), names(got), "extras %v", extras)
					require.NoError(t, lk.CheckProject(filepath.Join(dir, "pyproject.toml"), target, got))
					for _, p := range got {
						require.True(t, len(p.Wheels) > 0 || p.Sdist != nil || len(p.Hashes) > 0, p.Name)
					}
				}
			})
		}
	}
}

// TestStaleLocksAreRefused changes pyproject.toml after locking: a new
// dependency, a narrowed specifier; the check names the package.
func TestStaleLocksAreRefused(t *testing.T) {
	l := setup(t)
	for _, f := range []lock.Format{lock.UV, lock.PyLock, lock.Poetry, lock.Requirements} {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			dir := app(t, "fastapi-service")
			path := l.lockWith(t, dir, f)
			lk, err := lock.Read(path)
			require.NoError(t, err)
			target := lock.Target{Env: l.env}
			got, err := lk.Select(target)
			require.NoError(t, err)
			pyproject := filepath.Join(dir, "pyproject.toml")
			orig, err := os.ReadFile(pyproject)
			require.NoError(t, err)
			for _, tc := range []struct{ from, to, name string }{
				{`"structlog>=24",`, `"structlog>=24",` + "\n  \"rich>=13\",", "rich"},
				{`"orjson>=3.9"`, `"orjson>=99"`, "orjson"},
			} {
				require.NoError(t, os.WriteFile(pyproject, []byte(strings.Replace(string(orig), tc.from, tc.to, 1)), 0o644))
				err := lk.CheckProject(pyproject, target, got)
				var stale *lock.StaleError
				require.ErrorAs(t, err, &stale, tc.name)
				assert.Equal(t, tc.name, stale.Package)
				assert.Contains(t, err.Error(), "lock again")
			}
		})
	}
}

func TestBadLocksAreRefused(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	sum := strings.Repeat("ab", 32)
	tests := []struct {
		name, file, content, want string
	}{
		{"unknown name", "deps.lock", "x", "no lock file GoPythonGo reads"},
		{"unpinned", "requirements.txt", "requests>=2 --hash=sha256:" + sum + "\n", "not pinned to one version"},
		{"no hash", "requirements.txt", "requests==2.0\n", "has no --hash"},
		{"editable", "requirements.txt", "-e .\n", "not a pinned requirement"},
		{"nothing", "requirements.txt", "# empty\n", "pins no distribution"},
		{"bad marker", "requirements.txt", "requests==2.0 ; os_name === \n", "marker"},
		{"uv git source", "uv.lock", "version = 1\n[[package]]\nname = \"app\"\nversion = \"1\"\nsource = { editable = \".\" }\ndependencies = [{ name = \"x\" }]\n[[package]]\nname = \"x\"\nversion = \"1\"\nsource = { git = \"https://example.com/x\" }\n", "git, URL, path or directory source"},
		{"uv no root", "uv.lock", "version = 1\n", "names no project"},
		{"uv newer", "uv.lock", "version = 2\n", "uv.lock version 1"},
		{"uv no hash", "uv.lock", "version = 1\n[[package]]\nname = \"app\"\nversion = \"1\"\nsource = { editable = \".\" }\ndependencies = [{ name = \"x\" }]\n[[package]]\nname = \"x\"\nversion = \"1\"\nsource = { registry = \"https://pypi.org/simple\" }\nwheels = [{ url = \"https://h/x-1-py3-none-any.whl\" }]\n", "no sha256 hash"},
		{"uv extras that name each other", "uv.lock", "version = 1\n[[package]]\nname = \"app\"\nversion = \"1\"\nsource = { editable = \".\" }\n[package.optional-dependencies]\ntest = [{ name = \"app\", extra = [\"all\"] }]\nall = [{ name = \"app\", extra = [\"test\"] }, { name = \"x\" }]\n", "x is a dependency but not in the lock"},
		{"pylock version", "pylock.toml", "lock-version = \"2.0\"\n", "lock-version 1.x"},
		{"pylock vcs", "pylock.toml", "lock-version = \"1.0\"\n[[packages]]\nname = \"x\"\nvcs = { type = \"git\", url = \"u\" }\n", "VCS or an archive"},
		{"poetry old", "poetry.lock", "[metadata]\nlock-version = \"1.1\"\n", "poetry.lock 2.x"},
		{"not toml", "poetry.lock", "[[package\n", "poetry.lock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lk, err := lock.Read(write(tt.file, tt.content))
			if err == nil {
				_, err = lk.Select(lock.Target{Env: python.Environment{"os_name": "posix"}, Extras: []string{"test"}})
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	big := write("pylock.toml", strings.Repeat("#", 65<<20))
	_, err := lock.Read(big)
	require.ErrorContains(t, err, "larger than 64 MiB")
}
