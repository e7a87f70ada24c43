package check

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFilesDirsAndWritable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "req.txt")
	require.NoError(t, os.WriteFile(file, []byte("x\n"), 0o644))
	ro := filepath.Join(dir, "ro")
	require.NoError(t, os.Mkdir(ro, 0o555))
	for _, tc := range []struct {
		name string
		f    Finding
		want Level
		says string
	}{
		{"file there", File("venv.requirements", file), OK, file},
		{"file missing", File("venv.requirements", file+".gone"), Problem, "does not exist: create it or change venv.requirements"},
		{"file is a dir", File("venv.lock", dir), Problem, "is a directory"},
		{"dir there", Dir("venv.find_links", dir), OK, dir},
		{"dir missing", Dir("venv.find_links", filepath.Join(dir, "wheels")), Problem, "does not exist"},
		{"dir is a file", Dir("venv.find_links", file), Problem, "is not a directory"},
		{"writable", Writable("project.dist", dir), OK, dir},
		{"to be made", Writable("project.dist", filepath.Join(dir, "a", "b")), Note, "will be made"},
		{"a file in the way", Writable("project.dist", filepath.Join(file, "dist")), Problem, "no directory"},
		{"secret set", Secret("store x password_env", "TOKEN", func(string) string { return "s3cret" }), OK, "$TOKEN is set"},
		{"secret unset", Secret("store x password_env", "TOKEN", func(string) string { return "" }), Problem, "$TOKEN, which is not set"},
		{"tool there", Tool("sh", "tests", "apt-get install dash"), OK, "/sh"},
		{"tool missing", Tool("no-such-tool-xyz", "zstd compression", "apt-get install it"), Problem, "not on PATH, and zstd compression needs it: apt-get install it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.f.Level, tc.f.Detail)
			assert.Contains(t, tc.f.Detail, tc.says)
		})
	}
	if os.Geteuid() != 0 { // root writes anywhere
		assert.Equal(t, Problem, Writable("project.dist", filepath.Join(ro, "dist")).Level)
	}
	assert.NotContains(t, Secret("s", "TOKEN", func(string) string { return "s3cret" }).Detail, "s3cret")
}

func TestPrintMarksProblems(t *testing.T) {
	var b bytes.Buffer
	fs := []Finding{Good("configuration", ".gopythongo.yaml"), Notef("state file", "not yet"), Badf("venv.lock", "uv.lock does not exist\nsecond line")}
	require.NoError(t, Print(&b, fs))
	assert.Equal(t, "  ok       configuration  .gopythongo.yaml\n"+
		"  note     state file     not yet\n"+
		"  PROBLEM  venv.lock      uv.lock does not exist\n"+
		"                          second line\n", b.String())
	assert.Equal(t, 1, Problems(fs))
}
