package teststep

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gopythongo/gopythongo/internal/check"
	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/steps"
	"github.com/gopythongo/gopythongo/internal/testrun"
	"github.com/gopythongo/gopythongo/internal/ui"
)

const testHelp = `
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

// Test is the gopythongo-test command.
func Test() cli.Step {
	var suites cli.Strings
	var verbose bool
	return cli.Step{
		Name:    "gopythongo-test",
		Summary: "run the test suites in a throwaway venv",
		Help:    testHelp,
		Keys:    []cli.KeyFlag{{Flag: "python", Path: "project.python"}},
		Flags: func(fs *flag.FlagSet) {
			fs.Var(&suites, "suite", "a suite to run (repeatable; default: all of test.suites)")
			fs.BoolVar(&verbose, "verbose", false, "show pip's output while the test venv is made")
		},
		Section: "test",
		Checks:  steps.ConfigChecks(),
		Outputs: []cli.Output{
			{Name: "test_results", Doc: "the directory of the JUnit XML files, dist/test-results"},
			{Name: "tests", Doc: "tests run, all suites"},
			{Name: "failures", Doc: "tests failed"},
			{Name: "errors", Doc: "tests in error"},
			{Name: "skipped", Doc: "tests skipped"},
		},
		Check: func(ctx context.Context, s *cli.Session) []check.Finding {
			return testrun.Check(ctx, s.Config, suites, s.Getenv)
		},
		Run: func(ctx context.Context, s *cli.Session) error {
			res, err := testrun.Run(ctx, testrun.Request{
				Config: s.Config, Only: suites, Epoch: testEpoch(s), Getenv: s.Getenv, Log: s.Log, Verbose: verbose,
				Annotate: s.Reporter.Annotate, Mask: s.Reporter.Mask,
			})
			if err != nil {
				return err
			}
			err = s.Finish(cli.Outcome{
				Outputs: []cli.Value{
					{Name: "test_results", Value: steps.DistPath(s, "test-results")},
					{Name: "tests", Value: strconv.Itoa(res.Total.Tests)}, {Name: "failures", Value: strconv.Itoa(res.Total.Failures)},
					{Name: "errors", Value: strconv.Itoa(res.Total.Errors)}, {Name: "skipped", Value: strconv.Itoa(res.Total.Skipped)},
				},
				Summary: testSummary(res.Reports),
			})
			if err == nil && len(res.Failed) > 0 {
				err = fmt.Errorf("suite(s) failed: %s", strings.Join(res.Failed, ", "))
			}
			return err
		},
	}
}

// testEpoch is SOURCE_DATE_EPOCH for the project wheel: from the environment,
// the state file, or the commit; tests need no state file.
func testEpoch(s *cli.Session) time.Time {
	st, err := state.Load(s.Config.DistDir())
	if err != nil {
		st = &state.State{Commit: state.Commit{Time: s.Commit().Time}}
	}
	t, err := st.SourceDateEpoch(s.Getenv)
	if err != nil {
		return time.Unix(0, 0)
	}
	return t
}

func testSummary(reports []testrun.Report) string {
	var b strings.Builder
	b.WriteString("### Tests\n\n| suite | passed | failed | errors | skipped | time |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, r := range reports {
		n := r.Counts
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s |\n", r.Suite, n.Passed(), n.Failures, n.Errors, n.Skipped, ui.Duration(time.Duration(n.Time*float64(time.Second))))
	}
	for _, r := range reports {
		for _, c := range r.Cases {
			if c.Outcome == "failed" || c.Outcome == "error" {
				fmt.Fprintf(&b, "\n- **%s** `%s.%s` (%s:%d): %s", r.Suite, c.ClassName, c.Name, c.File, c.Line, testrun.FirstLine(c.Message))
			}
		}
	}
	return b.String() + "\n"
}
