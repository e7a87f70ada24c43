package config

import (
	"fmt"
	"reflect"
	"strings"
)

// Reference renders docs/config.md from the Config struct: every key with its type,
// default, choices, environment variable and meaning.
func Reference() string {
	var b strings.Builder
	b.WriteString(`# Configuration reference

<!-- Generated from internal/config/config.go by
     go test ./internal/config -run TestReference -update
     A test fails when this file and the code disagree. -->

All steps read one file, ` + "`.gopythongo.yaml`" + ` in the project root (` + "`--config FILE`" + ` for
another). Every key can be overridden by an environment variable
` + "`GOPYTHONGO_<SECTION>_<KEY>`" + ` (shown for each key) and by ` + "`--set key=value`" + ` on any step;
flags win over the environment, which wins over the file. ` + "`--print-config`" + ` shows each
effective value and where it came from. Unknown keys, wrong types and invalid choices are
errors that name the file and line.

In environment variables and ` + "`--set`" + `, a list is written comma separated (` + "`a,b`" + `) or as a
YAML flow list (` + "`[a, \"b,c\"]`" + `); mappings and lists of mappings as YAML flow
(` + "`{unit: {paths: [tests]}}`" + `). An empty variable counts as unset (CI systems pass empty values for
inputs nobody set); write ` + "`[]`" + ` for an empty list.

Secrets never go into this file: keys that need one name an environment variable or a
file that holds it.

Editors complete and check the file with the JSON Schema
[` + "`gopythongo.schema.json`" + `](gopythongo.schema.json), generated from the same definitions
as this page: VS Code (with Red Hat's YAML extension) and JetBrains IDEs read it from a first
line ` + "`# yaml-language-server: $schema=<path or URL of the schema>`" + `.
`)
	for _, k := range Keys() {
		depth := strings.Count(k.Path, ".")
		if k.Section {
			fmt.Fprintf(&b, "\n%s `%s`\n\n%s\n", strings.Repeat("#", min(depth+2, 4)), k.Path, k.Doc)
			continue
		}
		fmt.Fprintf(&b, "\n- **`%s`** (%s", k.Path, k.TypeName())
		if k.Default != "" {
			fmt.Fprintf(&b, ", default `%s`", k.Default)
		}
		b.WriteString(")")
		if len(k.Enum) > 0 {
			fmt.Fprintf(&b, ", one of `%s`", strings.Join(k.Enum, "`, `"))
		}
		fmt.Fprintf(&b, ": %s", k.Doc)
		if k.Index != nil {
			fmt.Fprintf(&b, " Environment: `%s`.", k.EnvName())
		}
		b.WriteString("\n")
		if (k.Type.Kind() == reflect.Map || k.Type.Kind() == reflect.Slice) && k.Type.Elem().Kind() == reflect.Struct {
			fmt.Fprintf(&b, "  Each entry has the keys below.\n")
		}
	}
	return b.String()
}
