// Package scaffold starts a project on GoPythonGo: it reads what the project
// already says (pyproject.toml, setup.py, its tests, lock files, the git
// remote and tags, the CI files present) and writes a commented
// .gopythongo.yaml that builds it as it stands, and on request a CI file.
// It never overwrites a file.
package scaffold

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/gopythongo/gopythongo/internal/fileread"
	"github.com/gopythongo/gopythongo/internal/lazy"
	"github.com/gopythongo/gopythongo/internal/python/pyproject"
)

// Project is what Inspect found.
type Project struct {
	Dir  string
	Name string // as the project spells it
	// NameFrom says where the name came from (pyproject.toml, setup.cfg, …).
	NameFrom string
	// Version is a static version of pyproject.toml, "" when dynamic or none.
	Version        string
	RequiresPython string
	Backend        string   // build-backend, "" for a setup.py without pyproject.toml
	Scripts        []string // console scripts, sorted
	Maintainer     string   // "Name <email>", "" when nothing says
	MaintainerFrom string
	// Suites maps a suite name to its directory; Runner is pytest or unittest.
	Suites map[string]string
	Runner string
	// TestExtra is the optional-dependencies extra with the test tools.
	TestExtra string
	// Lock is a lock file venv.lock can install; Requirements plain ones.
	Lock         string
	Requirements []string
	Compiled     bool // C, C++ or Rust extensions
	// FixedVersion: the version is dynamic but read from the source (an
	// attr: or file: of setuptools, hatch's path), which a build cannot set.
	FixedVersion bool
	Django       bool // manage.py
	SourceURL    string
	// Tagged: the repository has a version tag (vX.Y.Z or X.Y.Z).
	Tagged bool
	Git    bool
	CI     []string // CI files present, relative paths
}

type pyprojectFile struct {
	BuildSystem struct {
		Requires []string `toml:"requires"`
		Backend  string   `toml:"build-backend"`
	} `toml:"build-system"`
	Project struct {
		Name           string              `toml:"name"`
		Version        string              `toml:"version"`
		Dynamic        []string            `toml:"dynamic"`
		RequiresPython string              `toml:"requires-python"`
		Authors        []person            `toml:"authors"`
		Maintainers    []person            `toml:"maintainers"`
		Scripts        map[string]string   `toml:"scripts"`
		Dependencies   []string            `toml:"dependencies"`
		Optional       map[string][]string `toml:"optional-dependencies"`
	} `toml:"project"`
	Tool struct {
		Pytest map[string]any `toml:"pytest"`
	} `toml:"tool"`
}

type person struct{ Name, Email string }

// readBounded reads a project file of at most fileread.ProjectLimit bytes,
// a regular file only (a pipe in its place would hold --init for ever); a
// missing file is nil, no error.
func readBounded(path string) ([]byte, error) {
	b, err := fileread.Read(path, fileread.ProjectLimit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: no project file is; replace it with the project's own", err)
	}
	return b, nil
}

func isFile(p string) bool { fi, err := os.Lstat(p); return err == nil && fi.Mode().IsRegular() }
func isDir(p string) bool  { fi, err := os.Lstat(p); return err == nil && fi.IsDir() }

// Inspect reads the project in dir.
func Inspect(dir string) (*Project, error) {
	p := &Project{Dir: dir, Suites: map[string]string{}}
	raw, err := readBounded(filepath.Join(dir, "pyproject.toml"))
	if err != nil {
		return nil, err
	}
	var py pyprojectFile
	if raw != nil {
		if _, err := toml.Decode(string(raw), &py); err != nil {
			return nil, fmt.Errorf("pyproject.toml: %w: fix the file (python3 -c 'import tomllib; tomllib.load(open(\"pyproject.toml\", \"rb\"))' shows where)", err)
		}
	}
	setupPy, err := readBounded(filepath.Join(dir, "setup.py"))
	if err != nil {
		return nil, err
	}
	if raw == nil && setupPy == nil {
		return nil, fmt.Errorf("%s holds neither pyproject.toml nor setup.py: run --init in the project's root", dir)
	}
	p.Name, p.NameFrom = py.Project.Name, "pyproject.toml"
	if p.Name == "" {
		p.Name, p.NameFrom = legacyName(dir, setupPy)
	}
	if p.Name == "" {
		return nil, errors.New("cannot tell the project's name: give [project] name in pyproject.toml")
	}
	if !pyproject.ValidName(p.Name) {
		return nil, fmt.Errorf("the project's name %q (%s) is no valid distribution name (letters, digits, ., _ and -, starting and ending with a letter or digit)", p.Name, p.NameFrom)
	}
	p.Version, p.RequiresPython, p.Backend = py.Project.Version, py.Project.RequiresPython, py.BuildSystem.Backend
	for s := range py.Project.Scripts {
		p.Scripts = append(p.Scripts, s)
	}
	sort.Strings(p.Scripts)
	for _, who := range [][]person{py.Project.Maintainers, py.Project.Authors} {
		for _, m := range who {
			if m.Name != "" && m.Email != "" && !strings.ContainsAny(m.Name+m.Email, "<>\n") {
				p.Maintainer, p.MaintainerFrom = m.Name+" <"+m.Email+">", "pyproject.toml"
				break
			}
		}
		if p.Maintainer != "" {
			break
		}
	}
	p.Compiled = bytes.Contains(setupPy, []byte("ext_modules")) || slices.ContainsFunc(py.BuildSystem.Requires, func(r string) bool {
		n := strings.ToLower(r)
		return strings.HasPrefix(n, "scikit-build") || strings.HasPrefix(n, "meson-python") || strings.HasPrefix(n, "maturin") || strings.HasPrefix(n, "setuptools-rust") || strings.HasPrefix(n, "cython")
	})
	p.Django = isFile(filepath.Join(dir, "manage.py"))
	// A dynamic version that no VCS plugin computes comes from the source
	// itself: set_version would be refused when the wheel shows its own.
	if slices.Contains(py.Project.Dynamic, "version") {
		p.FixedVersion = !slices.ContainsFunc(py.BuildSystem.Requires, func(r string) bool {
			n := strings.ToLower(strings.ReplaceAll(r, "_", "-"))
			return strings.HasPrefix(n, "setuptools-scm") || strings.HasPrefix(n, "hatch-vcs") || strings.HasPrefix(n, "pdm-backend") || strings.HasPrefix(n, "versioningit")
		})
	}
	p.findTests(&py)
	if err := p.findLocks(); err != nil {
		return nil, err
	}
	p.findGit()
	for _, f := range []string{".gitlab-ci.yml", "Jenkinsfile", ".circleci/config.yml"} {
		if isFile(filepath.Join(dir, f)) {
			p.CI = append(p.CI, f)
		}
	}
	wfs, _ := filepath.Glob(filepath.Join(dir, ".github", "workflows", "*.y*ml"))
	for _, w := range wfs {
		rel, _ := filepath.Rel(dir, w)
		p.CI = append(p.CI, rel)
	}
	sort.Strings(p.CI)
	return p, nil
}

var setupName = lazy.Regexp(`(?m)\bname\s*=\s*["']([A-Za-z0-9._-]+)["']`)

// legacyName reads the name of a project without [project]: setup.cfg's
// [metadata] name, else a literal name= in setup.py (never run).
func legacyName(dir string, setupPy []byte) (string, string) {
	cfg, _ := readBounded(filepath.Join(dir, "setup.cfg"))
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(cfg))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "[") {
			section = l
			continue
		}
		if k, v, ok := strings.Cut(l, "="); ok && section == "[metadata]" && strings.TrimSpace(k) == "name" {
			return strings.TrimSpace(v), "setup.cfg"
		}
	}
	if m := setupName().FindSubmatch(setupPy); m != nil {
		return string(m[1]), "setup.py"
	}
	return "", ""
}

// findTests finds the test directories (tests/ or test/, split into suites
// when it has unit/ and integration/ or the like), the runner and the
// extra with the test tools.
func (p *Project) findTests(py *pyprojectFile) {
	for _, d := range []string{"tests", "test"} {
		if !isDir(filepath.Join(p.Dir, d)) {
			continue
		}
		subs, _ := os.ReadDir(filepath.Join(p.Dir, d))
		for _, s := range subs {
			if s.IsDir() && slices.Contains([]string{"unit", "integration", "functional", "e2e", "acceptance"}, s.Name()) {
				p.Suites[s.Name()] = d + "/" + s.Name()
			}
		}
		if len(p.Suites) == 0 {
			p.Suites["tests"] = d
		}
		break
	}
	for _, e := range []string{"test", "tests", "testing", "dev"} {
		if _, ok := py.Project.Optional[e]; ok {
			p.TestExtra = e
			break
		}
	}
	pytest := py.Tool.Pytest != nil || isFile(filepath.Join(p.Dir, "pytest.ini")) || isFile(filepath.Join(p.Dir, "conftest.py"))
	for _, deps := range py.Project.Optional {
		pytest = pytest || slices.ContainsFunc(deps, func(d string) bool { return strings.HasPrefix(strings.ToLower(strings.TrimSpace(d)), "pytest") })
	}
	p.Runner = "pytest"
	if !pytest && len(p.Suites) > 0 {
		// Tests written for unittest and nothing naming pytest: unittest
		// runs them without a dependency.
		unittest := false
		for _, d := range p.Suites {
			filepath.WalkDir(filepath.Join(p.Dir, d), func(path string, e os.DirEntry, err error) error {
				if err == nil && !e.IsDir() && strings.HasSuffix(path, ".py") {
					b, _ := readBounded(path)
					unittest = unittest || bytes.Contains(b, []byte("import unittest")) || bytes.Contains(b, []byte("from unittest"))
				}
				return nil
			})
		}
		if unittest {
			p.Runner = "unittest"
		}
	}
}

// findLocks finds a lock file venv.lock installs, or plain requirements.
func (p *Project) findLocks() error {
	for _, l := range []string{"uv.lock", "pylock.toml", "poetry.lock"} {
		if isFile(filepath.Join(p.Dir, l)) {
			p.Lock = l
			return nil
		}
	}
	for _, r := range []string{"requirements.txt", "requirements/production.txt", "requirements/prod.txt", "requirements/base.txt"} {
		b, err := readBounded(filepath.Join(p.Dir, r))
		if err != nil {
			return err
		}
		if b == nil {
			continue
		}
		if bytes.Contains(b, []byte("--hash")) {
			p.Lock = r // pip-compile --generate-hashes: installed exactly
			return nil
		}
		p.Requirements = append(p.Requirements, r)
		return nil
	}
	return nil
}

// findGit reads the repository: whether there is one, its version tags, the
// remote's URL (without credentials), and a maintainer from its config when
// pyproject.toml names none. Git runs with its argv, never a shell.
func (p *Project) findGit() {
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", p.Dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
		out, err := cmd.Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	if git("rev-parse", "--is-inside-work-tree") != "true" {
		return
	}
	p.Git = true
	for _, t := range strings.Fields(git("tag", "--list")) {
		if versionTag().MatchString(t) {
			p.Tagged = true
			break
		}
	}
	p.SourceURL = publicURL(git("remote", "get-url", "origin"))
	if p.Maintainer == "" {
		if n, e := git("config", "user.name"), git("config", "user.email"); n != "" && e != "" && !strings.ContainsAny(n+e, "<>\n") {
			p.Maintainer, p.MaintainerFrom = n+" <"+e+">", "git config user.name and user.email"
		}
	}
}

var versionTag = lazy.Regexp(`^v?[0-9]+\.[0-9]+(\.[0-9]+)?$`)

var scpLike = lazy.Regexp(`^(?:[A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):([A-Za-z0-9._/-]+?)(?:\.git)?/?$`)

// publicURL is a remote as a browsable https URL, without credentials: a
// token in a remote URL must not land in packages.
func publicURL(remote string) string {
	if m := scpLike().FindStringSubmatch(remote); m != nil && !strings.Contains(remote, "://") {
		return "https://" + m[1] + "/" + m[2]
	}
	u, err := url.Parse(remote)
	if err != nil || u.Host == "" || !slices.Contains([]string{"https", "http", "ssh", "git"}, u.Scheme) {
		return ""
	}
	u.User, u.Scheme = nil, "https"
	u.Host = u.Hostname() // an ssh port means nothing to a browser
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git")
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}
