package testrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gopythongo/gopythongo/internal/ci"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/gitread"
	"github.com/gopythongo/gopythongo/internal/python/pyproject"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/ui"
	"github.com/gopythongo/gopythongo/internal/venv"
)

// Report is a suite's outcome.
type Report struct {
	Suite  string
	Counts Counts
	Cases  []Case
	JUnit  string
	Empty  bool
}

// Request is one run of the test suites.
type Request struct {
	Config *config.Config
	// Only names the suites to run; empty: all of test.suites.
	Only []string
	// Epoch is SOURCE_DATE_EPOCH for the project's wheel.
	Epoch   time.Time
	Getenv  func(string) string
	Log     *ui.Log
	Verbose bool // pip's output while the test venv is made
	// Annotate puts a failure where the CI shows it; Mask hides a secret
	// of the index configuration in the CI's log.
	Annotate func(ci.Annotation)
	Mask     func(string)
}

// Result is every suite's report, and the suites that failed: a failure, an
// error, or no test where allow_empty is not set.
type Result struct {
	Reports []Report
	Failed  []string
	Total   Counts
}

// Run makes a throwaway venv with the project and its test dependencies in
// the dist directory and runs each suite in it, writing JUnit XML to
// dist/test-results.
func Run(ctx context.Context, req Request) (*Result, error) {
	c := req.Config
	selected, err := selectSuites(c, req.Only)
	if err != nil {
		return nil, err
	}
	dist := c.DistDir()
	if err := os.MkdirAll(dist, 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(dist, ".test-venv-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	extras, reqs := testDeps(c)
	tv, err := venv.TestEnv(ctx, venv.Options{Config: c, Epoch: req.Epoch, Getenv: req.Getenv, Log: req.Log, Output: req.Log.Writer(), Verbose: req.Verbose},
		dir, extras, reqs, c.Test.SystemSitePackages, c.Test.Builder == "venv")
	if tv != nil {
		for _, sec := range tv.Secrets {
			req.Mask(sec)
		}
		defer tv.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("make the test venv: %w", err)
	}
	results := filepath.Join(dist, "test-results")
	res := &Result{}
	for _, name := range selected {
		r, err := runSuite(ctx, req, name, c.Test.Suites[name], tv, dir, results)
		if err != nil {
			return nil, fmt.Errorf("suite %s: %w", name, err)
		}
		res.Reports = append(res.Reports, r)
		if r.Counts.Failures+r.Counts.Errors > 0 || r.Empty && !c.Test.Suites[name].AllowEmpty {
			res.Failed = append(res.Failed, name)
		}
		res.Total.Tests += r.Counts.Tests
		res.Total.Failures += r.Counts.Failures
		res.Total.Errors += r.Counts.Errors
		res.Total.Skipped += r.Counts.Skipped
	}
	return res, nil
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
			return nil, config.Usagef("--suite %s: no such suite in test.suites (have: %s)", n, strings.Join(all, ", "))
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
	if err := pyproject.Decode(filepath.Join(c.Dir, "pyproject.toml"), &py); err == nil {
		if _, ok := py.Project.Optional[c.Test.Extra]; ok && c.Test.Extra != "" {
			extras = []string{c.Test.Extra}
		}
	}
	return extras, c.Test.Requirements
}

func runSuite(ctx context.Context, req Request, name string, cfg config.TestSuite, tv *venv.TestVenv, venvDir, results string) (Report, error) {
	runner, err := RunnerFor(cfg.Runner)
	if err != nil {
		return Report{}, err
	}
	if err := os.MkdirAll(results, 0o755); err != nil {
		return Report{}, err
	}
	ph := req.Log.Phase("suite " + name)
	defer ph.End()
	spec := RunSpec{
		Suite: name, Python: tv.Python, Dir: req.Config.Dir, JUnit: filepath.Join(results, name+".xml"), Scratch: venvDir,
		Config: cfg, Output: req.Log.Writer(), Env: testEnv(venvDir, cfg.Env), Exec: tv.Run,
	}
	final := spec.JUnit
	if spec.Exec != nil {
		// The builder shows the project read-only: the XML is written
		// beside the test venv and moved to the results after.
		spec.JUnit = filepath.Join(venvDir, name+".xml")
	}
	start := time.Now()
	cases, err := runner.Run(ctx, spec)
	if err != nil {
		return Report{}, err
	}
	if final != spec.JUnit {
		if err := copyFile(spec.JUnit, final); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Report{}, err
		}
		spec.JUnit = final
	}
	if len(cases) == 0 {
		// pytest writes its XML even for no tests; others may not.
		if err := WriteJUnit(spec.JUnit, name, nil); err != nil {
			return Report{}, err
		}
	}
	r := Report{Suite: name, Cases: cases, Counts: Count(cases), JUnit: spec.JUnit, Empty: len(cases) == 0}
	r.Counts.Time = time.Since(start).Seconds()
	annotate(req, name, cases)
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

// copyFile copies a results file whole (temporary name, then rename).
func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return state.WriteFileAtomic(dst, data, 0o644)
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
func annotate(req Request, suite string, cases []Case) {
	prefix := ""
	if r, err := gitread.Open(req.Config.Dir); err == nil {
		if rel, err := filepath.Rel(r.WorkTree, req.Config.Dir); err == nil && rel != "." {
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
		msg := FirstLine(c.Message)
		if msg == "" {
			msg = c.Outcome
		}
		req.Annotate(ci.Annotation{Level: ci.LevelError, File: file, Line: c.Line,
			Title: fmt.Sprintf("%s: %s", suite, strings.TrimPrefix(c.ClassName+"."+c.Name, ".")), Message: msg})
	}
}
