package venv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/fsroot"
	"github.com/gopythongo/gopythongo/internal/lazy"
	"github.com/gopythongo/gopythongo/internal/python"
)

// Pip runs pip with the build machine's interpreter (or from a pip wheel)
// against the target. It never reads user configuration or stray PIP_*
// variables: its environment is built from nothing, and index settings come
// from the configuration alone.
type Pip struct {
	// Base is the argv that starts pip: [python, pip.whl/pip] or [python, -m, pip].
	Base []string
	// Env is the whole environment of every pip run.
	Env []string
	// Index holds the index arguments (no credentials: those are in Env).
	Index []string
	// Secrets are the credential values that went into Env, for masking.
	Secrets []string
	// Log receives pip's output when a command fails (and always, verbose).
	Log     io.Writer
	Verbose bool
	// Progress, when set, hears of every distribution pip's output names.
	Progress func(format string, args ...any)
	// prepare readies pip before its first run (compiles it), once.
	prepare func(context.Context) error
}

// FindPip decides how to run pip: the configured wheel, else the newest pip wheel
// of /usr/share/python-wheels, else the interpreter's own pip module. A wheel is
// unpacked into the cache (pip imported from a zip takes seconds longer on
// every run) and compiled there before pip first runs, which a build that
// needs no pip never pays for.
//
// local says whether the interpreter runs on this machine; an isolated
// builder's does not, so pip runs from the wheel's source there.
func FindPip(ctx context.Context, interp python.Interpreter, wheel string, cache *Cache, local bool) (*Pip, error) {
	if wheel == "" {
		wheels, _ := filepath.Glob("/usr/share/python-wheels/pip-*.whl")
		if len(wheels) > 0 {
			slices.SortFunc(wheels, func(a, b string) int { return compareVersions(wheelVersion(a), wheelVersion(b)) })
			wheel = wheels[len(wheels)-1]
		}
	} else if _, err := os.Stat(wheel); err != nil {
		return nil, fmt.Errorf("venv.pip_wheel: %w", err)
	}
	if wheel != "" {
		dir, err := cache.unpackPip(wheel)
		if err != nil {
			return nil, err
		}
		p := &Pip{Base: []string{interp.Path, filepath.Join(dir, "pip")}}
		if local {
			p.prepare = func(ctx context.Context) error { return cache.compilePip(ctx, interp, dir) }
		}
		return p, nil
	}
	if !local {
		return nil, fmt.Errorf("no pip wheel to run pip from in an isolated builder: install python3-pip-whl on this machine, or set venv.pip_wheel")
	}
	if _, err := python.LocalRunner(ctx, []string{interp.Path, "-m", "pip", "--version"}); err == nil {
		return &Pip{Base: []string{interp.Path, "-m", "pip"}}, nil
	}
	return nil, fmt.Errorf("no pip to run: install python3-pip-whl (Debian) or pip for %s, or set venv.pip_wheel", interp.Path)
}

func wheelVersion(p string) string {
	w, err := python.ParseWheelName(p)
	if err != nil {
		return ""
	}
	return w.Version
}

// compareVersions orders dotted numeric versions, enough for pip wheels.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			fmt.Sscan(as[i], &x)
		}
		if i < len(bs) {
			fmt.Sscan(bs[i], &y)
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

var envRef = lazy.Regexp(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expand fills ${VAR} references of a URL from the environment, returning the
// values used, which are secrets.
func expand(s string, getenv func(string) string) (string, []string, error) {
	var secrets []string
	var missing []string
	out := envRef().ReplaceAllStringFunc(s, func(ref string) string {
		name := envRef().FindStringSubmatch(ref)[1]
		v := getenv(name)
		if v == "" {
			missing = append(missing, name)
		}
		secrets = append(secrets, v)
		return v
	})
	if len(missing) > 0 {
		return "", nil, fmt.Errorf("%s refers to $%s, which is not set", config.MaskURL(s), strings.Join(missing, ", $"))
	}
	return out, secrets, nil
}

// Configure sets up pip's runs for a configuration.
func (p *Pip) Configure(v config.VenvConfig, dir string, scratch string, epoch int64, getenv func(string) string) error {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + filepath.Join(scratch, "home"),
		"TMPDIR=" + filepath.Join(scratch, "tmp"),
		"LC_ALL=C.UTF-8",
		"PYTHONHASHSEED=0",
		"PYTHONNOUSERSITE=1",
		"PYTHONDONTWRITEBYTECODE=1",
		fmt.Sprintf("SOURCE_DATE_EPOCH=%d", epoch),
		// pip reads no configuration file at all when this is os.devnull.
		"PIP_CONFIG_FILE=" + os.DevNull,
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
		"PIP_NO_INPUT=1",
		"PIP_NO_CACHE_DIR=1",
		"PIP_ROOT_USER_ACTION=ignore",
	}
	for _, d := range []string{"home", "tmp"} {
		if err := os.MkdirAll(filepath.Join(scratch, d), 0o755); err != nil {
			return err
		}
	}
	if v.IndexURL != "" {
		u, secrets, err := expand(v.IndexURL, getenv)
		if err != nil {
			return fmt.Errorf("venv.index_url: %w", err)
		}
		env = append(env, "PIP_INDEX_URL="+u)
		p.Secrets = append(p.Secrets, secrets...)
	}
	var extra []string
	for _, x := range v.ExtraIndexURLs {
		u, secrets, err := expand(x, getenv)
		if err != nil {
			return fmt.Errorf("venv.extra_index_urls: %w", err)
		}
		extra = append(extra, u)
		p.Secrets = append(p.Secrets, secrets...)
	}
	if len(extra) > 0 {
		env = append(env, "PIP_EXTRA_INDEX_URL="+strings.Join(extra, " "))
	}
	for k, val := range v.Env {
		env = append(env, k+"="+val)
	}
	slices.Sort(env[len(env)-len(v.Env):])
	p.Env = env
	if v.NoIndex {
		p.Index = append(p.Index, "--no-index")
	}
	for _, fl := range v.FindLinks {
		if !strings.Contains(fl, "://") && !filepath.IsAbs(fl) {
			fl = filepath.Join(dir, fl)
		}
		p.Index = append(p.Index, "--find-links", fl)
	}
	for _, h := range v.TrustedHosts {
		p.Index = append(p.Index, "--trusted-host", h)
	}
	return nil
}

// run runs pip through the builder; pip's output is shown when it fails.
func (p *Pip) run(ctx context.Context, b Builder, dir string, args ...string) error {
	return p.runWith(ctx, b, dir, nil, args...)
}

// runWith runs pip with further variables.
func (p *Pip) runWith(ctx context.Context, b Builder, dir string, env []string, args ...string) error {
	if p.prepare != nil {
		if err := p.prepare(ctx); err != nil {
			return err
		}
		p.prepare = nil
	}
	var out bytes.Buffer
	c := Command{Argv: append(slices.Clone(p.Base), args...), Env: append(slices.Clone(p.Env), env...), Dir: dir, Stdout: &out, Stderr: &out}
	if p.Verbose {
		c.Stdout, c.Stderr = p.Log, p.Log
	}
	if p.Progress != nil {
		// One writer for both, so that pip keeps one pipe for its output
		// (with two, pip --python's output of pip check was lost).
		w := io.MultiWriter(c.Stdout, &pipProgress{report: p.Progress})
		c.Stdout, c.Stderr = w, w
	}
	err := b.Run(ctx, c)
	if err != nil && !p.Verbose && p.Log != nil {
		io.WriteString(p.Log, tail(out.String(), 60))
	}
	if err != nil {
		// The whole argv is long and full of temporary paths; pip's output
		// above says what went wrong.
		var ce *CommandError
		if errors.As(err, &ce) {
			err = fmt.Errorf("pip %s: %w", args[0], ce.Err)
		}
		if hint := pipHint(out.String(), args); hint != "" {
			err = fmt.Errorf("%w\n%s", err, hint)
		}
	}
	return err
}

// pipProgress counts the distributions pip's output names as it collects,
// downloads or processes them, for the running phase's progress.
type pipProgress struct {
	report  func(format string, args ...any)
	partial []byte
	seen    int
}

func (p *pipProgress) Write(b []byte) (int, error) {
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimSpace(p.partial[:i])
		p.partial = p.partial[i+1:]
		for _, verb := range []string{"Collecting ", "Processing "} {
			if what, ok := bytes.CutPrefix(line, []byte(verb)); ok {
				p.seen++
				p.report("%d distribution(s) so far, %s %s", p.seen, strings.ToLower(strings.TrimSpace(verb)), ellipsis(string(what), 60))
			}
		}
	}
	if len(p.partial) > 64<<10 { // a line that long is no pip line to count
		p.partial = p.partial[:0]
	}
	return len(b), nil
}

func ellipsis(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// buildBackends are the PEP 517 backends and their helpers that build
// isolation installs from the index.
var buildBackends = []string{"setuptools", "wheel", "hatchling", "hatch-vcs", "flit_core", "flit-core", "poetry-core", "poetry_core", "pdm-backend", "pdm_backend", "setuptools_scm", "setuptools-scm", "maturin", "scikit-build-core", "meson-python", "cython"}

// pipHint says what to do about the failures offline and isolated builds
// run into, which pip's own message does not.
func pipHint(out string, args []string) string {
	isolated := !slices.Contains(args, "--no-build-isolation")
	if m := noDistRE().FindStringSubmatch(out); m != nil && isolated {
		name := strings.ToLower(m[1])
		for _, b := range buildBackends {
			if strings.HasPrefix(name, strings.ReplaceAll(b, "_", "-")) || strings.HasPrefix(name, b) {
				return fmt.Sprintf("pip could not get the build backend %s: build isolation installs it from the index, and with venv.no_index it must be a wheel in venv.find_links. Add its wheel there, or set venv.build_isolation: false to build with what the interpreter has (Debian: python3-setuptools and python3-wheel; the chroot builder: venv.chroot.install)", m[1])
			}
		}
	}
	if strings.Contains(out, "Python.h: No such file or directory") || compilerMissingRE().MatchString(out) {
		return "a distribution is compiled from its sdist, and the build system lacks a C compiler or the Python headers: add gcc and python3-dev (the chroot builder: venv.chroot.install; the container builder: the build image), or put a wheel of it in venv.find_links"
	}
	if !isolated && strings.Contains(out, "No module named 'setuptools'") {
		return "the interpreter has no setuptools, which venv.build_isolation: false builds with: install python3-setuptools and python3-wheel (the chroot builder: add them to venv.chroot.install), or turn build isolation on with the backend's wheel in venv.find_links"
	}
	return ""
}

var compilerMissingRE = lazy.Regexp(`error: command '[^']*(gcc|cc|g\+\+|clang)' failed: No such file or directory|(gcc|cc): (command )?not found|unable to execute '[^']*gcc'`)

var noDistRE = lazy.Regexp(`No matching distribution found for ([A-Za-z0-9_.\-]+)`)

// tail keeps the last n lines: the part of pip's output that says what failed.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[%d lines of pip output before these]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n") + "\n"
}

// Installer puts wheels into the venv: pip now, a native one later.
type Installer interface {
	Install(ctx context.Context, b Builder, wheels []WheelFile) error
}

// pipInstaller installs exactly the given wheels, by name and version from a
// directory that holds only them, so that pip neither resolves again nor records
// a direct_url.json with a path of this machine.
//
// pip checks no RECORD hash and writes through links, so every wheel is
// verified first and its every file placed as the native installer would: a
// wheel that would replace the venv's interpreter or another's file never
// reaches pip.
type pipInstaller struct {
	pip        *Pip
	venvPython string
	dir        string // scratch directory for the wheel links
	staging    string // the venv on this machine
	layout     layout
	limits     python.WheelLimits
}

// check verifies every wheel and plans where its files go.
func (i *pipInstaller) check(ctx context.Context, wheels []WheelFile) error {
	root, err := fsroot.Open(i.staging)
	if err != nil {
		return fmt.Errorf("open the venv: %w", err)
	}
	defer root.Close()
	owner := map[string]string{}
	for _, w := range wheels {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if err := i.checkOne(w, root, owner); err != nil {
			return fmt.Errorf("install %s: %w", w.File, err)
		}
	}
	return nil
}

func (i *pipInstaller) checkOne(w WheelFile, root *fsroot.Root, owner map[string]string) error {
	a, err := python.OpenWheel(w.Path, i.limits)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Verify(); err != nil {
		return err
	}
	_, err = i.layout.plan(a, owner, rootExists(root))
	return err
}

func (i *pipInstaller) Install(ctx context.Context, b Builder, wheels []WheelFile) error {
	if err := i.check(ctx, wheels); err != nil {
		return err
	}
	dir, reqs, err := i.linkWheels(wheels)
	if err != nil {
		return err
	}
	args := append([]string{"--python", i.venvPython, "install", "--no-index", "--no-deps", "--no-compile", "--no-warn-script-location", "--find-links", dir}, reqs...)
	if err := i.pip.run(ctx, b, "/", args...); err != nil {
		return fmt.Errorf("install %d wheel(s): %w", len(wheels), err)
	}
	return nil
}
