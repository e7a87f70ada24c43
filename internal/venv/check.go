package venv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/gopythongo/gopythongo/internal/check"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/python"
)

// Check says whether this machine can build the configured venv (testVenv:
// gopythongo-test's venv, made in test.builder): the interpreter, the
// builder's tools, every file the configuration names, the credentials of the
// index URLs, uv and the cache. It builds nothing and writes nothing.
func Check(ctx context.Context, c *config.Config, testVenv bool, getenv func(string) string) []check.Finding {
	v := c.Venv
	builder := v.Builder
	if testVenv && c.Test.Builder == "host" {
		builder = "" // made in the dist directory with project.python: no namespace
	}
	var fs []check.Finding
	add := func(f ...check.Finding) { fs = append(fs, f...) }

	switch builder {
	case "", "host":
		in, err := python.Probe(ctx, nil, c.Project.Python)
		add(check.Of("project.python", err, describe(in)))
		if builder == "host" {
			add(namespaceCheck(ctx))
		}
	case "chroot":
		if os.Geteuid() != 0 {
			add(check.Badf("venv.builder", "the chroot builder makes and enters a root, which needs root: run the step as root, or use venv.builder: container"))
		}
		if t := check.Tool("mmdebstrap", "the chroot builder's bootstrap", "apt-get install mmdebstrap"); t.Level == check.OK {
			add(t)
		} else {
			add(check.Tool("debootstrap", "the chroot builder's bootstrap (mmdebstrap is preferred)", "apt-get install mmdebstrap"))
		}
		add(check.Notef("project.python", "%s is looked for in the root (venv.chroot.install: %s) when it is made", c.Project.Python, strings.Join(v.Chroot.Install, ", ")))
	case "container":
		// The same choice newContainer makes: docker if it is there, then podman.
		cmd := v.Container.Command
		for _, c := range []string{"docker", "podman"} {
			if cmd != "" {
				break
			}
			if _, err := exec.LookPath(c); err == nil {
				cmd = c
			}
		}
		if cmd == "" {
			cmd = "docker or podman"
		}
		add(check.Tool(cmd, "the container builder (venv.container.command)", "install docker or podman, or name it in venv.container.command"))
		if v.Container.Dockerfile != "" {
			add(check.File("venv.container.dockerfile", c.Path(v.Container.Dockerfile)))
		}
	}

	if v.Project {
		if hasBuildFile(c.Dir) {
			add(check.Good("venv.project", "%s holds a project to build", c.Dir))
		} else {
			add(check.Badf("venv.project", "%s holds no pyproject.toml (nor setup.py): add one, or set venv.project: false to install only venv.packages and venv.requirements", c.Dir))
		}
	}
	files := map[string][]string{"venv.requirements": v.Requirements, "venv.constraints": v.Constraints}
	if v.Lock != "" {
		files["venv.lock"] = []string{v.Lock}
	}
	for _, key := range []string{"venv.requirements", "venv.constraints", "venv.lock"} {
		for _, f := range files[key] {
			add(check.File(key, c.Path(f)))
		}
	}
	for _, fl := range v.FindLinks {
		if !strings.Contains(fl, "://") {
			add(check.Dir("venv.find_links", c.Path(fl)))
		}
	}
	for _, ef := range v.ExtraFiles {
		if _, err := os.Stat(c.Path(ef.Src)); err != nil {
			add(check.Badf("venv.extra_files", "%s: %v: create it or change the entry", ef.Src, errors.Unwrap(err)))
		} else {
			add(check.Good("venv.extra_files", "%s → %s", ef.Src, ef.Dst))
		}
	}
	for i, u := range append([]string{v.IndexURL}, v.ExtraIndexURLs...) {
		if u == "" {
			continue
		}
		key := "venv.index_url"
		if i > 0 {
			key = "venv.extra_index_urls"
		}
		_, _, err := expand(u, getenv)
		add(check.Of(key, err, config.MaskURL(u)+" (its variables are set)"))
	}
	if v.Installer == "uv" || v.Resolver == "uv" && v.Lock == "" {
		b := &build{c: c}
		p, err := b.uvPath()
		add(check.Of("venv.uv", err, p))
	}
	add(check.Writable("venv.cache_dir", c.CacheDir(getenv)))
	return fs
}

func describe(in python.Interpreter) string {
	return fmt.Sprintf("%s %s at %s (%s)", in.Implementation, in.Version, in.Executable, firstTag(in))
}

// namespaceCheck starts the host builder's private mount namespace once,
// running /bin/true in it: the kernel or a container runtime may refuse it.
func namespaceCheck(ctx context.Context) check.Finding {
	scratch, err := os.MkdirTemp("", "gopythongo-check-")
	if err != nil {
		return check.Bad("venv.builder", err)
	}
	defer os.RemoveAll(scratch)
	err = runInNamespace(ctx, nil, nil, mountSpec{Scratch: scratch, Argv: []string{"/bin/true"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/"})
	return check.Of("venv.builder", err, "host: a private mount namespace can be made")
}
