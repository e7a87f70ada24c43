package steps_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/steps/teststep"
	"github.com/gopythongo/gopythongo/internal/testrun"
	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
)

// runTest runs gopythongo-test as its main does, in dir, with env as the
// whole environment.
func runTest(t *testing.T, dir string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	env["GOPYTHONGO_VENV_CACHE_DIR"] = filepath.Join(t.TempDir(), "cache")
	return runStep(t, teststep.Test(), dir, env, args...)
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
	code, stdout, stderr := runTest(t, p.Dir, map[string]string{})
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "tests=6\nfailures=0\n")
	for _, suite := range []string{"unit", "integration", "unit-ut", "integration-ut"} {
		data, err := os.ReadFile(filepath.Join(p.Dir, "dist", "test-results", suite+".xml"))
		require.NoError(t, err)
		cases, err := testrun.ReadJUnit(bytes.NewReader(data))
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
			code, stdout, stderr := runTest(t, dir, gh, "--suite", suite)
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
	code, _, stderr := runTest(t, dir, map[string]string{}, "--suite", "empty")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no test ran (an error: set allow_empty to accept it)")
	code, _, stderr = runTest(t, dir, map[string]string{"GOPYTHONGO_TEST_SUITES": `{empty: {runner: pytest, paths: [tests], markers: none_such, allow_empty: true}}`}, "--suite", "empty")
	assert.Equal(t, 0, code, stderr)
	code, _, stderr = runTest(t, dir, map[string]string{}, "--suite", "nope")
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
	code, stdout, stderr := runTest(t, dir, env, "--suite", "ok", "--suite", "xml")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "tests=3\nfailures=0\nerrors=0\nskipped=1\n")
	code, _, stderr = runTest(t, dir, env, "--suite", "bad")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "exit status 3")
}

// running says whether a process with exactly this command line runs.
func running(cmdline string) bool {
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && strings.TrimRight(strings.ReplaceAll(string(b), "\x00", " "), " ") == cmdline {
			return true
		}
	}
	return false
}

// TestInterruptStopsTheSuiteAndItsChildren signals gopythongo-test while a
// suite runs a child of its own: the step exits 128+signal and no process of
// the suite is left.
func TestInterruptStopsTheSuiteAndItsChildren(t *testing.T) {
	bin := steptest.Binary(t, "gopythongo-test")
	for i, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := failingProject(t)
			mark := fmt.Sprint(7000 + os.Getpid()%1000*2 + i)
			started := filepath.Join(t.TempDir(), "started")
			suites := fmt.Sprintf(`{long: {runner: custom, argv: [python, -c, "import subprocess, time; subprocess.Popen(['sleep', '%s']); open('%s', 'w').close(); time.sleep(%s)"]}}`, mark, started, mark)
			cmd := exec.Command(bin, "--suite", "long")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOPYTHONGO_TEST_SUITES="+suites, "GOPYTHONGO_VENV_CACHE_DIR="+t.TempDir())
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			require.NoError(t, cmd.Start())
			defer cmd.Process.Kill()
			require.Eventually(t, func() bool { _, err := os.Stat(started); return err == nil }, 2*time.Minute, 50*time.Millisecond, "the suite never started")
			require.True(t, running("sleep "+mark))
			require.NoError(t, cmd.Process.Signal(sig))
			_ = cmd.Wait()
			assert.Equal(t, 128+int(sig), cmd.ProcessState.ExitCode(), out.String())
			assert.Eventually(t, func() bool { return !running("sleep " + mark) }, 10*time.Second, 50*time.Millisecond, "the suite's child is gone")
			left, _ := filepath.Glob(filepath.Join(dir, "dist", ".*"))
			assert.Empty(t, left, "no temporary directory")
		})
	}
}

// TestSuitesRunInTheVenvsBuilder: with test.builder: venv the suites run in
// the chroot or container the venv is built in, against a test venv made
// there; the JUnit results and the failure annotations are as on the host.
// builderEnv is testutil.BuilderEnv as the map a step's environment is.
func builderEnv(t *testing.T, builder string) map[string]string {
	env := map[string]string{}
	for _, kv := range testutil.BuilderEnv(t, builder) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

func TestSuitesRunInTheVenvsBuilder(t *testing.T) {
	// A directory of this machine that no builder shows: seen only on the host.
	probe := fmt.Sprintf(`import os, sys; sys.exit(3 if os.path.exists(%q) else 0)`, testutil.RepoRoot())
	config := func(where string) string {
		return fmt.Sprintf(`schema: 1
project: {name: hello, python: /usr/bin/python3}
venv: {find_links: [wheels], no_index: true, build_isolation: false}
test:
  builder: %s
  suites:
    unit-ut:  {runner: unittest, paths: [tests/unit]}
    isolated: {runner: custom, argv: [python, -c, %q]}
`, where, probe)
	}
	for _, builder := range []string{"chroot", "container"} {
		t.Run(builder, func(t *testing.T) {
			p := testutil.HelloProject(t, config("venv"))
			code, stdout, stderr := runTest(t, p.Dir, builderEnv(t, builder))
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, stdout, "failures=0\n")
			assert.Contains(t, stderr, "suite unit-ut 2 passed, 0 failed, 0 errors, 0 skipped")
			data, err := os.ReadFile(filepath.Join(p.Dir, "dist", "test-results", "unit-ut.xml"))
			require.NoError(t, err, "the results are where they are on the host")
			cases, err := testrun.ReadJUnit(bytes.NewReader(data))
			require.NoError(t, err)
			assert.Len(t, cases, 2)
		})
	}
	// A failing suite in the builder is a failure, its exit status carried
	// out of the root, not a suite that could not run.
	p := testutil.HelloProject(t, strings.Replace(config("venv"), "    isolated:", "    fails: {runner: custom, argv: [python, -c, \"import sys; sys.exit(1)\"]}\n    isolated:", 1))
	code, stdout, stderr := runTest(t, p.Dir, builderEnv(t, "chroot"))
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stdout, "failures=1\n")
	assert.Contains(t, stderr, "suite(s) failed: fails")

	// On the host the probe sees this machine: the suite fails there.
	p = testutil.HelloProject(t, config("host"))
	code, _, stderr = runTest(t, p.Dir, map[string]string{})
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "suite(s) failed: isolated")
}
