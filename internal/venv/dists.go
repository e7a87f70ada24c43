package venv

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/gopythongo/gopythongo/internal/fileread"
	"github.com/gopythongo/gopythongo/internal/lazy"
	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/python/pyproject"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/version"
)

// DistDir is where the project's wheel and sdist go, inside dist.
const DistDir = "python"

// versionEnv are the variables SCM-based backends read a fixed version from:
// setuptools-scm (and hatch-vcs, which uses it) and pdm-backend.
var versionEnv = []string{"SETUPTOOLS_SCM_PRETEND_VERSION", "PDM_BUILD_SCM_VERSION"}

var (
	tableRE   = lazy.Regexp(`^\s*\[\s*([^\]\s]+)\s*\]\s*(#.*)?$`)
	versionRE = lazy.Regexp(`^(\s*version\s*=\s*)("[^"]*"|'[^']*')(\s*(#.*)?)$`)
)

// setVersion makes the build's copy of the source declare version v: it
// rewrites a static [project] version of pyproject.toml, and returns the
// variables that give it to SCM-based backends when the version is dynamic.
func setVersion(dir, v string) ([]string, error) {
	var env []string
	for _, k := range versionEnv {
		env = append(env, k+"="+v)
	}
	file := filepath.Join(dir, "pyproject.toml")
	data, err := fileread.Read(file, fileread.ProjectLimit)
	if errors.Is(err, os.ErrNotExist) {
		return env, nil // setup.py only: setuptools-scm may read the variables
	}
	if err != nil {
		return nil, err
	}
	var py struct {
		Project *struct {
			Version *string  `toml:"version"`
			Dynamic []string `toml:"dynamic"`
		} `toml:"project"`
	}
	if _, err := toml.Decode(string(data), &py); err != nil {
		return nil, fmt.Errorf("pyproject.toml: %w", err)
	}
	if py.Project == nil || py.Project.Version == nil {
		return env, nil
	}
	lines := strings.SplitAfter(string(data), "\n")
	table := ""
	for i, l := range lines {
		line := strings.TrimRight(l, "\r\n")
		if m := tableRE().FindStringSubmatch(line); m != nil {
			table = m[1]
			continue
		}
		if m := versionRE().FindStringSubmatch(line); m != nil && table == "project" {
			lines[i] = m[1] + `"` + v + `"` + m[3] + l[len(line):]
			return nil, os.WriteFile(file, []byte(strings.Join(lines, "")), 0o644)
		}
	}
	return nil, fmt.Errorf(`cannot set the version in pyproject.toml: write it as version = "X.Y.Z" on a line of its own in [project], or set venv.set_version: false`)
}

// checkVersion fails when the backend built another version than the one set.
func checkVersion(file, got, want string) error {
	g, err1 := version.ParsePEP440(got)
	w, err2 := version.ParsePEP440(want)
	if err1 == nil && err2 == nil && g.PEP440() == w.PEP440() || got == want {
		return nil
	}
	return fmt.Errorf("%s has version %s, but this build is %s: the build backend ignored the version set for it. "+
		"Declare the version statically in [project] of pyproject.toml, or dynamically through setuptools-scm, hatch-vcs or pdm-backend; "+
		"or build the version the source declares with venv.set_version: false", filepath.Base(file), got, want)
}

// buildSystem is the [build-system] table of pyproject.toml.
type buildSystem struct {
	Backend  string   `toml:"build-backend"`
	Requires []string `toml:"requires"`
}

// declaredBuildSystem reads the build system pyproject.toml declares; its
// Backend is "" when it declares none (pip then builds with setuptools'
// legacy backend or setup.py).
func declaredBuildSystem(src string) (buildSystem, error) {
	var py struct {
		BuildSystem buildSystem `toml:"build-system"`
	}
	err := pyproject.Decode(filepath.Join(src, "pyproject.toml"), &py)
	if errors.Is(err, os.ErrNotExist) {
		return buildSystem{}, nil
	}
	return py.BuildSystem, err
}

// hookScript calls the backend's PEP 517 hooks with the hook caller pip
// vendors, as pip does (setuptools' legacy backend when pyproject.toml names
// none): "declared" prints the declared build requirements, "requires"
// writes what the backend asks for besides them (get_requires_for_build_wheel,
// as JSON), "wheel" the wheel, "sdist" the sdist. The wheel is built without
// prepare_metadata_for_build_wheel first, as pypa/build builds it: pip calls
// it to resolve before it builds, which costs a process and a backend import
// (a quarter of a second with setuptools), and the wheel is the same, byte
// for byte (TestProjectWheelIsPipsForEachBackend). With an isolation directory, the hooks run with its sitecustomize
// and the environment's scripts first on PATH, as in pip's build
// environment.
const hookScript = `import json, os, sys
try:
    import tomllib
except ImportError:
    from pip._vendor import tomli as tomllib
from pip._vendor.pyproject_hooks import BuildBackendHookCaller
mode, src, out, isolation, scripts = sys.argv[1:6]
try:
    with open(os.path.join(src, "pyproject.toml"), "rb") as f:
        bs = tomllib.load(f).get("build-system", {})
except FileNotFoundError:
    bs = {}
if mode == "declared":
    print("\n".join(bs.get("requires", ["setuptools>=40.8.0"])))
    sys.exit()
if isolation:
    os.environ["PYTHONPATH"] = isolation
    os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
hooks = BuildBackendHookCaller(src, bs.get("build-backend", "setuptools.build_meta:__legacy__"), backend_path=bs.get("backend-path"))
if mode == "requires":
    with open(out, "w") as f:
        json.dump(hooks.get_requires_for_build_wheel(), f)
elif mode == "sdist":
    print(hooks.build_sdist(out))
else:
    print(hooks.build_wheel(out))
`

// isolationScript is the sitecustomize of an isolated build (pip's, in its
// build_env.py): it takes the interpreter's site-packages off the path and
// puts the build environment's on it, its .pth files processed.
const isolationScript = `import os, site, sys
original_sys_path = sys.path[:]
known_paths = set()
for path in site.getsitepackages():
    site.addsitedir(path, known_paths=known_paths)
system_paths = set(os.path.normcase(path) for path in sys.path[len(original_sys_path):])
sys.path = [path for path in original_sys_path if os.path.normcase(path) not in system_paths]
for path in %s:
    site.addsitedir(path)
`

// wheelByHooks builds the project's wheel from src into out through the
// backend's hooks: with the interpreter's own packages, or, with a build
// environment's site-packages, isolated from them.
func (b *build) wheelByHooks(ctx context.Context, src string, env []string, out string, be *buildEnv) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	h, err := b.hooks(be)
	if err != nil {
		return err
	}
	if be != nil {
		requires := out + "-requires.json"
		if err := h.run(ctx, env, "requires", src, requires, nil); err != nil {
			return err
		}
		if err := b.requiresMet(be, requires); err != nil {
			return err
		}
	}
	return h.run(ctx, env, "wheel", src, out, nil)
}

// hookRunner runs hookScript: isolated in a build environment, or with the
// interpreter's own packages (isolation "").
type hookRunner struct {
	b                  *build
	isolation, scripts string
}

// hooks is the hook runner for a build environment (nil: none), its
// sitecustomize written.
func (b *build) hooks(be *buildEnv) (*hookRunner, error) {
	h := &hookRunner{b: b}
	if be == nil {
		return h, nil
	}
	h.isolation, h.scripts = b.scratch("isolation"), be.scripts
	lib, _ := json.Marshal([]string{be.site})
	if err := os.MkdirAll(h.isolation, 0o755); err != nil {
		return nil, err
	}
	return h, os.WriteFile(filepath.Join(h.isolation, "sitecustomize.py"), []byte(fmt.Sprintf(isolationScript, lib)), 0o644)
}

// run runs one mode of hookScript; stdout, when set, gets what it prints,
// and path goes before pip's vendored packages on PYTHONPATH.
func (h *hookRunner) run(ctx context.Context, env []string, mode, src, out string, stdout io.Writer, path ...string) error {
	b := h.b
	var errb bytes.Buffer
	c := Command{Argv: []string{b.pip.Base[0], "-c", hookScript, mode, src, out, h.isolation, h.scripts}, Dir: src, Stdout: &errb, Stderr: &errb,
		Env: append(slices.Clone(b.pip.Env), append(env, "PYTHONPATH="+strings.Join(append(path, b.pipPath()...), ":"))...)}
	if stdout != nil {
		c.Stdout = stdout
	}
	if b.o.Verbose {
		c.Stdout, c.Stderr = b.o.Output, b.o.Output
	}
	if err := b.builder.Run(ctx, c); err != nil {
		if b.o.Output != nil && !b.o.Verbose {
			io.WriteString(b.o.Output, tail(errb.String(), 60))
		}
		args := []string{"--no-build-isolation"}
		if h.isolation != "" || len(path) > 0 {
			args = nil
		}
		if hint := pipHint(errb.String(), args); hint != "" {
			err = fmt.Errorf("%w\n%s", err, hint)
		}
		return err
	}
	return nil
}

// pipPath is what puts pip's vendored packages on the path: the unpacked
// wheel's directory, nothing for the interpreter's own pip.
func (b *build) pipPath() []string {
	if len(b.pip.Base) == 2 { // [python, <unpacked wheel>/pip]
		return []string{filepath.Dir(b.pip.Base[1])}
	}
	return nil
}

// sdist builds the project's sdist from the build's copy of the source. With
// build isolation, the declared build requirements are installed into a
// directory of their own first, from the configured indexes.
func (b *build) sdist(ctx context.Context, src string, env []string) (string, error) {
	out := b.scratch("sdist")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	// With build isolation, the wheel's build environment from the cache,
	// else the declared requirements installed by pip into a directory of
	// their own.
	bs, err := declaredBuildSystem(src)
	if err != nil {
		return "", err
	}
	var be *buildEnv
	var why giveUp
	if b.c.Venv.BuildIsolation {
		if be, err = b.buildEnv(ctx, bs.Requires); err != nil && !errors.As(err, &why) {
			return "", err
		}
	}
	h, err := b.hooks(be)
	if err != nil {
		return "", err
	}
	var path []string
	if b.c.Venv.BuildIsolation && be == nil {
		var reqs bytes.Buffer
		if err := h.run(ctx, env, "declared", src, out, &reqs); err != nil {
			return "", fmt.Errorf("read the build requirements: %w", err)
		}
		target := b.scratch("sdist-env")
		args := append([]string{"install", "--target", target, "--no-compile"}, b.pip.Index...)
		if err := b.pip.run(ctx, b.builder, src, append(args, strings.Fields(reqs.String())...)...); err != nil {
			return "", fmt.Errorf("install the build requirements of the sdist: %w", err)
		}
		path = []string{target}
	}
	if err := h.run(ctx, env, "sdist", src, out, io.Discard, path...); err != nil {
		return "", fmt.Errorf("build the sdist (PEP 517 build_sdist): %w", err)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.tar.gz"))
	if len(files) != 1 {
		return "", fmt.Errorf("the build backend made %d sdists, expected 1", len(files))
	}
	return files[0], nil
}

// normalizeSdist rewrites an sdist so that the same source gives the same
// bytes: entries in order, owned by root, every time stamp the epoch, and a
// gzip header without time or name. Entries that would leave the archive's
// directory are refused.
func normalizeSdist(src, dst string, epoch time.Time) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(src), err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(src), err)
		}
		if _, err := SafeJoin("/sdist", h.Name); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(src), err)
		}
		mode := int64(0o644)
		if h.Typeflag == tar.TypeDir || h.Mode&0o111 != 0 {
			mode = 0o755
		}
		out := &tar.Header{Typeflag: h.Typeflag, Name: h.Name, Linkname: h.Linkname, Size: h.Size, Mode: mode,
			ModTime: epoch, Format: tar.FormatPAX}
		if err := tw.WriteHeader(out); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return state.WriteFileAtomic(dst, buf.Bytes(), 0o644)
}

// writeDists puts the project's wheel and sdist into dist/python and returns
// them as artifacts.
func (b *build) writeDists(ctx context.Context, wheel WheelFile) ([]state.Artifact, error) {
	dir := filepath.Join(b.c.DistDir(), DistDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	src, env, err := b.source(ctx)
	if err != nil {
		return nil, err
	}
	sd, err := b.sdist(ctx, src, env)
	if err != nil {
		return nil, err
	}
	meta, err := python.SdistMetadata(sd)
	if err != nil {
		return nil, err
	}
	if v := b.setVersion(); v != "" {
		if err := checkVersion(sd, meta.Version, v); err != nil {
			return nil, err
		}
	}
	var arts []state.Artifact
	for _, f := range []struct {
		format state.Format
		from   string
	}{{state.FormatWheel, wheel.Path}, {state.FormatSdist, sd}} {
		dst := filepath.Join(dir, filepath.Base(f.from))
		var err error
		if f.format == state.FormatSdist {
			err = normalizeSdist(f.from, dst, b.o.Epoch)
		} else {
			err = copyFileAtomic(f.from, dst)
		}
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", dst, err)
		}
		sum, err := sha256File(dst)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(dst)
		if err != nil {
			return nil, err
		}
		arts = append(arts, state.Artifact{Path: DistDir + "/" + filepath.Base(dst), Format: f.format, SHA256: sum, Size: fi.Size(), Arch: "all"})
	}
	return arts, nil
}

func copyFileAtomic(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return state.WriteFileAtomic(dst, data, 0o644)
}
