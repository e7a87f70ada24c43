package steps_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/steps/versionstep"
	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
)

// adoptee is an existing project of a shape of its own.
type adoptee struct {
	name  string
	files map[string]string
	// prepare runs after the first commit (a remote, a lock made by uv).
	prepare func(t *testing.T, r *testutil.GitRepo, index string)
	// tag is the release tag the project has, "" none; it moves to the
	// commit that adds the configuration, as a user's next release would.
	tag string
	// in the generated configuration, and what the pipeline gives.
	config  []string
	version string
	// run is a console script and what it prints, installed from the
	// apt repository.
	run []string
	out string
}

var adoptees = []adoptee{
	{
		// A Flask service: setuptools, src layout, a console script, unit and
		// integration suites with pytest from the tests extra, authors, an ssh
		// remote with a user, the version from a tag.
		name: "flask-shop",
		files: map[string]string{
			"pyproject.toml": `[build-system]
requires = ["setuptools>=61", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "flask-shop"
dynamic = ["version"]
requires-python = ">=3.9"
dependencies = ["flask>=3"]
authors = [{name = "Shop Team", email = "shop@example.com"}]

[project.optional-dependencies]
tests = ["pytest"]

[project.scripts]
flask-shop = "flask_shop:main"

[tool.setuptools.dynamic]
version = {attr = "flask_shop.__version__"}
`,
			"src/flask_shop/__init__.py": `__version__ = "1.4.0"
from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "shop open"


def main():
    print(app.test_client().get("/").get_data(as_text=True))
`,
			"tests/unit/test_app.py":        "from flask_shop import app\n\n\ndef test_index():\n    assert app.test_client().get('/').status_code == 200\n",
			"tests/integration/test_run.py": "from flask_shop import main\n\n\ndef test_main(capsys):\n    main()\n    assert capsys.readouterr().out == 'shop open\\n'\n",
		},
		prepare: func(t *testing.T, r *testutil.GitRepo, index string) {
			r.Git("remote", "add", "origin", "git@github.com:acme/flask-shop.git")
		},
		tag:     "v1.4.0",
		config:  []string{"source: git", "set_version: false", "extra: tests", "integration: {runner: pytest, paths: [tests/integration]}", `maintainer: Shop Team <shop@example.com>`, "source_url: https://github.com/acme/flask-shop"},
		version: "1.4.0",
		run:     []string{"/opt/flask-shop/bin/flask-shop"}, out: "shop open\n",
	},
	{
		// A command-line tool: hatchling, a flat layout, a static version and
		// no tag yet, unittest tests, uv.lock made by uv, no authors (the
		// maintainer comes from git), a remote with a token in it.
		name: "hatch-tool",
		files: map[string]string{
			"pyproject.toml": `[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "hatch-tool"
version = "0.3.0"
requires-python = ">=3.10"
dependencies = ["click>=8"]

[project.scripts]
hatch-tool = "hatch_tool:cli"
`,
			"hatch_tool/__init__.py": "import click\n\n\n@click.command()\ndef cli():\n    click.echo('tool ' + __name__)\n",
			"tests/test_cli.py":      "import unittest\n\nfrom click.testing import CliRunner\n\nfrom hatch_tool import cli\n\n\nclass TestCli(unittest.TestCase):\n    def test_cli(self):\n        self.assertEqual(CliRunner().invoke(cli).output, 'tool hatch_tool\\n')\n",
		},
		prepare: func(t *testing.T, r *testutil.GitRepo, index string) {
			r.Git("remote", "add", "origin", "https://ci:glpat-s3cret@gitlab.example.com/tools/hatch-tool.git")
			cmd := exec.Command(testutil.PyTool(t, "uv"), "lock", "--default-index", index, "--python", "/usr/bin/python3", "--no-cache")
			cmd.Dir, cmd.Env = r.Dir, append(testutil.CleanEnv(), "HOME="+t.TempDir())
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "uv lock: %s", out)
			r.Git("add", "uv.lock")
			r.Commit("lock")
		},
		config:  []string{"source: pyproject", "lock: uv.lock", "tests: {runner: unittest, paths: [tests]}", "source_url: https://gitlab.example.com/tools/hatch-tool"},
		version: "0.3.0",
		run:     []string{"/opt/hatch-tool/bin/hatch-tool"}, out: "tool hatch_tool\n",
	},
	{
		// A Django site: poetry-core, manage.py, pinned requirements.txt, a
		// test/ directory with Django's unittest tests, no console script, a
		// tag without v, no remote.
		name: "django-site",
		files: map[string]string{
			"pyproject.toml": `[build-system]
requires = ["poetry-core>=2"]
build-backend = "poetry.core.masonry.api"

[project]
name = "django-site"
version = "2.0.0"
requires-python = ">=3.10"
dependencies = ["django>=5"]

[tool.poetry]
packages = [{include = "site_app"}]
`,
			"requirements.txt":     "django==5.2.19\nasgiref==3.13.0\nsqlparse==0.6.1\ngunicorn==27.0.1\n",
			"manage.py":            "import os, sys\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site_app.settings')\nfrom django.core.management import execute_from_command_line\nexecute_from_command_line(sys.argv)\n",
			"site_app/__init__.py": "",
			"site_app/settings.py": "SECRET_KEY = 'test'\nINSTALLED_APPS = []\nDATABASES = {}\nROOT_URLCONF = 'site_app.urls'\n",
			"site_app/urls.py":     "urlpatterns = []\n",
			"test/test_settings.py": `import os
import unittest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_app.settings")


class TestSettings(unittest.TestCase):
    def test_configured(self):
        from django.conf import settings
        self.assertEqual(settings.ROOT_URLCONF, "site_app.urls")
`,
		},
		prepare: func(t *testing.T, r *testutil.GitRepo, index string) {},
		tag:     "2.0.0",
		config:  []string{"source: git", "requirements: [requirements.txt]", "tests: {runner: unittest, paths: [test]}", "# post_build: [[-m, django, collectstatic, --noinput]]"},
		version: "2.0.0",
		run:     []string{"/opt/django-site/bin/python", "-c", "import django, site_app; print(django.get_version())"}, out: "5.2.19\n",
	},
}

// TestInitAdoptsThreeProjects adopts three differently shaped projects with
// gopythongo-version --init and runs the whole pipeline on each with the
// file as written: version, test, build-venv, package, publish to the apt
// repository it configures; apt-get installs the package from there into a
// Debian root and runs it. The generated files hold to the JSON Schema, name
// it for editors, carry no credential of the remote, and a second --init
// overwrites nothing. Dependencies come from a local pypiserver serving the
// PyPI corpus, as a CI's mirror would (GOPYTHONGO_VENV_INDEX_URL).
func TestInitAdoptsThreeProjects(t *testing.T) {
	ix := testutil.StartPypiserver(t, false, testutil.Corpus(t))
	cache := t.TempDir()
	var generated []string
	for _, a := range adoptees {
		t.Run(a.name, func(t *testing.T) {
			r := testutil.NewGitRepo(t)
			for name, content := range a.files {
				r.WriteFile(name, content)
			}
			r.WriteFile(".gitignore", "dist/\n")
			r.Git("add", "-A")
			r.Commit("the project as it was")
			a.prepare(t, r, ix.URL)
			if a.tag != "" {
				r.Tag(a.tag)
			}

			env := map[string]string{"GOPYTHONGO_VENV_INDEX_URL": ix.URL, "GOPYTHONGO_VENV_CACHE_DIR": cache, "HOME": t.TempDir()}
			code, stdout, stderr := runStep(t, versionstep.Version(steptest.AskStore), r.Dir, env, "--init", "--ci", "github")
			require.Equal(t, 0, code, stderr)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, "wrote .gopythongo.yaml")
			assert.Contains(t, stderr, "wrote .github/workflows/gopythongo.yml")
			cfg, err := os.ReadFile(filepath.Join(r.Dir, ".gopythongo.yaml"))
			require.NoError(t, err)
			generated = append(generated, string(cfg))
			assert.True(t, strings.HasPrefix(string(cfg), "# yaml-language-server: $schema="), "the schema line comes first")
			for _, want := range a.config {
				assert.Contains(t, string(cfg), want, "%s", cfg)
			}
			assert.NotContains(t, string(cfg), "s3cret", "no credential of the remote")

			code, _, stderr = runStep(t, versionstep.Version(steptest.AskStore), r.Dir, env, "--init")
			assert.Equal(t, cli.ExitUsage, code)
			assert.Contains(t, stderr, "not overwritten")
			again, _ := os.ReadFile(filepath.Join(r.Dir, ".gopythongo.yaml"))
			assert.Equal(t, string(cfg), string(again))

			// The files are committed as a user would, and the pipeline runs.
			r.Git("add", "-A")
			r.Commit("GoPythonGo")
			if a.tag != "" {
				r.Git("tag", "-f", "-a", "-m", a.tag, a.tag)
			}
			for _, step := range allSteps() {
				code, stdout, stderr := runStep(t, step, r.Dir, env, "--check")
				require.Equal(t, 0, code, "%s --check:\n%s%s", step.Name, stdout, stderr)
			}
			out := must(t, versionstep.Version(steptest.AskStore), r.Dir, env)
			assert.Contains(t, out, "semver="+a.version+"\n")
			for _, step := range allSteps()[1:] {
				must(t, step, r.Dir, env)
			}
			st, err := state.Load(filepath.Join(r.Dir, "dist"))
			require.NoError(t, err)
			require.Len(t, st.Publications, 1)
			deb := filepath.Join(r.Dir, "dist", st.Artifacts[0].Path)
			info, err := exec.Command("dpkg-deb", "--field", deb, "Package", "Version", "Depends").CombinedOutput()
			require.NoError(t, err, "%s", info)
			assert.Contains(t, string(info), "Package: "+a.name+"\nVersion: "+a.version+"-1\n")
			assert.Contains(t, string(info), "python3.11")

			root := testutil.DebianRoot(t)
			repo := filepath.Join(root, "srv", "apt")
			require.NoError(t, exec.Command("cp", "-a", filepath.Join(r.Dir, "dist", "apt-repo"), repo).Run())
			aptOut, err := testutil.AptGet(root, "deb [trusted=yes] file:/srv/apt bookworm main", "", "install", "-y", a.name)
			require.NoError(t, err, aptOut)
			got, err := exec.Command("chroot", append([]string{root}, a.run...)...).CombinedOutput()
			require.NoError(t, err, "%s", got)
			assert.Equal(t, a.out, string(got))
		})
	}
	for i, v := range testutil.ValidateConfigs(t, generated) {
		assert.Empty(t, v, "generated configuration %d against the schema", i)
	}
}
