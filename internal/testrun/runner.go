package testrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/venv"
)

// RunSpec is one suite's run.
type RunSpec struct {
	Suite  string
	Python string // the test venv's interpreter
	Dir    string // the project root, where tests run
	Env    []string
	JUnit  string // where the JUnit XML goes, visible where the suite runs
	// Scratch is a directory the runner may write, visible where the suite
	// runs (helper scripts).
	Scratch string
	Config  config.TestSuite
	Output  io.Writer
	// Exec runs a command where the test venv works (its builder); nil
	// means this machine.
	Exec func(ctx context.Context, c venv.Command) error
}

// Runner runs a suite and returns its cases.
type Runner interface {
	Run(ctx context.Context, s RunSpec) ([]Case, error)
}

// runners is the one table of test runners.
var runners = map[string]Runner{
	"pytest":   pytestRunner{},
	"unittest": unittestRunner{},
	"custom":   customRunner{},
}

// RunnerFor returns the named runner.
func RunnerFor(name string) (Runner, error) {
	r, ok := runners[name]
	if !ok {
		return nil, fmt.Errorf("unknown test runner %q (valid: %s)", name, strings.Join(slices.Sorted(maps.Keys(runners)), ", "))
	}
	return r, nil
}

// command runs a suite in a process group of its own: an interrupt stops
// the runner and whatever the tests started (servers, xdist workers).
func (s RunSpec) command(ctx context.Context, argv ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = s.Dir, s.Env, s.Output, s.Output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs argv where the suite runs, with extra variables, and returns
// its exit code (-1 when it did not run to an exit).
func (s RunSpec) run(ctx context.Context, extra []string, argv ...string) (int, error) {
	if s.Exec == nil {
		cmd := s.command(ctx, argv...)
		cmd.Env = append(cmd.Env, extra...)
		err := cmd.Run()
		return exitCode(err), err
	}
	err := s.Exec(ctx, venv.Command{Argv: argv, Env: append(slices.Clone(s.Env), extra...), Dir: s.Dir, Stdout: s.Output, Stderr: s.Output})
	return exitCode(err), err
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

type pytestRunner struct{}

func (pytestRunner) Run(ctx context.Context, s RunSpec) ([]Case, error) {
	if _, err := s.run(ctx, nil, s.Python, "-c", "import pytest"); err != nil {
		return nil, fmt.Errorf("pytest is not importable in the test venv: add it to the project's test extra or to test.requirements (or let the venv see a system pytest with test.system_site_packages)")
	}
	// xunit1 records each test's file and line, for annotations.
	argv := []string{s.Python, "-m", "pytest", "--junitxml=" + s.JUnit, "-o", "junit_family=xunit1", "-o", "junit_suite_name=" + s.Suite, "-p", "no:cacheprovider"}
	if s.Config.Markers != "" {
		argv = append(argv, "-m", s.Config.Markers)
	}
	argv = append(argv, s.Config.Argv...)
	argv = append(argv, s.Config.Paths...)
	code, err := s.run(ctx, nil, argv...)
	switch {
	case err == nil, code == 1:
	case code == 5:
		return nil, nil // no tests collected
	default:
		return nil, fmt.Errorf("pytest could not run the suite (exit code %d; its message is above): %w", code, err)
	}
	cases, err := readJUnitFile(s.JUnit)
	for i := range cases {
		fixPytestLine(&cases[i])
	}
	return cases, err
}

var pytestWhere = regexp.MustCompile(`(?m)^(\S+\.py):(\d+): `)

// fixPytestLine points a case at the line that failed, from the traceback
// pytest puts in the report ("tests/test_x.py:11: AssertionError"); pytest's
// own line attribute is the 0-based line of the test function.
func fixPytestLine(c *Case) {
	if c.Line >= 0 && c.File != "" {
		c.Line++
	}
	for _, m := range pytestWhere.FindAllStringSubmatch(c.Detail, -1) {
		if m[1] == c.File {
			c.Line, _ = strconv.Atoi(m[2])
		}
	}
}

// unittestHelper runs unittest discovery and records each test's outcome,
// with the file and line of the failing assertion, as JSON.
const unittestHelper = `
import json, os, sys, time, traceback, unittest

out, pattern, top = sys.argv[1], sys.argv[2], sys.argv[3]
starts = sys.argv[4:] or ["."]
cases = []

def where(test, tb):
    path = getattr(sys.modules.get(type(test).__module__), "__file__", None) or ""
    line = 0
    for frame, lineno in (traceback.walk_tb(tb) if tb else []):
        if path and os.path.samefile(frame.f_code.co_filename, path):
            line = lineno
    if not line:
        meth = getattr(test, getattr(test, "_testMethodName", ""), None)
        code = getattr(meth, "__code__", None)
        line = code.co_firstlineno if code else 0
    return os.path.relpath(path, top) if path else "", line

class Result(unittest.TestResult):
    def startTest(self, test):
        super().startTest(test)
        self._start = time.monotonic()
    def _add(self, test, outcome, err=None, message="", name=None):
        tb = err[2] if err else None
        path, line = where(test, tb)
        detail = "".join(traceback.format_exception(*err)) if err else ""
        if err and not message:
            message = "%s: %s" % (err[0].__name__, err[1])
        if name is None:
            name = getattr(test, "_testMethodName", str(test))
        cases.append({"name": name, "classname": type(test).__module__ + "." + type(test).__qualname__,
            "file": path, "line": line, "time": time.monotonic() - getattr(self, "_start", time.monotonic()),
            "outcome": outcome, "message": message, "detail": detail})
    def addSuccess(self, test): self._add(test, "passed")
    def addFailure(self, test, err): super().addFailure(test, err); self._add(test, "failed", err)
    def addError(self, test, err): super().addError(test, err); self._add(test, "error", err)
    def addSkip(self, test, reason): self._add(test, "skipped", message=reason)
    def addExpectedFailure(self, test, err): self._add(test, "passed")
    def addUnexpectedSuccess(self, test): self._add(test, "failed", message="unexpected success")
    def addSubTest(self, test, sub, err):
        if err is not None:
            self._add(test, "failed" if issubclass(err[0], test.failureException) else "error", err,
                      name="%s %s" % (test._testMethodName, sub._subDescription()))

def importable(start):
    # A start directory below top is importable from it only when it and
    # every directory up to top are packages; otherwise it is its own top,
    # as python -m unittest discover -s does.
    d, t = os.path.abspath(start), os.path.abspath(top)
    while d != t:
        if not os.path.isfile(os.path.join(d, "__init__.py")) or os.path.dirname(d) == d:
            return False
        d = os.path.dirname(d)
    return True

suite = unittest.TestSuite()
for start in starts:
    loader = unittest.TestLoader()
    suite.addTests(loader.discover(start, pattern=pattern, top_level_dir=top if importable(start) else os.path.abspath(start)))
result = Result()
suite.run(result)
for c in cases:
    mark = {"passed": ".", "failed": "F", "error": "E", "skipped": "s"}[c["outcome"]]
    print("%s %s.%s" % (mark, c["classname"], c["name"]))
    if c["outcome"] in ("failed", "error"):
        print(c["detail"])
with open(out, "w") as f:
    json.dump(cases, f)
`

type unittestRunner struct{}

func (unittestRunner) Run(ctx context.Context, s RunSpec) ([]Case, error) {
	tmp, err := os.MkdirTemp(s.Scratch, "unittest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	script, out := filepath.Join(tmp, "run.py"), filepath.Join(tmp, "cases.json")
	if err := os.WriteFile(script, []byte(unittestHelper), 0o644); err != nil {
		return nil, err
	}
	pattern := s.Config.Pattern
	if pattern == "" {
		pattern = "test*.py"
	}
	argv := append([]string{s.Python, script, out, pattern, s.Dir}, s.Config.Paths...)
	if _, err := s.run(ctx, nil, argv...); err != nil {
		return nil, fmt.Errorf("unittest could not run the suite (its message is above): %w", err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	var cases []Case
	if err := json.Unmarshal(data, &cases); err != nil {
		return nil, err
	}
	return cases, WriteJUnit(s.JUnit, s.Suite, cases)
}

type customRunner struct{}

func (customRunner) Run(ctx context.Context, s RunSpec) ([]Case, error) {
	os.Remove(s.JUnit)
	code, runErr := s.run(ctx, []string{"GOPYTHONGO_JUNIT_XML=" + s.JUnit}, s.Config.Argv...)
	if runErr != nil && code < 0 {
		return nil, fmt.Errorf("run %s: %w", s.Config.Argv[0], runErr)
	}
	if _, err := os.Stat(s.JUnit); err == nil {
		cases, err := readJUnitFile(s.JUnit)
		if err != nil {
			return nil, fmt.Errorf("%s wrote %s, which is no JUnit XML: %w", s.Config.Argv[0], s.JUnit, err)
		}
		if runErr != nil && Count(cases).Failures+Count(cases).Errors == 0 {
			cases = append(cases, Case{Name: "exit status", ClassName: s.Suite, Outcome: "failed", Message: runErr.Error()})
		}
		return cases, WriteJUnit(s.JUnit, s.Suite, cases)
	}
	// The command wrote no XML: the suite is one test, its exit status.
	c := Case{Name: strings.Join(s.Config.Argv, " "), ClassName: s.Suite, Outcome: "passed"}
	if runErr != nil {
		c.Outcome, c.Message = "failed", runErr.Error()
	}
	cases := []Case{c}
	return cases, WriteJUnit(s.JUnit, s.Suite, cases)
}
