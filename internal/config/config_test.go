package config

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite docs/config.md from the code")

func load(t *testing.T, yaml string, env []string, overrides ...Override) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	if yaml != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, DefaultFile), []byte(yaml), 0o644))
	}
	return Load(Options{Dir: dir, Environ: env, Overrides: overrides})
}

func TestDesignExampleLoads(t *testing.T) {
	cfg, err := Load(Options{File: "testdata/design.yaml", Environ: nil})
	require.NoError(t, err)
	assert.Equal(t, "hello", cfg.Project.Name)
	assert.Equal(t, "/opt/hello", cfg.Project.DeployPath)
	assert.Equal(t, []string{"tests/unit"}, cfg.Test.Suites["unit"].Paths)
	assert.Equal(t, "pytest", cfg.Test.Suites["integration"].Runner)
	assert.True(t, cfg.Venv.NoIndex)
	assert.Equal(t, []string{"deb", "tar.gz", "oci"}, cfg.Package.Formats)
	assert.Equal(t, []string{"libpq5"}, cfg.Package.Deb.Depends)
	require.Len(t, cfg.Publish.Stores, 2)
	assert.Equal(t, "bookworm", cfg.Publish.Stores[0].Distribution)
	assert.Equal(t, "stable", cfg.Publish.Stores[1].Distribution, "defaults apply inside lists")
	assert.Equal(t, "testdata/design.yaml:7", cfg.Origins["version.source"].String())
	assert.Equal(t, "testdata/design.yaml:11", cfg.Origins["test.suites.unit"].String())
	assert.Equal(t, "default", cfg.Origins["version.initial"].String())
	assert.Equal(t, []string{"main", "master"}, cfg.Version.Branches.Main)
	assert.Equal(t, "testdata", filepath.Base(cfg.Dir))
}

func TestDefaultsWithoutFile(t *testing.T) {
	cfg, err := load(t, "", nil)
	require.NoError(t, err)
	assert.Equal(t, "", cfg.File)
	assert.Equal(t, 1, cfg.Schema)
	assert.Equal(t, "git", cfg.Version.Source)
	assert.Equal(t, "/usr/bin/python3", cfg.Project.Python, "the target's system interpreter, not whatever python3 PATH finds (a pyenv shim)")
	assert.Equal(t, 1, cfg.Version.Revision)
	assert.True(t, cfg.Version.CommitID)
}

func TestErrorsNameFileLineAndChoices(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "schema: 1\nversion:\n  sorce: git\n",
			[]string{".gopythongo.yaml:3", `unknown key "sorce" in version`, "valid keys: source, scheme", `did you mean "source"?`}},
		{"unknown section", "schema: 1\nbuild: {}\n",
			[]string{".gopythongo.yaml:2", `unknown key "build" at the top level`}},
		{"bad enum", "version:\n  source: gti\n",
			[]string{".gopythongo.yaml:2", "version.source", `"gti" is not a valid choice (valid: git, pyproject, pymodule, searchfile, static, env)`}},
		{"bad enum in list", "package:\n  formats: [deb, zip]\n",
			[]string{".gopythongo.yaml:2", "package.formats[1]", `"zip" is not a valid choice (valid: deb, rpm, tar.gz`}},
		{"wrong type bool", "venv:\n  no_index: maybe\n",
			[]string{".gopythongo.yaml:2", "venv.no_index", "expected true or false"}},
		{"wrong type int", "version:\n  revision: two\n",
			[]string{".gopythongo.yaml:2", "expected a whole number"}},
		{"list expected", "venv:\n  requirements: requirements.txt\n",
			[]string{".gopythongo.yaml:2", "expected a list, e.g. [a, b]"}},
		{"mapping expected", "project: hello\n",
			[]string{".gopythongo.yaml:1", "expected a mapping"}},
		{"duplicate key", "project:\n  name: a\n  name: b\n",
			[]string{"project.name", "key appears twice"}},
		{"yaml syntax", "project:\n  name: [a\n",
			[]string{".gopythongo.yaml: not valid YAML", "line"}},
		{"schema", "schema: 2\n",
			[]string{".gopythongo.yaml:1", "schema 2 is not supported (valid: 1)"}},
		{"searchfile groups", "version:\n  source: searchfile\n  file: VERSION\n  pattern: '(a)(b)'\n",
			[]string{".gopythongo.yaml:4", "version.pattern", "exactly one"}},
		{"searchfile missing", "version:\n  source: searchfile\n",
			[]string{"version.file", "version.pattern"}},
		{"static invalid", "version:\n  source: static\n  value: one\n",
			[]string{".gopythongo.yaml:3", `"one" is not a valid tag version`}},
		{"deploy path", "project:\n  deploy_path: opt/hello\n",
			[]string{".gopythongo.yaml:2", "clean absolute path"}},
		{"revision_from", "version:\n  revision_from: apt\n",
			[]string{"version.revision_from", `no store named "apt"`}},
		{"store unknown key", "publish:\n  stores:\n    - {name: apt, type: apt-dir, path: x, colour: blue}\n",
			[]string{".gopythongo.yaml:3", `unknown key "colour" in publish.stores[0]`}},
		{"store tags", "publish:\n  stores:\n    - {name: r, type: registry, repository: x/y, tags: [version, newest]}\n",
			[]string{`"newest"`, "latest"}},
		{"store timeout", "publish:\n  stores:\n    - {name: r, type: oci-dir, path: x, timeout: soon}\n",
			[]string{"publish.stores[0].timeout", `"soon"`}},
		{"custom runner", "test:\n  suites:\n    e2e: {runner: custom}\n",
			[]string{".gopythongo.yaml:3", "test.suites.e2e.argv"}},
		{"branch pattern", "version:\n  branches:\n    release: ['release/*/*']\n",
			[]string{".gopythongo.yaml:3", "one *"}},
		{"two errors at once", "version:\n  source: gti\n  scheme: gitflw\n",
			[]string{`"gti"`, `"gitflw"`}},
		// The builders' sections: what debootstrap, apt and the container
		// program can take.
		{"chroot suite", "venv:\n  builder: chroot\n  chroot: {distribution: 'Bookworm!'}\n",
			[]string{".gopythongo.yaml:3", "venv.chroot.distribution", "bookworm"}},
		{"chroot mirror", "venv:\n  builder: chroot\n  chroot: {mirror: deb.debian.org}\n",
			[]string{"venv.chroot.mirror", "http://deb.debian.org/debian"}},
		{"chroot package", "venv:\n  builder: chroot\n  chroot: {install: [python3, 'gcc libpq-dev']}\n",
			[]string{"venv.chroot.install", `"gcc libpq-dev"`}},
		{"chroot without setuptools for a build without isolation", "venv:\n  builder: chroot\n  build_isolation: false\n  chroot: {install: [python3, python3-venv, python3-dev, gcc]}\n",
			[]string{"venv.chroot.install", "add python3-setuptools and python3-wheel"}},
		{"chroot empty command", "venv:\n  builder: chroot\n  chroot: {run_after_create: [[]]}\n",
			[]string{"venv.chroot.run_after_create[0]", "empty command"}},
		{"container without image", "venv:\n  builder: container\n",
			[]string{"venv.container.image", "venv.container.dockerfile"}},
		{"container image and dockerfile", "venv:\n  builder: container\n  container: {image: a, dockerfile: Dockerfile}\n",
			[]string{".gopythongo.yaml:3", "not both"}},
		{"container command with options", "venv:\n  builder: container\n  container: {image: a, command: 'podman --root /x'}\n",
			[]string{"venv.container.command", "global_args"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.yaml, nil)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestEnvAndFlagsOverride(t *testing.T) {
	yaml := "version:\n  source: static\n  value: 1.0.0\nvenv:\n  find_links: [a]\n"
	env := []string{
		"GOPYTHONGO_VERSION_VALUE=2.0.0",
		"GOPYTHONGO_VENV_FIND_LINKS=x, y",
		"GOPYTHONGO_VENV_EXTRA_INDEX_URLS=[\"https://a/simple\", \"https://b/simple\"]",
		"GOPYTHONGO_VENV_NO_INDEX=yes",
		"GOPYTHONGO_VERSION_BRANCHES_DEVELOP=dev",
		`GOPYTHONGO_TEST_SUITES={unit: {paths: [tests]}}`,
		"GOPYTHONGO_VERSION_SORCE=git",
		"GOPYTHONGO_TOKEN=not-a-key",
		"GOPYTHONGO_VENV_DIGEST=an-output",
		"PATH=/bin",
	}
	cfg, err := load(t, yaml, env, Override{Path: "version.value", Value: "3.0.0", Flag: "--set version.value=3.0.0"})
	require.NoError(t, err)
	assert.Equal(t, "3.0.0", cfg.Version.Value)
	assert.Equal(t, "flag --set version.value=3.0.0", cfg.Origins["version.value"].String())
	assert.Equal(t, []string{"x", "y"}, cfg.Venv.FindLinks)
	assert.Equal(t, "env GOPYTHONGO_VENV_FIND_LINKS", cfg.Origins["venv.find_links"].String())
	assert.Equal(t, []string{"https://a/simple", "https://b/simple"}, cfg.Venv.ExtraIndexURLs)
	assert.True(t, cfg.Venv.NoIndex)
	assert.Equal(t, []string{"dev"}, cfg.Version.Branches.Develop)
	assert.Equal(t, []string{"tests"}, cfg.Test.Suites["unit"].Paths)
	assert.Equal(t, "pytest", cfg.Test.Suites["unit"].Runner)
	assert.Equal(t, ".gopythongo.yaml:2", cfg.Origins["version.source"].String())
	require.Len(t, cfg.Warnings, 1, "only the near miss is warned about, not outputs or secrets")
	assert.Contains(t, cfg.Warnings[0], "GOPYTHONGO_VERSION_SORCE names no configuration key; did you mean GOPYTHONGO_VERSION_SOURCE?")
}

// TestActionInputsLeaveTheCallersVariables: a composite action passes every
// input as GOPYTHONGO_INPUT_<KEY>, "" when not given; the caller's
// GOPYTHONGO_<KEY> (workflow, job, step env) then reaches the step, a given
// input wins, and empty variables warn about nothing.
func TestActionInputsLeaveTheCallersVariables(t *testing.T) {
	tests := []struct {
		name   string
		env    []string
		want   string
		origin string
	}{
		{"job env, input not given", []string{"GOPYTHONGO_PACKAGE_OCI_BASE=debian:12", "GOPYTHONGO_INPUT_PACKAGE_OCI_BASE="}, "debian:12", "env GOPYTHONGO_PACKAGE_OCI_BASE"},
		{"input given", []string{"GOPYTHONGO_PACKAGE_OCI_BASE=debian:12", "GOPYTHONGO_INPUT_PACKAGE_OCI_BASE=python:3.11"}, "python:3.11", "env GOPYTHONGO_INPUT_PACKAGE_OCI_BASE"},
		{"only the input", []string{"GOPYTHONGO_INPUT_PACKAGE_OCI_BASE=python:3.11"}, "python:3.11", "env GOPYTHONGO_INPUT_PACKAGE_OCI_BASE"},
		{"neither", []string{"GOPYTHONGO_PACKAGE_OCI_BASE=", "GOPYTHONGO_INPUT_PACKAGE_OCI_BASE="}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append(slices.Clone(tt.env), "GOPYTHONGO_VENV_CACHE_DIR=", "GOPYTHONGO_INPUT_VENV_INDEX_URL=", "GOPYTHONGO_VENV_CAHCE_DIR=")
			cfg, err := load(t, "", env)
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg.Package.OCI.Base)
			if tt.origin != "" {
				assert.Equal(t, tt.origin, cfg.Origins["package.oci.base"].String())
			}
			assert.Empty(t, cfg.Warnings, "empty variables are unset, misspelt or not")
		})
	}
	cfg, err := load(t, "", []string{"GOPYTHONGO_VENV_CAHCE_DIR=/cache"})
	require.NoError(t, err)
	require.Len(t, cfg.Warnings, 1)
	assert.Contains(t, cfg.Warnings[0], "GOPYTHONGO_VENV_CAHCE_DIR names no configuration key; did you mean GOPYTHONGO_VENV_CACHE_DIR?")
}

func TestOverrideErrors(t *testing.T) {
	_, err := load(t, "", []string{"GOPYTHONGO_VERSION_SOURCE=gti"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "env GOPYTHONGO_VERSION_SOURCE: version.source: \"gti\" is not a valid choice")
	_, err = load(t, "", nil, Override{Path: "version.sorce", Value: "git", Flag: "--set version.sorce=git"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `flag --set version.sorce=git: unknown configuration key "version.sorce"; did you mean "version.source"?`)
	_, err = load(t, "", nil, Override{Path: "version.fetch", Value: "perhaps", Flag: "--fetch"})
	assert.ErrorContains(t, err, "flag --fetch: version.fetch: expected true or false")
}

func TestPrintConfigMasksSecretsAndShowsOrigins(t *testing.T) {
	yaml := "project:\n  name: hello\nvenv:\n  index_url: https://user:s3cret@pypi.example.com/simple\n"
	cfg, err := load(t, yaml, []string{"GOPYTHONGO_VERSION_SCHEME=none"})
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, cfg.Print(&b))
	out := b.String()
	assert.NotContains(t, out, "s3cret")
	assert.Contains(t, out, "https://user:***@pypi.example.com/simple")
	assert.Regexp(t, `project\.name\s+hello\s+\.gopythongo\.yaml:2`, out)
	assert.Regexp(t, `project\.deploy_path\s+/opt/hello\s+default`, out)
	assert.Regexp(t, `version\.scheme\s+none\s+env GOPYTHONGO_VERSION_SCHEME`, out)
	assert.Regexp(t, `version\.branches\.main\s+\[main, master\]\s+default`, out)
	for _, k := range LeafKeys() {
		assert.Contains(t, out, k.Path)
	}
}

func TestNameFromPyproject(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte("[project]\nname = \"hello-lib\"\n"), 0o644))
	cfg, err := Load(Options{Dir: dir})
	require.NoError(t, err)
	assert.Equal(t, "hello-lib", cfg.Project.Name)
	assert.Equal(t, "/opt/hello-lib", cfg.Project.DeployPath)
	assert.Equal(t, "default from pyproject.toml", cfg.Origins["project.name"].String())
}

func TestExplicitConfigMustExist(t *testing.T) {
	_, err := Load(Options{File: "/nonexistent/gpg.yaml"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pass --config with an existing file")
}

func TestEveryKeyIsDocumented(t *testing.T) {
	for _, k := range Keys() {
		assert.NotEmpty(t, k.Doc, "key %s has no doc tag", k.Path)
	}
}

// TestReference keeps docs/config.md in step with the code.
func TestReference(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "config.md")
	want := Reference()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, want, string(got), "docs/config.md is stale: run go test ./internal/config -run TestReference -update")
	for _, k := range LeafKeys() {
		assert.Contains(t, string(got), k.EnvName())
	}
}

func TestEmptyVariableIsUnset(t *testing.T) {
	c, err := load(t, "version:\n  scheme: none\n", []string{"GOPYTHONGO_VERSION_SCHEME=", "GOPYTHONGO_VENV_FIND_LINKS=[]"})
	require.NoError(t, err)
	assert.Equal(t, "none", c.Version.Scheme, "the file's value stays")
	assert.Empty(t, c.Venv.FindLinks)

	// A name twice is its last value, as os/exec passes it to a child.
	c, err = load(t, "version:\n  scheme: none\n", []string{"GOPYTHONGO_VERSION_SCHEME=semver", "GOPYTHONGO_VERSION_SCHEME=", "GOPYTHONGO_PROJECT_NAME=", "GOPYTHONGO_PROJECT_NAME=hi"})
	require.NoError(t, err)
	assert.Equal(t, "none", c.Version.Scheme, "the last, empty, unsets")
	assert.Equal(t, "hi", c.Project.Name)
}

// TestReadmeSnippetsLoad loads every configuration snippet of README.md: a
// yaml block whose top-level keys are all sections of .gopythongo.yaml.
func TestReadmeSnippetsLoad(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	sections := []string{"schema:", "project:", "version:", "test:", "venv:", "package:", "publish:"}
	n := 0
	for i, block := range strings.Split(string(data), "```yaml\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		// A block inside a list item is indented as the item is.
		indent := block[:len(block)-len(strings.TrimLeft(block, " "))]
		var lines []string
		for _, l := range strings.Split(block, "\n") {
			lines = append(lines, strings.TrimPrefix(l, indent))
		}
		block = strings.Join(lines, "\n")
		ours := true
		for _, l := range strings.Split(block, "\n") {
			if l != "" && l[0] != ' ' && l[0] != '#' && !slices.ContainsFunc(sections, func(s string) bool { return strings.HasPrefix(l, s) }) {
				ours = false
			}
		}
		if !ours {
			continue
		}
		n++
		if !strings.HasPrefix(block, "schema:") {
			block = "schema: 1\n" + block
		}
		_, err := load(t, block, nil)
		assert.NoError(t, err, "README yaml block %d:\n%s", i+1, block)
	}
	assert.GreaterOrEqual(t, n, 4)
}

// TestErrorNamesTheKeyOnce: an error of a key set by --set names the key
// once, not in the flag and again after it; from the file it names both.
func TestErrorNamesTheKeyOnce(t *testing.T) {
	c, err := load(t, "schema: 1\npackage:\n  deb: {maintainer: x}\n", nil, Override{Flag: "--set package.deb.maintainer=", Path: "package.deb.maintainer", Value: ""})
	require.NoError(t, err)
	msg := c.Errorf("package.deb.maintainer", "a .deb needs a maintainer").Error()
	assert.Equal(t, 1, strings.Count(msg, "package.deb.maintainer"), msg)
	assert.Contains(t, msg, "a .deb needs a maintainer")
	c, err = load(t, "schema: 1\npackage:\n  deb: {maintainer: x}\n", nil)
	require.NoError(t, err)
	assert.Equal(t, ".gopythongo.yaml:3: package.deb.maintainer: bad", c.Errorf("package.deb.maintainer", "bad").Error())
}

// TestKeyLookupsAreTheKeyTable holds the lookups that descend only the
// fields on their way (every step at start-up) to the table of every key:
// each key outside maps and lists is found by its path, each leaf by its
// variable and its input's, with the same description, and near misses of
// either are not found.
func TestKeyLookupsAreTheKeyTable(t *testing.T) {
	var found int
	for _, k := range Keys() {
		got, ok := LookupKey(k.Path)
		if k.Index == nil {
			assert.False(t, ok, "%s is inside a map or a list", k.Path)
			continue
		}
		require.True(t, ok, k.Path)
		assert.Equal(t, k, got)
		misses := []string{k.Path + "x", k.Path[:len(k.Path)-1], k.Path + ".", "." + k.Path}
		if i := strings.LastIndexByte(k.Path, '.'); i > 0 {
			misses = append(misses, k.Path[:i]+"x"+k.Path[i+1:])
		}
		for _, miss := range misses {
			_, ok := LookupKey(miss)
			assert.False(t, ok, miss)
		}
		if k.Section {
			assert.Empty(t, envKeys(strings.TrimPrefix(k.EnvName(), "GOPYTHONGO_")), "a section has no variable: %s", k.Path)
			continue
		}
		found++
		assert.Equal(t, []Key{k}, envKeys(strings.TrimPrefix(k.EnvName(), "GOPYTHONGO_")), k.Path)
		assert.Equal(t, []Key{k}, envKeys(strings.TrimPrefix(k.InputEnvName(), "GOPYTHONGO_INPUT_")), k.Path)
		name := strings.TrimPrefix(k.EnvName(), "GOPYTHONGO_")
		envMisses := []string{name + "X", name[:len(name)-1], name + "_", "_" + name, strings.ToLower(name)}
		if i := strings.LastIndexByte(name, '_'); i > 0 {
			envMisses = append(envMisses, name[:i]+"X"+name[i+1:])
		}
		for _, miss := range envMisses {
			assert.Empty(t, envKeys(miss), miss)
		}
	}
	assert.Greater(t, found, 100, "the leaf keys were looked up")
	_, ok := LookupKey("")
	assert.False(t, ok)
	assert.Empty(t, envKeys(""))
}
