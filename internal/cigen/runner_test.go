package cigen

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// runner runs composite actions the way GitHub's runner does: inputs mapped
// through the action's env, a bash step with GITHUB_ACTION_PATH, and the
// GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and GITHUB_STEP_SUMMARY files read
// back after each step.
type runner struct {
	t         *testing.T
	workspace string
	env       map[string]string // the job's environment
	tmp       string
	summary   strings.Builder
	log       strings.Builder // what the steps printed
	n         int
}

func newRunner(t *testing.T, workspace string, env map[string]string) *runner {
	r := &runner{t: t, workspace: workspace, env: env, tmp: t.TempDir()}
	r.env["GITHUB_ACTIONS"] = "true"
	r.env["GITHUB_WORKSPACE"] = workspace
	r.env["RUNNER_TEMP"] = filepath.Join(r.tmp, "runner-temp")
	if r.env["RUNNER_TOOL_CACHE"] == "" {
		r.env["RUNNER_TOOL_CACHE"] = filepath.Join(r.tmp, "tool-cache")
	}
	os.MkdirAll(r.env["RUNNER_TEMP"], 0o755)
	return r
}

type actionFile struct {
	Inputs map[string]struct {
		Default string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID               string            `yaml:"id"`
			Shell            string            `yaml:"shell"`
			Run              string            `yaml:"run"`
			WorkingDirectory string            `yaml:"working-directory"`
			Env              map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

var exprRE = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// use runs the action in dir with the inputs of `with` and the step's own
// env; it returns the action's outputs, or the error of its failing step.
func (r *runner) use(dir string, with, stepEnv map[string]string) (map[string]string, error) {
	r.t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "action.yml"))
	if err != nil {
		r.t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(data, &a); err != nil {
		r.t.Fatalf("%s/action.yml: %v", dir, err)
	}
	if a.Runs.Using != "composite" {
		r.t.Fatalf("%s: using %q, want composite", dir, a.Runs.Using)
	}
	inputs := map[string]string{}
	for name, in := range a.Inputs {
		inputs[name] = in.Default
	}
	for name, v := range with {
		if _, ok := a.Inputs[name]; !ok {
			r.t.Fatalf("%s has no input %q", dir, name)
		}
		inputs[name] = v
	}
	steps := map[string]map[string]string{}
	eval := func(s string) string {
		return exprRE.ReplaceAllStringFunc(s, func(m string) string {
			e := exprRE.FindStringSubmatch(m)[1]
			switch {
			case strings.HasPrefix(e, "inputs."):
				v, ok := inputs[strings.TrimPrefix(e, "inputs.")]
				if !ok {
					r.t.Fatalf("%s: %s names no input", dir, e)
				}
				return v
			case strings.HasPrefix(e, "steps."):
				parts := strings.Split(e, ".") // steps.ID.outputs.NAME
				if len(parts) != 4 || parts[2] != "outputs" {
					r.t.Fatalf("%s: unsupported expression %s", dir, e)
				}
				return steps[parts[1]][parts[3]]
			case e == "github.action_path":
				return dir
			}
			r.t.Fatalf("%s: the harness does not know the expression %s", dir, e)
			return ""
		})
	}
	for _, st := range a.Runs.Steps {
		if st.Shell != "bash" {
			r.t.Fatalf("%s: shell %q, want bash", dir, st.Shell)
		}
		r.n++
		files := map[string]string{}
		for _, f := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY"} {
			files[f] = filepath.Join(r.tmp, fmt.Sprintf("%s_%d", strings.ToLower(f), r.n))
			os.WriteFile(files[f], nil, 0o644)
		}
		env := map[string]string{}
		for k, v := range r.env {
			env[k] = v
		}
		for k, v := range stepEnv {
			env[k] = v
		}
		for k, v := range st.Env {
			env[k] = eval(v)
		}
		for k, v := range files {
			env[k] = v
		}
		env["GITHUB_ACTION_PATH"] = dir
		script := filepath.Join(r.tmp, fmt.Sprintf("step_%d.sh", r.n))
		os.WriteFile(script, []byte(eval(st.Run)), 0o644)
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
		cmd.Dir = r.workspace
		if wd := eval(st.WorkingDirectory); wd != "" {
			cmd.Dir = filepath.Join(r.workspace, wd)
		}
		var keys []string
		for k := range env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			cmd.Env = append(cmd.Env, k+"="+env[k])
		}
		out, err := cmd.CombinedOutput()
		r.log.Write(out)
		if err != nil {
			return nil, fmt.Errorf("%s step %s: %v\n%s", dir, st.ID, err, out)
		}
		steps[st.ID] = readOutputs(r.t, files["GITHUB_OUTPUT"])
		for k, v := range readOutputs(r.t, files["GITHUB_ENV"]) {
			r.env[k] = v
		}
		if b, _ := os.ReadFile(files["GITHUB_PATH"]); len(b) > 0 {
			for _, p := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				r.env["PATH"] = p + ":" + r.env["PATH"]
			}
		}
		b, _ := os.ReadFile(files["GITHUB_STEP_SUMMARY"])
		r.summary.Write(b)
	}
	outputs := map[string]string{}
	for name, o := range a.Outputs {
		outputs[name] = eval(o.Value)
	}
	return outputs, nil
}

// readOutputs reads a GITHUB_OUTPUT or GITHUB_ENV file: name=value lines and
// name<<DELIMITER blocks.
func readOutputs(t *testing.T, file string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if name, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(name, "=") {
			var val []string
			for sc.Scan() && sc.Text() != delim {
				val = append(val, sc.Text())
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		if name, val, ok := strings.Cut(line, "="); ok {
			out[name] = val
		}
	}
	return out
}
