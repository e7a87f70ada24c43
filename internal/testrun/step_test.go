package testrun

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
)

// runStep runs gopythongo-test as its main does, in dir, with env as the
// whole environment.
func runStep(t *testing.T, dir string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	env["GOPYTHONGO_VENV_CACHE_DIR"] = filepath.Join(t.TempDir(), "cache")
	return steptest.Run(t, Step(), dir, env, args...)
}

func TestExampleSuitesPassWithBothRunners(t *testing.T) {
	p := testutil.HelloProject(t, `schema: 1
project: {name: hello, python: /usr/bin/python3}
venv: {find_links: [wheels], no_index: true, build_isolation: false}
test:
  suites:
    unit:        {runner: pytest, paths: [tests/unit]}
    integration: {runner: pytest, paths: [tests/integration]}
    unit-ut:     {runner: unittest, paths: [tests/unit]}
    integration-ut: {runner: unittest, paths: [tests/integration]}
`)
	code, stdout, stderr := runStep(t, p.Dir, map[string]string{})
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "tests=6\nfailures=0\n")
	for _, suite := range []string{"unit", "integration", "unit-ut", "integration-ut"} {
		data, err := os.ReadFile(filepath.Join(p.Dir, "dist", "test-results", suite+".xml"))
		require.NoError(t, err)
		cases, err := ReadJUnit(bytes.NewReader(data))
		require.NoError(t, err)
		assert.NotEmpty(t, cases, suite)
		for _, c := range cases {
			assert.Equal(t, "passed", c.Outcome, "%s %s", suite, c.Name)
		}
	}
	assert.Contains(t, stderr, "suite unit-ut 2 passed, 0 failed, 0 errors, 0 skipped")
	// The throwaway venv is gone, and it never was the deploy venv.
	entries, _ := os.ReadDir(filepath.Join(p.Dir, "dist"))
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), ".test"), e.Name())
	}
}

func failingProject(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "failing")
	out, err := exec.Command("cp", "-a", "testdata/failing", dir).CombinedOutput()
	require.NoError(t, err, string(out))
	return dir
}

func TestFailuresFailTheStepWithAnnotations(t *testing.T) {
	dir := failingProject(t)
	for _, suite := range []string{"py", "ut"} {
		t.Run(suite, func(t *testing.T) {
			gh := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": filepath.Join(t.TempDir(), "out"), "GITHUB_STEP_SUMMARY": filepath.Join(t.TempDir(), "sum")}
			code, stdout, stderr := runStep(t, dir, gh, "--suite", suite)
			assert.Equal(t, 1, code)
			assert.Contains(t, stdout, "tests=3\nfailures=1\nerrors=0\nskipped=1\n")
			assert.Contains(t, stderr, "::error file=tests/test_math.py,line=11,title="+suite+"%3A ")
			assert.Contains(t, stderr, "test_add::")
			assert.Contains(t, stderr, "suite(s) failed: "+suite)
			sum, _ := os.ReadFile(gh["GITHUB_STEP_SUMMARY"])
			assert.Contains(t, string(sum), "| "+suite+" | 1 | 1 | 0 | 1 |")
		})
	}
}

func TestEmptySuiteFailsUnlessAllowed(t *testing.T) {
	dir := failingProject(t)
	code, _, stderr := runStep(t, dir, map[string]string{}, "--suite", "empty")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no test ran (an error: set allow_empty to accept it)")
	code, _, stderr = runStep(t, dir, map[string]string{"GOPYTHONGO_TEST_SUITES": `{empty: {runner: pytest, paths: [tests], markers: none_such, allow_empty: true}}`}, "--suite", "empty")
	assert.Equal(t, 0, code, stderr)
	code, _, stderr = runStep(t, dir, map[string]string{}, "--suite", "nope")
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "no such suite in test.suites (have: empty, py, ut)")
}

func TestCustomRunner(t *testing.T) {
	dir := failingProject(t)
	suites := `{
  ok: {runner: custom, argv: [python, -c, "print('fine')"]},
  bad: {runner: custom, argv: [python, -c, "raise SystemExit(3)"]},
  xml: {runner: custom, argv: [python, -c, "import os; open(os.environ['GOPYTHONGO_JUNIT_XML'], 'w').write('<testsuite name=\"x\"><testcase classname=\"c\" name=\"a\"/><testcase classname=\"c\" name=\"b\"><skipped/></testcase></testsuite>')"]}}`
	env := map[string]string{"GOPYTHONGO_TEST_SUITES": suites}
	code, stdout, stderr := runStep(t, dir, env, "--suite", "ok", "--suite", "xml")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "tests=3\nfailures=0\nerrors=0\nskipped=1\n")
	code, _, stderr = runStep(t, dir, env, "--suite", "bad")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "exit status 3")
}

func TestJUnitRoundTrip(t *testing.T) {
	cases := []Case{
		{Name: "a", ClassName: "m.C", File: "t.py", Line: 3, Time: 0.5, Outcome: "passed"},
		{Name: "b <&>", ClassName: "m.C", Outcome: "failed", Message: "AssertionError: 1 != 2\nmore", Detail: "Traceback <here>"},
		{Name: "c", ClassName: "m.C", Outcome: "error", Message: "boom"},
		{Name: "d", ClassName: "m.C", Outcome: "skipped", Message: "later"},
	}
	p := filepath.Join(t.TempDir(), "r.xml")
	require.NoError(t, WriteJUnit(p, "unit", cases))
	got, err := readJUnitFile(p)
	require.NoError(t, err)
	require.Len(t, got, 4)
	assert.Equal(t, "t.py", got[0].File)
	assert.Equal(t, 3, got[0].Line)
	assert.Equal(t, "AssertionError: 1 != 2", got[1].Message)
	assert.Equal(t, "Traceback <here>", got[1].Detail)
	assert.Equal(t, Counts{Tests: 4, Failures: 1, Errors: 1, Skipped: 1, Time: 0.5}, Count(got))
	_, err = ReadJUnit(strings.NewReader("not xml"))
	assert.Error(t, err)
}
