// Package python knows Python interpreters, wheels and distribution metadata:
// what an interpreter is and which wheel tags it accepts, what a wheel's file
// name says, and what a dist-info directory records.
package python

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Interpreter is a Python interpreter as it reports itself.
type Interpreter struct {
	// Path is the interpreter as configured or found on PATH.
	Path string `json:"path"`
	// Executable is sys.executable with symlinks resolved.
	Executable     string `json:"executable"`
	Version        string `json:"version"` // 3.11.2
	Major          int    `json:"major"`
	Minor          int    `json:"minor"`
	Implementation string `json:"implementation"` // cpython
	// Tags are the wheel tags it accepts, most specific first.
	Tags []Tag `json:"tags"`
	// Markers are its PEP 508 marker variables, for lock files and
	// requirements with markers.
	Markers Environment `json:"markers"`
	// Libc is its C library as it reports it ("glibc 2.36", "" unknown).
	Libc string `json:"libc"`
}

// Tag is one wheel compatibility tag.
type Tag struct {
	Python, ABI, Platform string
}

func (t Tag) String() string { return t.Python + "-" + t.ABI + "-" + t.Platform }

// MarshalJSON writes the tag as "py3-none-any".
func (t Tag) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// UnmarshalJSON reads "py3-none-any".
func (t *Tag) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	p := strings.Split(s, "-")
	if len(p) != 3 {
		return fmt.Errorf("bad wheel tag %q", s)
	}
	*t = Tag{p[0], p[1], p[2]}
	return nil
}

// probe runs inside the interpreter. It lists the tags with packaging when the
// interpreter has it (or pip's copy), and otherwise works them out the way
// packaging does for CPython on glibc Linux.
const probe = `
import json, os, platform, sys, sysconfig
tags = None
for mod in ("packaging.tags", "pip._vendor.packaging.tags"):
    try:
        t = __import__(mod, fromlist=["sys_tags"])
        tags = [str(x) for x in t.sys_tags()]
        break
    except Exception:
        pass
if tags is None:
    v = "%d%d" % sys.version_info[:2]
    impl = {"cpython": "cp", "pypy": "pp"}.get(sys.implementation.name, "py")
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    plats = []
    libc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else None
    if plat.startswith("linux_") and libc and libc.startswith("glibc "):
        arch = plat[len("linux_"):]
        major, minor = [int(x) for x in libc.split()[1].split(".")[:2]]
        plats += ["manylinux_%d_%d_%s" % (major, m, arch) for m in range(minor, 16, -1)]
        plats += ["manylinux2014_" + arch, "manylinux2010_" + arch, "manylinux1_" + arch]
    plats.append(plat)
    abi = impl + v
    tags = ["%s%s-%s-%s" % (impl, v, a, p) for a in (abi, "abi3", "none") for p in plats]
    tags += ["py%s-none-%s" % (v, p) for p in plats]
    tags += ["%s%s-none-any" % (impl, v), "py%s-none-any" % v, "py%s-none-any" % sys.version_info[0]]
iv = sys.implementation.version
iver = "%d.%d.%d" % iv[:3] + ("" if iv.releaselevel == "final" else iv.releaselevel[0] + str(iv.serial))
markers = {
    "implementation_name": sys.implementation.name, "implementation_version": iver,
    "os_name": os.name, "platform_machine": platform.machine(), "platform_release": platform.release(),
    "platform_system": platform.system(), "platform_version": platform.version(),
    "python_full_version": platform.python_version(), "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]), "sys_platform": sys.platform,
}
libc = " ".join(platform.libc_ver())
print(json.dumps({
    "executable": os.path.realpath(sys.executable),
    "version": "%d.%d.%d" % sys.version_info[:3],
    "major": sys.version_info[0], "minor": sys.version_info[1],
    "implementation": sys.implementation.name,
    "tags": tags, "markers": markers, "libc": libc.strip(),
}))
`

// Runner runs an argv and returns its standard output: on this machine, in a
// chroot or in a container.
type Runner func(ctx context.Context, argv []string) ([]byte, error)

// LocalRunner runs argv on this machine with a clean environment.
func LocalRunner(ctx context.Context, argv []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C.UTF-8", "PYTHONNOUSERSITE=1"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", CommandLine(argv), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// CommandLine is argv for a message: a program given as an argument (-c
// with a script) is shown as "…", not printed whole.
func CommandLine(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if strings.Contains(a, "\n") {
			a = "…"
		}
		parts[i] = a
	}
	return strings.Join(parts, " ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ErrNoInterpreter means the configured interpreter does not exist.
var ErrNoInterpreter = errors.New("no Python interpreter")

// Probe asks an interpreter what it is.
func Probe(ctx context.Context, run Runner, path string) (Interpreter, error) {
	if run == nil {
		run = LocalRunner
		if p, err := exec.LookPath(path); err == nil {
			path = p
		} else {
			return Interpreter{}, fmt.Errorf("%w: %q is not found (set project.python to an interpreter, e.g. /usr/bin/python3)", ErrNoInterpreter, path)
		}
	}
	out, err := run(ctx, []string{path, "-I", "-c", probe})
	if err != nil {
		return Interpreter{}, fmt.Errorf("%w: %s does not run (%v): set project.python to a Python 3 interpreter of the build environment, e.g. /usr/bin/python3", ErrNoInterpreter, path, err)
	}
	var in Interpreter
	if err := json.Unmarshal(out, &in); err != nil || in.Version == "" {
		what := fmt.Sprintf("printed %q", truncate(string(out), 80))
		if len(bytes.TrimSpace(out)) == 0 {
			what = "printed nothing"
		}
		return Interpreter{}, fmt.Errorf("%w: %s is no Python interpreter: asked what it is, it %s; set project.python to a Python 3 interpreter, e.g. /usr/bin/python3", ErrNoInterpreter, path, what)
	}
	if in.Major < 3 || in.Major == 3 && in.Minor < 8 {
		return Interpreter{}, fmt.Errorf("%s is Python %s; GoPythonGo builds venvs for Python 3.8 and later", path, in.Version)
	}
	in.Path = path
	return in, nil
}

// Supports reports whether the interpreter accepts any of a wheel's tags, and
// the rank of the best one (lower is more specific).
func (in Interpreter) Supports(tags []Tag) (rank int, ok bool) {
	for i, t := range in.Tags {
		for _, w := range tags {
			if t == w {
				return i, true
			}
		}
	}
	return 0, false
}

// Environment holds the PEP 508 marker variables of a target interpreter.
type Environment map[string]string

// With is a copy of env with extra set (the "extra" marker variable).
func (env Environment) With(key, value string) Environment {
	out := make(Environment, len(env)+1)
	for k, v := range env {
		out[k] = v
	}
	out[key] = value
	return out
}
