package cigen

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/gopythongo/gopythongo/internal/testutil"
)

// TestOrbCommands holds orb/src/commands/<step>.yml to what the steps say.
func TestOrbCommands(t *testing.T) {
	for _, a := range Actions() {
		var b bytes.Buffer
		require.NoError(t, WriteOrbCommand(&b, a))
		file := filepath.Join(testutil.RepoRoot(), "orb/src/commands", a.Dir+".yml")
		if *update {
			require.NoError(t, os.WriteFile(file, b.Bytes(), 0o644))
			continue
		}
		have, err := os.ReadFile(file)
		require.NoError(t, err, "run go test ./internal/cigen -run TestOrbCommands -update")
		assert.Equal(t, b.String(), string(have), "%s is out of date: go test ./internal/cigen -run TestOrbCommands -update", file)
	}
}

var includeRE = regexp.MustCompile(`^<<include\(([^)]+)\)>>$`)

// packOrb packs orb/src into one orb, as `circleci orb pack` does: @orb.yml,
// then commands, jobs, executors and examples by file name, with every
// <<include(file)>> replaced by the file's text.
func packOrb(t *testing.T, src string) map[string]any {
	t.Helper()
	read := func(file string) *yaml.Node {
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		var n yaml.Node
		require.NoError(t, yaml.Unmarshal(b, &n), file)
		var walk func(*yaml.Node)
		walk = func(n *yaml.Node) {
			if m := includeRE.FindStringSubmatch(n.Value); n.Kind == yaml.ScalarNode && m != nil {
				inc, err := os.ReadFile(filepath.Join(src, m[1]))
				require.NoError(t, err, "%s includes %s", file, m[1])
				n.Value, n.Style, n.Tag = string(inc), yaml.LiteralStyle, "!!str"
			}
			for _, c := range n.Content {
				walk(c)
			}
		}
		walk(&n)
		return n.Content[0]
	}
	orb := read(filepath.Join(src, "@orb.yml"))
	for _, section := range []string{"commands", "jobs", "executors", "examples"} {
		files, _ := filepath.Glob(filepath.Join(src, section, "*.yml"))
		require.NotEmpty(t, files, section)
		m := &yaml.Node{Kind: yaml.MappingNode}
		for _, f := range files {
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: strings.TrimSuffix(filepath.Base(f), ".yml")}, read(f))
		}
		orb.Content = append(orb.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: section}, m)
	}
	packed, err := yaml.Marshal(orb)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, yaml.Unmarshal(packed, &out))
	require.NoError(t, os.WriteFile(filepath.Join(t.TempDir(), "orb.yml"), packed, 0o644))
	return out
}

// builtinSteps are CircleCI's own steps that an orb's jobs use.
var builtinSteps = []string{"run", "checkout", "store_test_results", "store_artifacts", "persist_to_workspace", "attach_workspace", "when", "unless", "save_cache", "restore_cache"}

var paramRE = regexp.MustCompile(`<<\s*parameters\.([a-z0-9_-]+)\s*>>`)

func asMap(t *testing.T, v any, what string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	require.True(t, ok, "%s is not a mapping: %v", what, v)
	return m
}

// checkParams checks that every << parameters.x >> of a command or job is
// declared, and every declaration has a known type and a default of it.
func checkParams(t *testing.T, what string, def map[string]any) map[string]any {
	params := map[string]any{}
	if p, ok := def["parameters"]; ok {
		params = asMap(t, p, what+" parameters")
	}
	for name, p := range params {
		pm := asMap(t, p, what+"."+name)
		typ, _ := pm["type"].(string)
		assert.Contains(t, []string{"string", "boolean", "integer", "enum", "executor", "steps", "env_var_name"}, typ, "%s.%s type", what, name)
		assert.NotEmpty(t, pm["description"], "%s.%s has a description", what, name)
		if d, ok := pm["default"]; ok && typ == "boolean" {
			_, isBool := d.(bool)
			assert.True(t, isBool, "%s.%s default is a boolean", what, name)
		}
	}
	b, _ := yaml.Marshal(def)
	for _, m := range paramRE.FindAllStringSubmatch(string(b), -1) {
		assert.Contains(t, params, m[1], "%s uses << parameters.%s >>, which it does not declare", what, m[1])
	}
	return params
}

// checkSteps checks the steps of a job or command: built-in steps or orb
// commands, with only the parameters a command declares.
func checkSteps(t *testing.T, what string, steps []any, commands map[string]any) {
	for _, s := range steps {
		if name, ok := s.(string); ok {
			require.True(t, slices.Contains(builtinSteps, name) || commands[name] != nil, "%s: unknown step %s", what, name)
			continue
		}
		m := asMap(t, s, what+" step")
		require.Len(t, m, 1, "%s: a step is one key", what)
		for name, args := range m {
			switch {
			case name == "when" || name == "unless":
				checkSteps(t, what+" "+name, asMap(t, args, name)["steps"].([]any), commands)
			case slices.Contains(builtinSteps, name):
			default:
				cmd, ok := commands[name]
				require.True(t, ok, "%s: unknown command %s", what, name)
				declared := map[string]any{}
				if p, ok := asMap(t, cmd, name)["parameters"]; ok {
					declared = asMap(t, p, name)
				}
				if args != nil {
					for arg := range asMap(t, args, name) {
						assert.Contains(t, declared, arg, "%s passes %s to %s, which does not declare it", what, arg, name)
					}
				}
			}
		}
	}
}

// TestOrbPacksAndValidates packs the orb and checks its structure: every
// include resolves, every parameter used is declared, every step and command
// exists, and the example uses the orb's jobs with their parameters.
func TestOrbPacksAndValidates(t *testing.T) {
	orb := packOrb(t, filepath.Join(testutil.RepoRoot(), "orb/src"))
	assert.Equal(t, 2.1, orb["version"])
	assert.NotEmpty(t, orb["description"])
	commands := asMap(t, orb["commands"], "commands")
	jobs := asMap(t, orb["jobs"], "jobs")
	executors := asMap(t, orb["executors"], "executors")
	for _, want := range []string{"install", "version", "test", "build-venv", "package", "publish"} {
		require.Contains(t, commands, want)
	}
	for name, c := range commands {
		cm := asMap(t, c, name)
		checkParams(t, "command "+name, cm)
		checkSteps(t, "command "+name, cm["steps"].([]any), commands)
		b, _ := yaml.Marshal(cm)
		assert.NotContains(t, string(b), "<<include", "%s: every include is resolved", name)
	}
	for name, j := range jobs {
		jm := asMap(t, j, name)
		params := checkParams(t, "job "+name, jm)
		exec := asMap(t, params["executor"], "executor")["default"].(string)
		assert.Contains(t, executors, exec, "job %s runs on a known executor", name)
		checkSteps(t, "job "+name, jm["steps"].([]any), commands)
	}
	for name, e := range executors {
		checkParams(t, "executor "+name, asMap(t, e, name))
	}
	pub := asMap(t, asMap(t, commands["publish"], "publish")["parameters"], "publish")
	for _, s := range orbSecrets {
		assert.Equal(t, "env_var_name", asMap(t, pub[s.param], s.param)["type"], "secrets are env_var_name parameters")
	}
	steps := fmt.Sprint(asMap(t, jobs["pipeline"], "pipeline")["steps"])
	for _, want := range []string{"store_test_results", "store_artifacts", "persist_to_workspace"} {
		assert.Contains(t, steps, want)
	}
	assert.Contains(t, fmt.Sprint(asMap(t, jobs["publish"], "publish")["steps"]), "attach_workspace")

	for name, ex := range asMap(t, orb["examples"], "examples") {
		usage := asMap(t, asMap(t, ex, name)["usage"], name+" usage")
		for wfName, wf := range asMap(t, usage["workflows"], "workflows") {
			for _, j := range asMap(t, wf, wfName)["jobs"].([]any) {
				for ref, args := range asMap(t, j, "job") {
					local, ok := strings.CutPrefix(ref, "gopythongo/")
					if !ok {
						continue // a job of the example's own, e.g. an approval
					}
					require.Contains(t, jobs, local, "example %s uses %s", name, ref)
					declared := asMap(t, asMap(t, jobs[local], local)["parameters"], local)
					for arg := range asMap(t, args, ref) {
						if !slices.Contains([]string{"name", "requires", "filters", "context", "type"}, arg) {
							assert.Contains(t, declared, arg, "example %s passes %s to %s", name, arg, ref)
						}
					}
				}
			}
		}
	}
}

// orbRun runs the run step of an orb command as CircleCI would: its
// environment with the parameters given (defaults otherwise), the included
// script, with bash, in dir, under env.
func orbRun(t *testing.T, orb map[string]any, command string, params map[string]string, dir string, env []string) (string, error) {
	t.Helper()
	cmd := asMap(t, asMap(t, orb["commands"], "commands")[command], command)
	declared := asMap(t, cmd["parameters"], command)
	value := func(name string) string {
		if v, ok := params[name]; ok {
			return v
		}
		return fmt.Sprint(asMap(t, declared[name], name)["default"])
	}
	steps := cmd["steps"].([]any)
	run := asMap(t, asMap(t, steps[len(steps)-1], "step")["run"], "run")
	sub := func(s string) string {
		return paramRE.ReplaceAllStringFunc(s, func(m string) string { return value(paramRE.FindStringSubmatch(m)[1]) })
	}
	vars := append([]string(nil), env...)
	for k, v := range asMap(t, run["environment"], "environment") {
		vars = append(vars, k+"="+sub(fmt.Sprint(v)))
	}
	script := filepath.Join(t.TempDir(), "step.sh")
	require.NoError(t, os.WriteFile(script, []byte(run["command"].(string)), 0o755))
	c := exec.Command("bash", "-eo", "pipefail", script)
	c.Dir, c.Env = dir, vars
	out, err := c.CombinedOutput()
	return string(out), err
}

// TestOrbScripts runs the orb's commands with bash under CIRCLE_* variables:
// install from a release archive, then the real version step on examples/hello
// (its outputs land in BASH_ENV); the other commands against stub binaries
// that record the argv they get.
func TestOrbScripts(t *testing.T) {
	orb := packOrb(t, filepath.Join(testutil.RepoRoot(), "orb/src"))
	dir, sums := release(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	p := testutil.HelloProject(t, "schema: 1\nproject: {name: hello}\n")
	home := t.TempDir()
	bashEnv := filepath.Join(t.TempDir(), "bash_env")
	require.NoError(t, os.WriteFile(bashEnv, nil, 0o644))
	env := []string{"HOME=" + home, "PATH=/usr/bin:/bin", "BASH_ENV=" + bashEnv, "CIRCLECI=true", "CIRCLE_BRANCH=develop",
		"CIRCLE_SHA1=" + p.Head(), "CIRCLE_BUILD_NUM=31", "CIRCLE_BUILD_URL=https://circleci.com/gh/example/hello/31",
		"CIRCLE_PROJECT_USERNAME=example", "CIRCLE_PROJECT_REPONAME=hello", "CIRCLE_REPOSITORY_URL=git@github.com:example/hello.git"}

	out, err := orbRun(t, orb, "install", map[string]string{"version": "1.2.0", "sha256": strings.Repeat("0", 64), "download-url": srv.URL}, p.Dir, env)
	require.Error(t, err)
	assert.Contains(t, out, "refusing it")
	out, err = orbRun(t, orb, "install", map[string]string{"version": "1.2.0", "sha256": sums["gopythongo_1.2.0_linux_amd64.tar.gz"], "download-url": srv.URL}, p.Dir, env)
	require.NoError(t, err, out)
	b, _ := os.ReadFile(bashEnv)
	assert.Contains(t, string(b), `export PATH="`+home+`/.gopythongo/bin:$PATH"`)

	// The real version step: CircleCI's variables say develop, and the
	// outputs are exported to later steps through BASH_ENV.
	envWithBin := append(slices.Clone(env), "PATH="+home+"/.gopythongo/bin:/usr/bin:/bin")
	p.Checkout("develop", true)
	p.Commit("work")
	envWithBin = append(envWithBin, "CIRCLE_SHA1="+p.Head())
	out, err = orbRun(t, orb, "version", map[string]string{"explain": "true"}, p.Dir, envWithBin)
	require.NoError(t, err, out)
	assert.Contains(t, out, "rule:")
	b, _ = os.ReadFile(bashEnv)
	assert.Contains(t, string(b), "export GOPYTHONGO_SEMVER=1.1.0-dev.1+g"+p.Head()[:10])
	assert.Contains(t, string(b), "export GOPYTHONGO_CHANNEL=dev")

	// The other commands, against stubs that record their argv.
	stubs := t.TempDir()
	for _, s := range []string{"gopythongo-test", "gopythongo-build-venv", "gopythongo-package", "gopythongo-publish"} {
		require.NoError(t, os.WriteFile(filepath.Join(stubs, s), []byte("#!/bin/sh\n{ for a in \"$@\"; do printf '%s\\n' \"$a\"; done; env | grep -E '^(REGISTRY_PASSWORD|DOCKERHUB_TOKEN)=' | sort; } > \"$RECORD\"\n"), 0o755))
	}
	record := filepath.Join(t.TempDir(), "record")
	// A fresh BASH_ENV: the one above puts the real binaries first on PATH.
	stubEnv := append(slices.Clone(env), "PATH="+stubs+":/usr/bin:/bin", "RECORD="+record, "BASH_ENV="+filepath.Join(t.TempDir(), "empty"))
	for _, tt := range []struct {
		command string
		params  map[string]string
		env     []string
		want    []string
	}{
		{"test", map[string]string{"suite": "unit, integration", "verbose": "true"}, nil, []string{"--suite", "unit", "--suite", "integration", "--verbose"}},
		{"build-venv", map[string]string{"dist-only": "true", "set": "venv.cache_dir=/cache\nvenv.no_index=true"}, nil,
			[]string{"--dist-only", "--set", "venv.cache_dir=/cache", "--set", "venv.no_index=true"}},
		{"package", map[string]string{"format": "deb oci", "config": "ci/gopythongo.yaml"}, nil, []string{"--config", "ci/gopythongo.yaml", "--format", "deb", "--format", "oci"}},
		{"publish", map[string]string{"store": "registry", "registry-password": "DOCKERHUB_TOKEN"}, []string{"DOCKERHUB_TOKEN=s3cret"},
			[]string{"--store", "registry", "DOCKERHUB_TOKEN=s3cret", "REGISTRY_PASSWORD=s3cret"}},
		{"publish", map[string]string{"force": "true"}, []string{"REGISTRY_PASSWORD=kept"}, []string{"--force", "REGISTRY_PASSWORD=kept"}},
		{"publish", map[string]string{"overwrite": "true"}, []string{"REGISTRY_PASSWORD=kept"}, []string{"--overwrite", "REGISTRY_PASSWORD=kept"}},
	} {
		out, err := orbRun(t, orb, tt.command, tt.params, p.Dir, append(stubEnv, tt.env...))
		require.NoError(t, err, "%s: %s", tt.command, out)
		got, _ := os.ReadFile(record)
		assert.Equal(t, tt.want, strings.Split(strings.TrimSpace(string(got)), "\n"), tt.command)
	}
	out, err = orbRun(t, orb, "build-venv", map[string]string{"verbose": "yes"}, p.Dir, stubEnv)
	require.Error(t, err)
	assert.Contains(t, out, "input verbose must be true or false")
}

// TestReadmeCircleCISnippet checks the README's orb usage against the packed
// orb: the job exists and takes every parameter given.
func TestReadmeCircleCISnippet(t *testing.T) {
	orb := packOrb(t, filepath.Join(testutil.RepoRoot(), "orb/src"))
	jobs := asMap(t, orb["jobs"], "jobs")
	var cfg map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(readmeBlock(t, "### CircleCI", "yaml")), &cfg))
	assert.Equal(t, 2.1, cfg["version"])
	n := 0
	for _, wf := range asMap(t, cfg["workflows"], "workflows") {
		for _, j := range asMap(t, wf, "workflow")["jobs"].([]any) {
			for ref, args := range asMap(t, j, "job") {
				local := strings.TrimPrefix(ref, "gopythongo/")
				require.Contains(t, jobs, local)
				declared := asMap(t, asMap(t, jobs[local], local)["parameters"], local)
				for arg := range asMap(t, args, ref) {
					if arg != "context" && arg != "filters" && arg != "requires" && arg != "name" {
						assert.Contains(t, declared, arg)
						n++
					}
				}
			}
		}
	}
	assert.Greater(t, n, 2)
}

// TestOrbScriptsHaveNoParameterSyntax: CircleCI's compiler reads every << of
// an included script as the start of a parameter, unless escaped (\<<).
func TestOrbScriptsHaveNoParameterSyntax(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testutil.RepoRoot(), "orb", "src", "scripts", "*.sh"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for i, line := range strings.Split(string(b), "\n") {
			if strings.Contains(strings.ReplaceAll(line, `\<<`, ""), "<<") {
				t.Errorf("%s:%d holds << unescaped, which CircleCI takes for a parameter: %s", filepath.Base(f), i+1, line)
			}
		}
	}
}
