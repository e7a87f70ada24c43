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

	"github.com/gopythongo/gopythongo/internal/version"
)

var (
	debNameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	debPackageRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$`)
)

var projectNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)

// validate checks what the types cannot: required combinations, paths, patterns.
func (c *Config) validate() []error {
	var errs []error
	bad := func(p, format string, args ...any) { errs = append(errs, c.Errorf(p, format, args...)) }

	if c.Schema != 1 {
		bad("schema", "schema %d is not supported (valid: 1); this GoPythonGo reads schema 1", c.Schema)
	}
	if n := c.Project.Name; n != "" && !projectNameRE.MatchString(n) {
		bad("project.name", "%q is not a valid name: use letters, digits, '.', '_' and '-', starting and ending with a letter or digit", n)
	}
	if p := c.Project.DeployPath; p != "" {
		if msg := checkDeployPath(p); msg != "" {
			bad("project.deploy_path", "%s", msg)
		}
	}
	errs = append(errs, c.controlChars()...)
	if a := c.Package.Architecture; a != "" && !isDpkgArchitecture(a) {
		bad("package.architecture", "%q is not an architecture dpkg knows (dpkg-architecture -L lists them), e.g. amd64, arm64 or all", a)
	}
	if c.Project.Dist == "" {
		bad("project.dist", "must not be empty (default: dist)")
	}

	v := c.Version
	switch v.Source {
	case "searchfile":
		if v.File == "" {
			bad("version.file", "the searchfile source needs version.file, the file to search")
		}
		if v.Pattern == "" {
			bad("version.pattern", "the searchfile source needs version.pattern, a regular expression with one capture group")
		} else if re, err := regexp.Compile(v.Pattern); err != nil {
			bad("version.pattern", "not a valid regular expression: %v", err)
		} else if re.NumSubexp() != 1 {
			bad("version.pattern", "has %d capture groups; it needs exactly one, around the version, e.g. version = \"([^\"]+)\"", re.NumSubexp())
		}
	case "pymodule":
		if v.File == "" {
			bad("version.file", "the pymodule source needs version.file, e.g. src/hello/__init__.py")
		}
	case "static":
		if v.Value == "" {
			bad("version.value", "the static source needs version.value, e.g. 1.2.3")
		} else if _, err := version.ParseTag(v.Value); err != nil {
			bad("version.value", "%v", err)
		}
	case "env":
		if v.Env == "" {
			bad("version.env", "the env source needs version.env, the name of a variable such as APP_VERSION")
		}
	}
	if v.TagPattern != "" {
		if _, err := version.NewRegexParser(v.TagPattern); err != nil {
			bad("version.tag_pattern", "%v", err)
		}
	}
	if _, err := version.ParseTag(v.Initial); err != nil {
		bad("version.initial", "%v", err)
	}
	if v.Revision < 1 {
		bad("version.revision", "must be 1 or more, got %d", v.Revision)
	}
	if v.RevisionFrom != "" {
		if _, ok := c.Store(v.RevisionFrom); !ok {
			bad("version.revision_from", "no store named %q in publish.stores (have: %s)", v.RevisionFrom, strings.Join(c.storeNames(), ", "))
		}
	}
	for role, pats := range map[string][]string{
		"main": v.Branches.Main, "develop": v.Branches.Develop, "release": v.Branches.Release,
		"hotfix": v.Branches.Hotfix, "feature": v.Branches.Feature, "support": v.Branches.Support,
	} {
		for _, p := range pats {
			if strings.Count(p, "*") > 1 || p == "" {
				bad("version.branches."+role, "pattern %q: use a branch name or one * (e.g. release/*)", p)
			}
		}
	}

	for name, s := range c.Test.Suites {
		p := "test.suites." + name
		if s.Runner == "custom" && len(s.Argv) == 0 {
			bad(p+".argv", "the custom runner needs argv, e.g. [python, -m, mytests]")
		}
	}
	for i, f := range c.Venv.ExtraFiles {
		p := fmt.Sprintf("venv.extra_files[%d]", i)
		if f.Src == "" || f.Dst == "" {
			bad(p, "an extra file needs src (in the project) and dst (relative to the deploy path)")
		}
		if d := path.Clean(f.Dst); strings.HasPrefix(f.Dst, "/") || d == ".." || strings.HasPrefix(d, "../") {
			bad(p+".dst", "%q must be a path inside the deploy path, e.g. etc/app.ini", f.Dst)
		}
		if f.Mode != "" {
			if m, err := strconv.ParseUint(f.Mode, 8, 32); err != nil || m > 0o7777 {
				bad(p+".mode", "%q is not an octal file mode such as 0644", f.Mode)
			}
		}
	}
	for _, l := range []struct{ key, val string }{{"max_entry_size", c.Venv.WheelLimits.MaxEntrySize}, {"max_size", c.Venv.WheelLimits.MaxSize}} {
		if _, err := ParseSize(l.val); err != nil {
			bad("venv.wheel_limits."+l.key, "%v", err)
		}
	}
	if r := c.Venv.WheelLimits.MaxRatio; r < 10 {
		bad("venv.wheel_limits.max_ratio", "%d is too low for real wheels (text compresses 5 to 30 times): use 10 or more (default 200)", r)
	}
	for i, argv := range c.Venv.PostBuild {
		if len(argv) == 0 {
			bad(fmt.Sprintf("venv.post_build[%d]", i), "an empty command; write the arguments to the venv's interpreter, e.g. [-m, django, collectstatic]")
		}
	}
	if c.Venv.Dists && !c.Venv.Project {
		bad("venv.dists", "the wheel and sdist are the project's: set venv.project: true, or drop venv.dists")
	}
	for _, g := range c.Venv.Strip {
		if _, err := path.Match(strings.ReplaceAll(g, "**", "*"), ""); err != nil || g == "" || strings.HasPrefix(g, "/") {
			bad("venv.strip", "%q is not a relative glob such as '**/tests' or 'lib/*/site-packages/*.h'", g)
		}
	}
	for _, h := range c.Venv.TrustedHosts {
		if strings.ContainsAny(h, "*?/") || h == "" {
			bad("venv.trusted_hosts", "%q: name each host exactly, without wildcards or paths", h)
		}
	}
	switch ch, ct := c.Venv.Chroot, c.Venv.Container; c.Venv.Builder {
	case "chroot":
		if !debNameRE.MatchString(ch.Distribution) {
			bad("venv.chroot.distribution", "%q is not a suite name such as bookworm, trixie or noble", ch.Distribution)
		}
		if ch.Architecture != "" && !debNameRE.MatchString(ch.Architecture) {
			bad("venv.chroot.architecture", "%q is not a Debian architecture such as amd64 or arm64", ch.Architecture)
		}
		if u, err := url.Parse(ch.Mirror); err != nil || u.Host == "" && u.Scheme != "file" || !slices.Contains([]string{"http", "https", "file"}, u.Scheme) {
			bad("venv.chroot.mirror", "%q is not a mirror URL such as http://deb.debian.org/debian", ch.Mirror)
		}
		for _, p := range ch.Install {
			if !debPackageRE.MatchString(p) {
				bad("venv.chroot.install", "%q is not a Debian package name such as python3-dev", p)
			}
		}
		for i, argv := range ch.RunAfterCreate {
			if len(argv) == 0 || argv[0] == "" {
				bad(fmt.Sprintf("venv.chroot.run_after_create[%d]", i), "an empty command; write an argv such as [update-ca-certificates]")
			}
		}
	case "container":
		switch {
		case ct.Image == "" && ct.Dockerfile == "":
			bad("venv.container.image", "the container builder needs a build image: venv.container.image, e.g. docker.io/library/python:3.11-slim-bookworm, or venv.container.dockerfile to build one")
		case ct.Image != "" && ct.Dockerfile != "":
			bad("venv.container.dockerfile", "give venv.container.image or venv.container.dockerfile, not both")
		}
		if strings.ContainsAny(ct.Command, " \t") {
			bad("venv.container.command", "%q must be one program such as docker or podman; put its options in venv.container.global_args", ct.Command)
		}
	}

	seen := map[string]bool{}
	for i, s := range c.Publish.Stores {
		p := fmt.Sprintf("publish.stores[%d]", i)
		if s.Name == "" {
			bad(p, "a store needs a name")
		} else if seen[s.Name] {
			bad(p+".name", "two stores are named %q", s.Name)
		}
		seen[s.Name] = true
		switch s.Type {
		case "":
			bad(p, "store %q needs a type (valid: apt-dir, aptly, registry, oci-dir, pypi, pypi-dir)", s.Name)
		case "apt-dir", "oci-dir", "pypi-dir":
			if s.Path == "" {
				bad(p, "store %q of type %s needs a path", s.Name, s.Type)
			}
		case "registry":
			if s.Repository == "" {
				bad(p, "store %q of type registry needs a repository, e.g. 127.0.0.1:5000/hello", s.Name)
			}
		case "aptly":
			if s.URL == "" {
				bad(p, "store %q of type aptly needs url, its API, e.g. http://127.0.0.1:8080", s.Name)
			}
		case "pypi":
			if s.URL == "" {
				bad(p, "store %q of type pypi needs url, the upload endpoint, e.g. https://upload.pypi.org/legacy/", s.Name)
			}
		}
		if d, err := time.ParseDuration(s.Timeout); err != nil || d <= 0 {
			bad(p+".timeout", "%q is not a duration such as 60s or 2m", s.Timeout)
		}
		if s.Retries < 0 || s.Retries > 20 {
			bad(p+".retries", "%d: retries must be between 0 and 20", s.Retries)
		}
		if n := btoi(s.SigningKeyFile != "") + btoi(s.SigningKeyEnv != "") + btoi(s.SigningKeyFileEnv != ""); n > 1 {
			bad(p, "store %q: set one of signing_key_file, signing_key_env and signing_key_file_env", s.Name)
		}
		for _, k := range []struct{ key, val string }{{"distribution", s.Distribution}, {"component", s.Component}} {
			if strings.ContainsAny(k.val, "/ \t") || k.val == "" || k.val == "." || k.val == ".." {
				bad(p+"."+k.key, "%q must be a single word such as bookworm or main", k.val)
			}
		}
	}
	return errs
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

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
