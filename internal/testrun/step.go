package testrun

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/gopythongo/gopythongo/internal/ci"
	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/gitread"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/ui"
	"github.com/gopythongo/gopythongo/internal/venv"
)

const help = `
Runs the project's test suites as their own stage, before and apart from the
release build, in a throwaway venv (never the deploy venv, never at the deploy
path) that holds the project and its test dependencies: the project's test extra
([project.optional-dependencies] test, see test.extra) or test.requirements. The
venv is made through the same wheel cache as gopythongo-build-venv.

Each suite (test.suites) runs with pytest (--junitxml), unittest (this step
writes the JUnit XML) or a custom argv (which may write JUnit XML to
$GOPYTHONGO_JUNIT_XML). Results go to dist/test-results/<suite>.xml for Jenkins
junit, CircleCI store_test_results and GitLab reports; counts go to the log and
the step summary, and every failure becomes a file:line annotation on GitHub.

Exit codes: 0 all passed, 1 a failure, an error, or a suite that ran no test
(unless its allow_empty is set), 2 bad flags or configuration.

Examples:
  gopythongo-test                     every configured suite
  gopythongo-test --suite unit        one suite (repeatable)
  gopythongo-test --suite integration --set test.system_site_packages=false
`

// Step is the gopythongo-test command.
func Step() cli.Step {
	var suites cli.Strings
	var verbose bool
	return cli.Step{
		Name:    "gopythongo-test",
		Summary: "run the test suites in a throwaway venv",
		Help:    help,
		Keys:    []cli.KeyFlag{{Flag: "python", Path: "project.python"}},
		Flags: func(fs *flag.FlagSet) {
			fs.Var(&suites, "suite", "a suite to run (repeatable; default: all of test.suites)")
			fs.BoolVar(&verbose, "verbose", false, "show pip's output while the test venv is made")
		},
		Section: "test",
		Outputs: []cli.Output{
			{Name: "test_results", Doc: "the directory of the JUnit XML files, dist/test-results"},
			{Name: "tests", Doc: "tests run, all suites"},
			{Name: "failures", Doc: "tests failed"},
			{Name: "errors", Doc: "tests in error"},
			{Name: "skipped", Doc: "tests skipped"},
		},
		Run: func(ctx context.Context, s *cli.Session) error {
			return run(ctx, s, suites, verbose)
		},
	}
}

// Report is a suite's outcome.
type Report struct {
	Suite  string
	Counts Counts
	Cases  []Case
	JUnit  string
	Empty  bool
}

func run(ctx context.Context, s *cli.Session, only []string, verbose bool) error {
	c := s.Config
	selected, err := selectSuites(c, only)
	if err != nil {
		return cli.Fail(cli.ExitUsage, err)
	}
	dist := c.DistDir()
	if err := os.MkdirAll(dist, 0o755); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(dist, ".test-venv-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	extras, reqs := testDeps(c)
	py, secrets, err := venv.TestEnv(ctx, venv.Options{Config: c, Epoch: epoch(s), Getenv: s.Getenv, Log: s.Log, Output: s.Log.Writer(), Verbose: verbose}, dir, extras, reqs, c.Test.SystemSitePackages)
	for _, sec := range secrets {
		s.Reporter.Mask(sec)
	}
	if err != nil {
		return fmt.Errorf("make the test venv: %w", err)
	}
	results := filepath.Join(dist, "test-results")
	var reports []Report
	var failed []string
	for _, name := range selected {
		r, err := runSuite(ctx, s, name, c.Test.Suites[name], py, dir, results)
		if err != nil {
			return fmt.Errorf("suite %s: %w", name, err)
		}
		reports = append(reports, r)
		if r.Counts.Failures+r.Counts.Errors > 0 || r.Empty && !c.Test.Suites[name].AllowEmpty {
			failed = append(failed, name)
		}
	}
	total := Counts{}
	for _, r := range reports {
		total.Tests += r.Counts.Tests
		total.Failures += r.Counts.Failures
		total.Errors += r.Counts.Errors
		total.Skipped += r.Counts.Skipped
	}
	for _, kv := range [][2]string{
		{"test_results", filepath.ToSlash(filepath.Join(c.Project.Dist, "test-results"))},
		{"tests", strconv.Itoa(total.Tests)}, {"failures", strconv.Itoa(total.Failures)},
		{"errors", strconv.Itoa(total.Errors)}, {"skipped", strconv.Itoa(total.Skipped)},
	} {
		s.Reporter.Output(kv[0], kv[1])
		fmt.Fprintf(s.Stdout, "%s=%s\n", kv[0], kv[1])
	}
	s.Reporter.Summary(summary(reports))
	if len(failed) > 0 {
		return fmt.Errorf("suite(s) failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

// selectSuites picks the suites to run: the named ones, else all, in name order.
// No configured suite at all means one suite "tests" run by pytest.
func selectSuites(c *config.Config, only []string) ([]string, error) {
	if len(c.Test.Suites) == 0 {
		c.Test.Suites = map[string]config.TestSuite{"tests": {Runner: "pytest", Pattern: "test*.py"}}
	}
	var all []string
	for n := range c.Test.Suites {
		all = append(all, n)
	}
	sort.Strings(all)
	if len(only) == 0 {
		return all, nil
	}
	for _, n := range only {
		if _, ok := c.Test.Suites[n]; !ok {
			return nil, fmt.Errorf("--suite %s: no such suite in test.suites (have: %s)", n, strings.Join(all, ", "))
		}
	}
	return only, nil
}

// testDeps finds the test dependencies: the project's test extra, if it
// declares one, and the configured requirements files.
func testDeps(c *config.Config) (extras, reqs []string) {
	var py struct {
		Project struct {
			Optional map[string][]string `toml:"optional-dependencies"`
		} `toml:"project"`
	}
	if _, err := toml.DecodeFile(filepath.Join(c.Dir, "pyproject.toml"), &py); err == nil {
		if _, ok := py.Project.Optional[c.Test.Extra]; ok && c.Test.Extra != "" {
			extras = []string{c.Test.Extra}
		}
	}
	return extras, c.Test.Requirements
}

// epoch is SOURCE_DATE_EPOCH for the project wheel: from the environment, the
// state file, or the commit; tests do not need a state file.
func epoch(s *cli.Session) time.Time {
	st := &state.State{}
	if loaded, err := state.Load(s.Config.DistDir()); err == nil {
		st = loaded
	} else if r, err := gitread.Open(s.Config.Dir); err == nil {
		if h, _, err := r.Head(); err == nil {
			if c, err := r.Commit(h); err == nil {
				st.Commit.Time = c.Time
			}
		}
		r.Close()
	}
	t, err := st.SourceDateEpoch(s.Getenv)
	if err != nil {
		return time.Unix(0, 0)
	}
	return t
}

func runSuite(ctx context.Context, s *cli.Session, name string, cfg config.TestSuite, py, venvDir, results string) (Report, error) {
	runner, err := RunnerFor(cfg.Runner)
	if err != nil {
		return Report{}, err
	}
	if err := os.MkdirAll(results, 0o755); err != nil {
		return Report{}, err
	}
	ph := s.Log.Phase("suite " + name)
	defer ph.End()
	spec := RunSpec{
		Suite: name, Python: py, Dir: s.Config.Dir, JUnit: filepath.Join(results, name+".xml"),
		Config: cfg, Output: s.Log.Writer(), Env: testEnv(venvDir, cfg.Env),
	}
	start := time.Now()
	cases, err := runner.Run(ctx, spec)
	if err != nil {
		return Report{}, err
	}
	if len(cases) == 0 {
		// pytest writes its XML even for no tests; others may not.
		if err := WriteJUnit(spec.JUnit, name, nil); err != nil {
			return Report{}, err
		}
	}
	r := Report{Suite: name, Cases: cases, Counts: Count(cases), JUnit: spec.JUnit, Empty: len(cases) == 0}
	r.Counts.Time = time.Since(start).Seconds()
	annotate(s, name, cases)
	n := r.Counts
	result := fmt.Sprintf("%d passed, %d failed, %d errors, %d skipped", n.Passed(), n.Failures, n.Errors, n.Skipped)
	if r.Empty {
		result = "no test ran"
		if !cfg.AllowEmpty {
			result += " (an error: set allow_empty to accept it)"
		}
	}
	ph.Done(result)
	return r, nil
}

// testEnv is the user's environment with the test venv first on PATH, without
// what would make Python or pip look elsewhere.
func testEnv(venvDir string, extra map[string]string) []string {
	var env []string
	path := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "PATH":
			path = v
		case strings.HasPrefix(k, "PIP_"), k == "PYTHONPATH", k == "PYTHONHOME", k == "VIRTUAL_ENV", k == "PYTHONSTARTUP":
		default:
			env = append(env, kv)
		}
	}
	env = append(env, "PATH="+filepath.Join(venvDir, "bin")+":"+path, "VIRTUAL_ENV="+venvDir)
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+extra[k])
	}
	return env
}

// annotate puts every failure at its file and line, relative to the top of the
// repository, where GitHub shows it.
func annotate(s *cli.Session, suite string, cases []Case) {
	prefix := ""
	if r, err := gitread.Open(s.Config.Dir); err == nil {
		if rel, err := filepath.Rel(r.WorkTree, s.Config.Dir); err == nil && rel != "." {
			prefix = rel
		}
		r.Close()
	}
	for _, c := range cases {
		if c.Outcome != "failed" && c.Outcome != "error" {
			continue
		}
		file := c.File
		if file != "" && prefix != "" && !filepath.IsAbs(file) {
			file = filepath.ToSlash(filepath.Join(prefix, file))
		}
		msg := firstLine(c.Message)
		if msg == "" {
			msg = c.Outcome
		}
		s.Reporter.Annotate(ci.Annotation{Level: ci.LevelError, File: file, Line: c.Line,
			Title: fmt.Sprintf("%s: %s", suite, strings.TrimPrefix(c.ClassName+"."+c.Name, ".")), Message: msg})
	}
}

func summary(reports []Report) string {
	var b strings.Builder
	b.WriteString("### Tests\n\n| suite | passed | failed | errors | skipped | time |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, r := range reports {
		n := r.Counts
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s |\n", r.Suite, n.Passed(), n.Failures, n.Errors, n.Skipped, ui.Duration(time.Duration(n.Time*float64(time.Second))))
	}
	for _, r := range reports {
		for _, c := range r.Cases {
			if c.Outcome == "failed" || c.Outcome == "error" {
				fmt.Fprintf(&b, "\n- **%s** `%s.%s` (%s:%d): %s", r.Suite, c.ClassName, c.Name, c.File, c.Line, firstLine(c.Message))
			}
		}
	}
	return b.String() + "\n"
}
