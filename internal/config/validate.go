package config

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gopythongo/gopythongo/internal/lazy"
	"github.com/gopythongo/gopythongo/internal/python/pyproject"
	"github.com/gopythongo/gopythongo/internal/version"
)

// problems collects what validation finds, each at its key.
type problems struct {
	c    *Config
	errs []error
}

func (p *problems) add(key, format string, args ...any) {
	p.errs = append(p.errs, p.c.Errorf(key, format, args...))
}

// validate checks what the types cannot, section by section, then the rules
// across sections. What one store type needs is checked beside it
// (Options.Checks).
func (c *Config) validate() []error {
	p := &problems{c: c}
	c.validateProject(p)
	c.validateVersion(p)
	c.validateTest(p)
	c.validateVenv(p)
	c.validateBuilder(p)
	c.validatePublish(p)
	c.validateAcross(p)
	return append(p.errs, c.controlChars()...)
}

func (c *Config) validateProject(p *problems) {
	if c.Schema != 1 {
		p.add("schema", "schema %d is not supported (valid: 1); this GoPythonGo reads schema 1", c.Schema)
	}
	if n := c.Project.Name; n != "" && !pyproject.ValidName(n) {
		p.add("project.name", "%q is not a valid name: use letters, digits, '.', '_' and '-', starting and ending with a letter or digit", n)
	}
	if d := c.Project.DeployPath; d != "" {
		if msg := checkDeployPath(d); msg != "" {
			p.add("project.deploy_path", "%s", msg)
		}
	}
	if a := c.Package.Architecture; a != "" && !isDpkgArchitecture(a) {
		p.add("package.architecture", "%q is not an architecture dpkg knows (dpkg-architecture -L lists them), e.g. amd64, arm64 or all", a)
	}
	if c.Project.Dist == "" {
		p.add("project.dist", "must not be empty (default: dist)")
	}
}

func (c *Config) validateVersion(p *problems) {
	v := c.Version
	c.validateSource(p)
	if v.TagPattern != "" {
		if _, err := version.NewRegexParser(v.TagPattern); err != nil {
			p.add("version.tag_pattern", "%v", err)
		}
	}
	if _, err := version.ParseTag(v.Initial); err != nil {
		p.add("version.initial", "%v", err)
	}
	if v.Revision < 1 {
		p.add("version.revision", "must be 1 or more, got %d", v.Revision)
	}
	for role, pats := range map[string][]string{
		"main": v.Branches.Main, "develop": v.Branches.Develop, "release": v.Branches.Release,
		"hotfix": v.Branches.Hotfix, "feature": v.Branches.Feature, "support": v.Branches.Support,
	} {
		for _, pat := range pats {
			if strings.Count(pat, "*") > 1 || pat == "" {
				p.add("version.branches."+role, "pattern %q: use a branch name or one * (e.g. release/*)", pat)
			}
		}
	}
}

// validateSource checks that the version source has what it reads.
func (c *Config) validateSource(p *problems) {
	v := c.Version
	switch v.Source {
	case "searchfile":
		if v.File == "" {
			p.add("version.file", "the searchfile source needs version.file, the file to search")
		}
		if v.Pattern == "" {
			p.add("version.pattern", "the searchfile source needs version.pattern, a regular expression with one capture group")
		} else if re, err := regexp.Compile(v.Pattern); err != nil {
			p.add("version.pattern", "not a valid regular expression: %v", err)
		} else if re.NumSubexp() != 1 {
			p.add("version.pattern", "has %d capture groups; it needs exactly one, around the version, e.g. version = \"([^\"]+)\"", re.NumSubexp())
		}
	case "pymodule":
		if v.File == "" {
			p.add("version.file", "the pymodule source needs version.file, e.g. src/hello/__init__.py")
		}
	case "static":
		if v.Value == "" {
			p.add("version.value", "the static source needs version.value, e.g. 1.2.3")
		} else if _, err := version.ParseTag(v.Value); err != nil {
			p.add("version.value", "%v", err)
		}
	case "env":
		if v.Env == "" {
			p.add("version.env", "the env source needs version.env, the name of a variable such as APP_VERSION")
		}
	}
}

func (c *Config) validateTest(p *problems) {
	for name, s := range c.Test.Suites {
		if s.Runner == "custom" && len(s.Argv) == 0 {
			p.add("test.suites."+name+".argv", "the custom runner needs argv, e.g. [python, -m, mytests]")
		}
	}
}

func (c *Config) validateVenv(p *problems) {
	for i, f := range c.Venv.ExtraFiles {
		key := fmt.Sprintf("venv.extra_files[%d]", i)
		if f.Src == "" || f.Dst == "" {
			p.add(key, "an extra file needs src (in the project) and dst (relative to the deploy path)")
		}
		if d := path.Clean(f.Dst); strings.HasPrefix(f.Dst, "/") || d == ".." || strings.HasPrefix(d, "../") {
			p.add(key+".dst", "%q must be a path inside the deploy path, e.g. etc/app.ini", f.Dst)
		}
		if f.Mode != "" {
			if m, err := strconv.ParseUint(f.Mode, 8, 32); err != nil || m > 0o7777 {
				p.add(key+".mode", "%q is not an octal file mode such as 0644", f.Mode)
			}
		}
	}
	for _, l := range []struct{ key, val string }{{"max_entry_size", c.Venv.WheelLimits.MaxEntrySize}, {"max_size", c.Venv.WheelLimits.MaxSize}} {
		if _, err := ParseSize(l.val); err != nil {
			p.add("venv.wheel_limits."+l.key, "%v", err)
		}
	}
	if r := c.Venv.WheelLimits.MaxRatio; r < 10 {
		p.add("venv.wheel_limits.max_ratio", "%d is too low for real wheels (text compresses 5 to 30 times): use 10 or more (default 200)", r)
	}
	for i, argv := range c.Venv.PostBuild {
		if len(argv) == 0 {
			p.add(fmt.Sprintf("venv.post_build[%d]", i), "an empty command; write the arguments to the venv's interpreter, e.g. [-m, django, collectstatic]")
		}
	}
	if d := c.Venv.PostBuildDir; d != "" {
		if cl := path.Clean(d); path.IsAbs(d) || cl == ".." || strings.HasPrefix(cl, "../") {
			p.add("venv.post_build_dir", "%q must be a directory inside the deploy path, relative to it, e.g. share/app", d)
		}
	}
	for _, g := range c.Venv.Strip {
		if _, err := path.Match(strings.ReplaceAll(g, "**", "*"), ""); err != nil || g == "" || strings.HasPrefix(g, "/") {
			p.add("venv.strip", "%q is not a relative glob such as '**/tests' or 'lib/*/site-packages/*.h'", g)
		}
	}
	if c.Venv.Lock != "" {
		for _, other := range []struct {
			key string
			set bool
		}{{"venv.requirements", len(c.Venv.Requirements) > 0}, {"venv.packages", len(c.Venv.Packages) > 0}, {"venv.constraints", len(c.Venv.Constraints) > 0}} {
			if other.set {
				p.add("venv.lock", "a lock is the whole set of distributions, so %s cannot be used with it: add those to the project and lock again", other.key)
			}
		}
	}
	for _, h := range c.Venv.TrustedHosts {
		if strings.ContainsAny(h, "*?/") || h == "" {
			p.add("venv.trusted_hosts", "%q: name each host exactly, without wildcards or paths", h)
		}
	}
}

var (
	debNameRE    = lazy.Regexp(`^[a-z0-9][a-z0-9-]*$`)
	debPackageRE = lazy.Regexp(`^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$`)
)

// validateBuilder checks the section of the configured builder: for a
// chroot, a suite, an architecture, a mirror URL, package names and commands
// that debootstrap and apt can take; for a container, one build image, given
// or built, and a command that is one program.
func (c *Config) validateBuilder(p *problems) {
	switch c.Venv.Builder {
	case "chroot":
		ch := c.Venv.Chroot
		if !debNameRE().MatchString(ch.Distribution) {
			p.add("venv.chroot.distribution", "%q is not a suite name such as bookworm, trixie or noble", ch.Distribution)
		}
		if ch.Architecture != "" && !debNameRE().MatchString(ch.Architecture) {
			p.add("venv.chroot.architecture", "%q is not a Debian architecture such as amd64 or arm64", ch.Architecture)
		}
		if u, err := url.Parse(ch.Mirror); err != nil || u.Host == "" && u.Scheme != "file" || !slices.Contains([]string{"http", "https", "file"}, u.Scheme) {
			p.add("venv.chroot.mirror", "%q is not a mirror URL such as http://deb.debian.org/debian", ch.Mirror)
		}
		for _, pkg := range ch.Install {
			if !debPackageRE().MatchString(pkg) {
				p.add("venv.chroot.install", "%q is not a Debian package name such as python3-dev", pkg)
			}
		}
		// Checked here, before a bootstrap of minutes: building the project
		// without isolation uses the root's setuptools and wheel.
		if !c.Venv.BuildIsolation && c.Venv.Project {
			var lack []string
			for _, pkg := range []string{"python3-setuptools", "python3-wheel"} {
				if !slices.Contains(ch.Install, pkg) {
					lack = append(lack, pkg)
				}
			}
			if len(lack) > 0 {
				p.add("venv.chroot.install", "venv.build_isolation: false builds the project with the root's own setuptools and wheel: add %s (or turn build isolation on, with the backend's wheels in venv.find_links)", strings.Join(lack, " and "))
			}
		}
		for i, argv := range ch.RunAfterCreate {
			if len(argv) == 0 || argv[0] == "" {
				p.add(fmt.Sprintf("venv.chroot.run_after_create[%d]", i), "an empty command; write an argv such as [update-ca-certificates]")
			}
		}
	case "container":
		ct := c.Venv.Container
		switch {
		case ct.Image == "" && ct.Dockerfile == "":
			p.add("venv.container.image", "the container builder needs a build image: venv.container.image, e.g. docker.io/library/python:3.11-slim-bookworm, or venv.container.dockerfile to build one")
		case ct.Image != "" && ct.Dockerfile != "":
			p.add("venv.container.dockerfile", "give venv.container.image or venv.container.dockerfile, not both")
		}
		if strings.ContainsAny(ct.Command, " \t") {
			p.add("venv.container.command", "%q must be one program such as docker or podman; put its options in venv.container.global_args", ct.Command)
		}
	}
}

// validatePublish checks what every store has, whatever its type: a unique
// name, a timeout, bounded retries. What each type needs is the store's own
// check (storetype.CheckConfig).
func (c *Config) validatePublish(p *problems) {
	seen := map[string]bool{}
	for i, s := range c.Publish.Stores {
		key := fmt.Sprintf("publish.stores[%d]", i)
		if s.Name == "" {
			p.add(key, "a store needs a name")
		} else if seen[s.Name] {
			p.add(key+".name", "two stores are named %q", s.Name)
		}
		seen[s.Name] = true
		if d, err := time.ParseDuration(s.Timeout); err != nil || d <= 0 {
			p.add(key+".timeout", "%q is not a duration such as 60s or 2m", s.Timeout)
		}
		if s.Retries < 0 || s.Retries > 20 {
			p.add(key+".retries", "%d: retries must be between 0 and 20", s.Retries)
		}
	}
}

// validateAcross checks the rules between sections.
func (c *Config) validateAcross(p *problems) {
	if from := c.Version.RevisionFrom; from != "" {
		if _, ok := c.Store(from); !ok {
			p.add("version.revision_from", "no store named %q in publish.stores (have: %s)", from, strings.Join(c.storeNames(), ", "))
		}
	}
	if c.Venv.Dists && !c.Venv.Project {
		p.add("venv.dists", "the wheel and sdist are the project's: set venv.project: true, or drop venv.dists")
	}
}

func (c *Config) storeNames() []string {
	var names []string
	for _, s := range c.Publish.Stores {
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return []string{"none"}
	}
	return names
}
