package testrun

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/gopythongo/gopythongo/internal/check"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/fileread"
	"github.com/gopythongo/gopythongo/internal/python/pyproject"
	"github.com/gopythongo/gopythongo/internal/venv"
)

// Check says whether the suites could run: each suite's paths, runner and
// program, the test dependencies (pytest among them for pytest suites), and
// what the test venv needs (venv.Check). It runs no test.
func Check(ctx context.Context, c *config.Config, only []string, getenv func(string) string) []check.Finding {
	names, err := selectSuites(c, only)
	if err != nil {
		return []check.Finding{check.Bad("test.suites", err)}
	}
	var fs []check.Finding
	pytest := false
	extras, reqs := testDeps(c)
	for _, r := range reqs {
		fs = append(fs, check.File("test.requirements", c.Path(r)))
	}
	for _, n := range names {
		s := c.Test.Suites[n]
		key := "test.suites." + n
		if _, err := RunnerFor(s.Runner); err != nil {
			fs = append(fs, check.Bad(key+".runner", err))
			continue
		}
		for _, p := range s.Paths {
			if _, err := os.Stat(filepath.Join(c.Dir, p)); err != nil {
				fs = append(fs, check.Badf(key+".paths", "%s does not exist: create it or change the suite's paths", p))
			}
		}
		switch s.Runner {
		case "custom":
			if len(s.Argv) == 0 {
				fs = append(fs, check.Badf(key+".argv", "a custom suite needs its command as an argv list"))
			}
		case "pytest":
			if !pytest {
				fs = append(fs, pytestFinding(ctx, c, extras, reqs))
				pytest = true
			}
		}
		fs = append(fs, check.Good(key, "%s, %s", s.Runner, strings.Join(orDot(s.Paths), " ")))
	}
	return append(fs, venv.Check(ctx, c, true, getenv)...)
}

func orDot(paths []string) []string {
	if len(paths) == 0 {
		return []string{"(pytest's own discovery from the project root)"}
	}
	return paths
}

// pytestFinding says where pytest would come from: the test extra, a
// requirements file, or the interpreter's own site-packages.
func pytestFinding(ctx context.Context, c *config.Config, extras, reqs []string) check.Finding {
	if len(extras) > 0 {
		var py struct {
			Project struct {
				Optional map[string][]string `toml:"optional-dependencies"`
			} `toml:"project"`
		}
		if err := pyproject.Decode(filepath.Join(c.Dir, "pyproject.toml"), &py); err == nil {
			for _, r := range py.Project.Optional[extras[0]] {
				if strings.HasPrefix(strings.ToLower(strings.TrimSpace(r)), "pytest") {
					return check.Good("pytest", "from the %s extra", extras[0])
				}
			}
		}
	}
	for _, r := range reqs {
		if b, err := fileread.Read(c.Path(r), fileread.ProjectLimit); err == nil && strings.Contains(strings.ToLower(string(b)), "pytest") {
			return check.Good("pytest", "from %s", r)
		}
	}
	if c.Test.SystemSitePackages && c.Test.Builder == "host" {
		cmd := exec.CommandContext(ctx, c.Project.Python, "-c", "import pytest")
		cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
		if err := cmd.Run(); err == nil {
			return check.Good("pytest", "from %s's site-packages (test.system_site_packages)", c.Project.Python)
		}
	}
	return check.Badf("pytest", "pytest is in neither the %q extra, test.requirements nor the interpreter's site-packages: add pytest to [project.optional-dependencies] %s", c.Test.Extra, c.Test.Extra)
}
