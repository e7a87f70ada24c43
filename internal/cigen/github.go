// Package cigen generates the CI integrations that follow from the steps
// themselves: the GitHub composite action and the CircleCI orb command of each
// step come from its flags, outputs and configuration keys, so that the two
// never drift. Like the step mains it sits above internal/steps. The tests of
// this package exercise every integration (GitHub, Jenkins, CircleCI, GitLab).
package cigen

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/steps/buildvenvstep"
	"github.com/gopythongo/gopythongo/internal/steps/packagestep"
	"github.com/gopythongo/gopythongo/internal/steps/publishstep"
	"github.com/gopythongo/gopythongo/internal/steps/teststep"
	"github.com/gopythongo/gopythongo/internal/steps/versionstep"
)

// Action is a step with the directory of its composite action, actions/<Dir>.
type Action struct {
	Dir  string
	Step func() cli.Step
}

// Actions is the one table of the steps' composite actions.
func Actions() []Action {
	return []Action{
		{"version", func() cli.Step { return versionstep.Version(nil) }}, // its flags; it asks no store here
		{"test", teststep.Test},
		{"build-venv", buildvenvstep.BuildVenv},
		{"package", packagestep.Package},
		{"publish", func() cli.Step { return publishstep.Publish(nil) }}, // its flags; it signs nothing here
	}
}

// input is one input of a composite action.
type input struct {
	name, doc, def string
	// env is the variable the input reaches the binary through: a
	// GOPYTHONGO_INPUT_ configuration variable (which leaves the caller's
	// GOPYTHONGO_ one alone when the input is not given), or INPUT_<NAME>
	// for a flag.
	env string
	// kind is how run.sh turns an INPUT_ variable into flags: value, bool,
	// words (space or comma separated, one flag each) or lines.
	kind string
}

// inputs lists a step's inputs: its own flags, then every configuration key
// of project and of the step's section.
func inputs(st cli.Step) ([]input, error) {
	fs := flag.NewFlagSet(st.Name, flag.ContinueOnError)
	keyFlags := map[string]bool{}
	for _, kf := range st.Keys {
		keyFlags[kf.Flag] = true
	}
	if st.Flags != nil {
		st.Flags(fs)
	}
	// config and dist are inputs of their own, and an action's results come
	// from its outputs.
	skip := []string{"print-config", "dist", "config", "version"}
	// The version step's --format is stdout's; --init and --ci start a
	// project on a workstation, they are no CI step.
	if st.Section == "version" {
		skip = append(skip, "format", "init", "ci")
	}
	var keyIns []input
	for _, k := range config.LeafKeys() {
		section, rest, _ := strings.Cut(k.Path, ".")
		var name string
		switch section {
		case "project":
			name = "project-" + rest
		case st.Section:
			name = rest
		default:
			continue
		}
		if strings.Contains(k.Path, "<") || strings.Contains(k.Path, "[]") {
			continue // keys inside maps and lists are set through their parent
		}
		doc := sentence(k.Doc)
		if k.Default != "" {
			doc += fmt.Sprintf(" Default: %s.", k.Default)
		}
		doc += fmt.Sprintf(" (%s, %s)", k.Path, k.TypeName())
		keyIns = append(keyIns, input{name: strings.NewReplacer(".", "-", "_", "-").Replace(name), doc: doc, env: k.InputEnvName()})
	}
	ins := []input{
		{name: "working-directory", doc: "The directory to run in: the project root.", def: "."},
		{name: "config", doc: "The configuration file. Default: .gopythongo.yaml in the working directory.", env: "INPUT_CONFIG", kind: "value"},
	}
	fs.VisitAll(func(f *flag.Flag) {
		// A flag named like a key (version's --pr-target) is left to the key's input.
		if keyFlags[f.Name] || slices.Contains(skip, f.Name) || slices.ContainsFunc(keyIns, func(in input) bool { return in.name == f.Name }) {
			return
		}
		in := input{name: f.Name, doc: sentence(f.Usage), env: "INPUT_" + envPart(f.Name), kind: "value"}
		switch v := f.Value.(type) {
		case *cli.Strings:
			in.kind, in.doc = "words", in.doc+" Several: separated by spaces or commas."
		case interface{ IsBoolFlag() bool }:
			if v.IsBoolFlag() {
				in.kind, in.doc = "bool", in.doc+" true or false."
			}
		}
		ins = append(ins, in)
	})
	if st.Name == "gopythongo-publish" {
		ins = append(ins, input{name: "force", doc: "Accept a state file made for another commit (--force). true or false.", env: "INPUT_FORCE", kind: "bool"})
	}
	ins = append(ins, input{name: "set", doc: "Further configuration, one key=value a line (--set).", env: "INPUT_SET", kind: "lines"})
	ins = append(ins, keyIns...)
	seen := map[string]bool{}
	for _, in := range ins {
		if seen[in.name] {
			return nil, fmt.Errorf("%s: two inputs are named %s", st.Name, in.name)
		}
		seen[in.name] = true
	}
	return ins, nil
}

func envPart(name string) string { return strings.ToUpper(strings.ReplaceAll(name, "-", "_")) }

// sentence capitalizes a usage string and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// q quotes a YAML scalar (a JSON string is a valid double-quoted YAML scalar).
func q(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// WriteGitHubAction writes the composite action of a step.
func WriteGitHubAction(w io.Writer, a Action) error {
	st := a.Step()
	ins, err := inputs(st)
	if err != nil {
		return err
	}
	// The package action has the formats input (package.formats, a list);
	// a format input beside it would be one input too many. The orb has no
	// configuration inputs and keeps format.
	ins = slices.DeleteFunc(ins, func(in input) bool { return st.Section == "package" && in.name == "format" })
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# Generated from the step's flags, outputs and configuration keys by\n")
	p("#   go test ./internal/cigen -run TestGitHubActions -update\n")
	p("# A test fails when this file and the code disagree; do not edit.\n")
	p("name: %s\n", q(st.Name))
	p("description: %s\n", q(sentence(st.Summary)+" Needs the setup action (uses: gopythongo/gopythongo@<version>) earlier in the job."))
	p("author: GoPythonGo\n")
	p("branding: {icon: package, color: blue}\n")
	p("inputs:\n")
	for _, in := range ins {
		p("  %s:\n    description: %s\n    required: false\n    default: %s\n", in.name, q(in.doc), q(in.def))
	}
	if len(st.Outputs) > 0 {
		p("outputs:\n")
		for _, o := range st.Outputs {
			if strings.Contains(o.Name, "<") {
				continue // named after the stores; read them from the publications output
			}
			p("  %s:\n    description: %s\n    value: ${{ steps.run.outputs.%s }}\n", o.Name, q(sentence(o.Doc)), o.Name)
		}
	}
	p("runs:\n  using: composite\n  steps:\n")
	p("    - id: run\n      shell: bash\n      working-directory: ${{ inputs.working-directory }}\n      env:\n")
	var specs []string
	for _, in := range ins {
		if in.env == "" {
			continue
		}
		p("        %s: ${{ inputs.%s }}\n", in.env, in.name)
		if strings.HasPrefix(in.env, "INPUT_") {
			specs = append(specs, in.name+":"+in.kind)
		}
	}
	p("      # run.sh turns the INPUT_ variables into flags, as an argv, never through a shell string.\n")
	p("      run: %s\n", q(`"$GITHUB_ACTION_PATH/../run.sh" `+st.Name+" "+strings.Join(specs, " ")))
	return nil
}
