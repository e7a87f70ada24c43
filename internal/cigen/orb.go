package cigen

import (
	"fmt"
	"io"
	"strings"
)

// WriteOrbCommand writes the CircleCI orb command of a step: its flags as
// parameters, passed to the shared run.sh as INPUT_ variables. Configuration
// keys are not repeated here: .gopythongo.yaml, `set` and GOPYTHONGO_
// variables of the job carry them.
func WriteOrbCommand(w io.Writer, a Action) error {
	st := a.Step()
	ins, err := inputs(st)
	if err != nil {
		return err
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# Generated from the step's flags by\n#   go test ./internal/cigen -run TestOrbCommands -update\n# A test fails when this file and the code disagree; do not edit.\n")
	p("description: %s\n", q(sentence(st.Summary)+" ("+st.Name+"). Outputs are exported to later steps as GOPYTHONGO_<NAME> through $BASH_ENV."))
	p("parameters:\n")
	var specs []string
	var envs []string
	for _, in := range ins {
		if strings.HasPrefix(in.env, "GOPYTHONGO_") {
			continue
		}
		typ, def := "string", q(in.def)
		if in.kind == "bool" {
			typ, def = "boolean", "false"
		}
		p("  %s:\n    type: %s\n    default: %s\n    description: %s\n", in.name, typ, def, q(in.doc))
		if in.env != "" {
			specs = append(specs, in.name+":"+in.kind)
			envs = append(envs, fmt.Sprintf("        %s: << parameters.%s >>\n", in.env, in.name))
		}
	}
	if a.Dir == "publish" {
		for _, s := range orbSecrets {
			p("  %s:\n    type: env_var_name\n    default: %s\n    description: %s\n", s.param, envPart(s.param), q(s.doc))
			envs = append(envs, fmt.Sprintf("        SECRET_%s: << parameters.%s >>\n", envPart(s.param), s.param))
		}
	}
	p("steps:\n")
	p("  - run:\n      name: %s\n      working_directory: << parameters.working-directory >>\n      environment:\n", st.Name)
	p("        RUN_STEP: %s\n        RUN_FLAGS: %s\n", st.Name, q(strings.Join(specs, " ")))
	for _, e := range envs {
		p("%s", e)
	}
	p("      command: <<include(scripts/run.sh)>>\n")
	return nil
}

// orbSecrets are the secrets of the publish command: env_var_name parameters
// that say where the project or context keeps each one. run.sh hands the value
// to the step under the parameter's own name (registry-password:
// REGISTRY_PASSWORD), which publish.stores refers to.
var orbSecrets = []struct{ param, doc string }{
	{"registry-password", "The variable holding the registry password or token; the step gets it as REGISTRY_PASSWORD (password_env: REGISTRY_PASSWORD)."},
	{"aptly-password", "The variable holding the aptly password; the step gets it as APTLY_PASSWORD."},
	{"pypi-token", "The variable holding the package index token; the step gets it as PYPI_TOKEN."},
	{"apt-signing-key", "The variable holding the armored apt signing key; the step gets it as APT_SIGNING_KEY (signing_key_env: APT_SIGNING_KEY)."},
}
