package config_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

const schemaFile = "../../docs/gopythongo.schema.json"

// TestJSONSchemaIsInStep keeps docs/gopythongo.schema.json in step with the
// code, as TestReference keeps docs/config.md.
func TestJSONSchemaIsInStep(t *testing.T) {
	want := config.JSONSchema()
	// -update is the flag of this test binary that TestReference reads.
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		require.NoError(t, os.WriteFile(schemaFile, want, 0o644))
	}
	got, err := os.ReadFile(schemaFile)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "docs/gopythongo.schema.json is stale: run go test ./internal/config -run TestJSONSchemaIsInStep -update")
}

// validate holds YAML documents against the schema (testutil.ValidateConfigs).
func validate(t *testing.T, docs []string) []string { return testutil.ValidateConfigs(t, docs) }

// TestShippedConfigsHoldToTheSchema: every configuration the repository
// ships (the examples, the test projects, the snippets of README.md and
// docs/) is valid against the schema.
func TestShippedConfigsHoldToTheSchema(t *testing.T) {
	root := testutil.RepoRoot()
	var names, docs []string
	files, err := filepath.Glob(filepath.Join(root, "examples", "*", ".gopythongo.yaml"))
	require.NoError(t, err)
	more, _ := filepath.Glob(filepath.Join(root, "internal", "*", "testdata", "*", ".gopythongo.yaml"))
	files = append(files, more...)
	files = append(files, filepath.Join(root, "internal", "config", "testdata", "design.yaml"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		names, docs = append(names, f), append(docs, string(data))
	}
	require.GreaterOrEqual(t, len(files), 4)
	// The snippets: every YAML block whose keys are all sections of the
	// configuration (not a CI file's).
	block := regexp.MustCompile("(?s)( *)```ya?ml\n(.*?)```")
	sections := map[string]bool{"schema": true, "project": true, "version": true, "test": true, "venv": true, "package": true, "publish": true}
	mds, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	for _, md := range append(mds, filepath.Join(root, "README.md")) {
		data, err := os.ReadFile(md)
		require.NoError(t, err)
		for i, m := range block.FindAllStringSubmatch(string(data), -1) {
			text := regexp.MustCompile("(?m)^"+m[1]).ReplaceAllString(m[2], "")
			var top map[string]any
			if yaml.Unmarshal([]byte(text), &top) != nil || len(top) == 0 {
				continue
			}
			ours := true
			for k := range top {
				ours = ours && sections[k]
			}
			if ours {
				names, docs = append(names, fmt.Sprintf("%s, block %d", md, i+1)), append(docs, text)
			}
		}
	}
	require.GreaterOrEqual(t, len(docs), len(files)+4, "README.md's snippets are held too")
	for i, v := range validate(t, docs) {
		assert.Empty(t, v, names[i])
	}
	// The examples name the schema for editors.
	for _, f := range files[:2] {
		data, _ := os.ReadFile(f)
		assert.Contains(t, string(data), "# yaml-language-server: $schema=", f)
	}
}

// TestSchemaAgreesWithTheLoader: on what the types say, the schema and the
// loader give the same verdict, so that the editor flags what the tool
// refuses and nothing it takes.
func TestSchemaAgreesWithTheLoader(t *testing.T) {
	cases := []struct {
		yaml string
		ok   bool
	}{
		{"schema: 1\nproject: {name: hello}\n", true},
		{"schema: 1\nproject: {name: hello, python: 3.11}\n", true},   // a scalar is a string
		{"schema: 1\nversion: {dirty: yes, commit_id: off}\n", true},  // YAML 1.1 booleans
		{"schema: 1\nversion: {revision: \"2\"}\n", true},             // digits for a number
		{"schema: 1\nproject: {name: hello, deploy_path: ~}\n", true}, // null is the default
		{"schema: 1\nvenv: {packages: [a, b], post_build: [[-c, x]]}\n", true},
		{"schema: 1\ntest: {suites: {unit: {paths: [tests]}}}\n", true},
		{"schema: 1\npublish: {stores: [{name: a, type: apt-dir, path: repo}]}\n", true},
		{"schema: 1\nprojcet: {name: hello}\n", false},                   // unknown section
		{"schema: 1\nproject: {nmae: hello}\n", false},                   // unknown key
		{"schema: 1\nversion: {source: svn}\n", false},                   // not a choice
		{"schema: 1\nversion: {dirty: maybe}\n", false},                  // not a boolean
		{"schema: 1\nversion: {revision: two}\n", false},                 // not a number
		{"schema: 1\nvenv: {packages: requests}\n", false},               // a list is a list
		{"schema: 1\nproject: {name: [a]}\n", false},                     // a string is a scalar
		{"schema: 1\npublish: {stores: [{name: a, typo: x}]}\n", false},  // unknown key in a list
		{"schema: 1\ntest: {suites: {unit: {pathz: [tests]}}}\n", false}, // unknown key in a map
	}
	var docs []string
	for _, tc := range cases {
		docs = append(docs, tc.yaml)
	}
	verdicts := validate(t, docs) // one validator run for all
	for i, tc := range cases {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, config.DefaultFile), []byte(tc.yaml), 0o644))
		_, err := config.Load(config.Options{Dir: dir})
		assert.Equal(t, tc.ok, err == nil, "the loader on %q: %v", tc.yaml, err)
		assert.Equal(t, tc.ok, verdicts[i] == "", "the schema on %q: %s", tc.yaml, verdicts[i])
	}
}
