package scaffold

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/fileread"
)

// project writes files into a new directory.
func project(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

func TestInspectReadsWhatTheProjectSays(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		check func(t *testing.T, p *Project)
	}{
		{"pyproject with scripts, authors, split suites and pytest", map[string]string{
			"pyproject.toml":       "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n[project]\nname = \"Shop_App\"\nversion = \"1.2.0\"\nauthors = [{name = \"Ann\", email = \"ann@example.com\"}]\n[project.scripts]\nshop-serve = \"shop:serve\"\nshop = \"shop:main\"\n[project.optional-dependencies]\ntests = [\"pytest>=7\"]\n",
			"tests/unit/test_a.py": "def test_a(): pass\n", "tests/integration/test_b.py": "def test_b(): pass\n",
		}, func(t *testing.T, p *Project) {
			assert.Equal(t, "Shop_App", p.Name)
			assert.Equal(t, []string{"shop", "shop-serve"}, p.Scripts)
			assert.Equal(t, "Ann <ann@example.com>", p.Maintainer)
			assert.Equal(t, map[string]string{"unit": "tests/unit", "integration": "tests/integration"}, p.Suites)
			assert.Equal(t, "pytest", p.Runner)
			assert.Equal(t, "tests", p.TestExtra)
			assert.Equal(t, "1.2.0", p.Version)
		}},
		{"setup.py only, setup.cfg name, unittest tests, hashed requirements", map[string]string{
			"setup.py":  "from setuptools import setup, Extension\nsetup(ext_modules=[Extension('x', ['x.c'])])\n",
			"setup.cfg": "[metadata]\nname = legacy-app\n", "test/test_x.py": "import unittest\n",
			"requirements.txt": "six==1.16.0 --hash=sha256:" + strings.Repeat("a", 64) + "\n",
		}, func(t *testing.T, p *Project) {
			assert.Equal(t, "legacy-app", p.Name)
			assert.Equal(t, "setup.cfg", p.NameFrom)
			assert.True(t, p.Compiled)
			assert.Equal(t, map[string]string{"tests": "test"}, p.Suites)
			assert.Equal(t, "unittest", p.Runner)
			assert.Equal(t, "requirements.txt", p.Lock, "a hashed requirements file is a lock")
		}},
		{"lock files win, django, CI files", map[string]string{
			"pyproject.toml": "[project]\nname = \"site\"\ndynamic = [\"version\"]\n", "uv.lock": "", "requirements.txt": "django\n", "manage.py": "",
			".gitlab-ci.yml": "", ".github/workflows/ci.yml": "",
		}, func(t *testing.T, p *Project) {
			assert.Equal(t, "uv.lock", p.Lock)
			assert.Empty(t, p.Requirements)
			assert.True(t, p.Django)
			assert.Equal(t, []string{".github/workflows/ci.yml", ".gitlab-ci.yml"}, p.CI)
			assert.Empty(t, p.Suites)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Inspect(project(t, tc.files))
			require.NoError(t, err)
			tc.check(t, p)
			// Whatever the shape, the configuration loads.
			dir := t.TempDir()
			f := filepath.Join(dir, config.DefaultFile)
			require.NoError(t, os.WriteFile(f, Config(p), 0o644))
			_, err = config.Load(config.Options{File: f, Dir: p.Dir})
			require.NoError(t, err, "%s", Config(p))
		})
	}
}

func TestInspectRefusesWhatIsNoProject(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"empty directory", nil, "holds neither pyproject.toml nor setup.py"},
		{"broken TOML", map[string]string{"pyproject.toml": "[project\nname = 1"}, "pyproject.toml:"},
		{"no name anywhere", map[string]string{"pyproject.toml": "[build-system]\nrequires = []\n"}, "cannot tell the project's name"},
		{"a name that is none", map[string]string{"pyproject.toml": "[project]\nname = \"../../etc\"\n"}, "no valid distribution name"},
		{"a name with YAML in it", map[string]string{"pyproject.toml": "[project]\nname = \"x\\nschema: 2\"\n"}, "no valid distribution name"},
		{"a huge pyproject.toml", map[string]string{"pyproject.toml": "#" + strings.Repeat("x", fileread.ProjectLimit+1)}, "more than the 16 MiB allowed"},
		{"a pipe for pyproject.toml", map[string]string{"pyproject.toml": "fifo"}, "pyproject.toml is not a regular file"},
		{"a pipe for setup.py", map[string]string{"setup.py": "fifo"}, "setup.py is not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := project(t, nil)
			for name, content := range tc.files {
				p := filepath.Join(dir, name)
				if content == "fifo" {
					require.NoError(t, unix.Mkfifo(p, 0o644))
					continue
				}
				require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
			}
			_, err := Inspect(dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestHostileValuesAreQuoted: names and addresses are quoted YAML, and a
// maintainer that would break the field is not taken.
func TestHostileValuesAreQuoted(t *testing.T) {
	dir := project(t, map[string]string{"pyproject.toml": "[project]\nname = \"ok\"\nauthors = [{name = \"A: b # c\", email = \"x@y\"}, {name = \"Evil <e>\", email = \"e@x\"}]\n"})
	p, err := Inspect(dir)
	require.NoError(t, err)
	assert.Equal(t, "A: b # c <x@y>", p.Maintainer)
	f := filepath.Join(t.TempDir(), config.DefaultFile)
	require.NoError(t, os.WriteFile(f, Config(p), 0o644))
	c, err := config.Load(config.Options{File: f, Dir: dir})
	require.NoError(t, err)
	assert.Equal(t, "A: b # c <x@y>", c.Package.Deb.Maintainer, "the colon and hash survive as the value")
}

func TestPublicURLDropsCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"git@github.com:acme/shop.git":                 "https://github.com/acme/shop",
		"https://ci:s3cret@gitlab.example.com/a/b.git": "https://gitlab.example.com/a/b",
		"ssh://git@git.example.com:2222/team/app.git":  "https://git.example.com/team/app",
		"https://github.com/acme/shop/":                "https://github.com/acme/shop",
		"https://x.example.com/a.git?token=abc#frag":   "https://x.example.com/a",
		"/srv/git/shop.git":                            "",
		"file:///srv/git/shop.git":                     "",
		"":                                             "",
	} {
		assert.Equal(t, want, publicURL(in), in)
	}
}

func TestInspectReadsGit(t *testing.T) {
	dir := project(t, map[string]string{"pyproject.toml": "[project]\nname = \"g\"\nversion = \"0.1.0\"\n"})
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	git("init", "-q")
	git("config", "user.name", "Bo")
	git("config", "user.email", "bo@example.com")
	git("remote", "add", "origin", "https://bo:token@example.com/bo/g.git")
	git("add", "-A")
	git("commit", "-qm", "one")
	p, err := Inspect(dir)
	require.NoError(t, err)
	assert.True(t, p.Git)
	assert.False(t, p.Tagged)
	assert.Equal(t, "Bo <bo@example.com>", p.Maintainer)
	assert.Equal(t, "https://example.com/bo/g", p.SourceURL)
	assert.Contains(t, string(Config(p)), "source: pyproject", "untagged with a static version: the version is pyproject's")
	assert.NotContains(t, string(Config(p)), "token")
	git("tag", "v0.1.0")
	p, err = Inspect(dir)
	require.NoError(t, err)
	assert.True(t, p.Tagged)
	assert.Contains(t, string(Config(p)), "source: git")
}

func TestWriteNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	files := []File{{Path: ".gopythongo.yaml", Data: []byte("schema: 1\n")}, {Path: ".github/workflows/gopythongo.yml", Data: []byte("on: push\n")}}
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".gopythongo.yaml"), []byte("mine\n"), 0o644))
	err := Write(dir, files)
	require.ErrorContains(t, err, ".gopythongo.yaml: there already, and not overwritten (nothing was written)")
	b, _ := os.ReadFile(filepath.Join(dir, ".gopythongo.yaml"))
	assert.Equal(t, "mine\n", string(b))
	assert.NoDirExists(t, filepath.Join(dir, ".github"), "all or nothing")

	// A symlink in the file's place, or in a parent's, is not written through.
	other := t.TempDir()
	require.NoError(t, os.Remove(filepath.Join(dir, ".gopythongo.yaml")))
	require.NoError(t, os.Symlink(filepath.Join(other, "x"), filepath.Join(dir, ".gopythongo.yaml")))
	require.Error(t, Write(dir, files[:1]))
	assert.NoFileExists(t, filepath.Join(other, "x"))
	require.NoError(t, os.Remove(filepath.Join(dir, ".gopythongo.yaml")))
	require.NoError(t, os.Symlink(other, filepath.Join(dir, ".github")))
	require.ErrorContains(t, Write(dir, files), ".github is a symlink")
	entries, _ := os.ReadDir(other)
	assert.Empty(t, entries)
	assert.NoFileExists(t, filepath.Join(dir, ".gopythongo.yaml"), "the first file is taken back when the second fails")

	require.Error(t, Write(dir, []File{{Path: "../escape", Data: nil}}))
	require.NoError(t, os.Remove(filepath.Join(dir, ".github")))
	require.NoError(t, Write(dir, files))
	b, _ = os.ReadFile(filepath.Join(dir, ".github/workflows/gopythongo.yml"))
	assert.Equal(t, "on: push\n", string(b))
}

func TestCIFiles(t *testing.T) {
	for _, k := range CIKinds() {
		path, b, err := CIFile(k)
		require.NoError(t, err)
		assert.NotEmpty(t, b, k)
		assert.True(t, filepath.IsLocal(path))
	}
	_, _, err := CIFile("travis")
	assert.ErrorContains(t, err, "valid: circleci, github, gitlab, jenkins")
}
