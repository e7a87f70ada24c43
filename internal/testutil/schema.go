package testutil

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// ValidateConfigs holds .gopythongo.yaml documents against the schema with python-jsonschema
// (the reference validator, Draft 2020-12) and returns, per document, ""
// when it is valid or the validator's first message.
func ValidateConfigs(t testing.TB, docs []string) []string {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for i, d := range docs {
		var v any
		require.NoError(t, yaml.Unmarshal([]byte(d), &v), d)
		data, err := json.Marshal(v)
		require.NoError(t, err, d)
		f := filepath.Join(dir, fmt.Sprintf("doc%03d.json", i))
		require.NoError(t, os.WriteFile(f, data, 0o644))
		files = append(files, f)
	}
	script := `import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
v = Draft202012Validator(schema)
out = []
for f in sys.argv[2:]:
    errs = sorted(v.iter_errors(json.load(open(f))), key=lambda e: list(e.path))
    out.append("" if not errs else "%s: %s" % ("/".join(map(str, errs[0].absolute_path)), errs[0].message))
print(json.dumps(out))
`
	out, err := exec.Command(CycloneDXValidator(), append([]string{"-c", script, filepath.Join(RepoRoot(), "docs", "gopythongo.schema.json")}, files...)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	var verdicts []string
	require.NoError(t, json.Unmarshal(out, &verdicts), "%s", out)
	return verdicts
}
