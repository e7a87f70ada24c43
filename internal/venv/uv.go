package venv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gopythongo/gopythongo/internal/state"

	"github.com/gopythongo/gopythongo/internal/python"
)

// uvPath finds venv.uv on this machine.
func (b *build) uvPath() (string, error) {
	name := b.c.Venv.UV
	if strings.Contains(name, "/") {
		name = b.c.Path(name)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("venv.uv: %q is not found (resolver: uv and installer: uv run uv; install it, e.g. pip install uv, or name its path in venv.uv): %w", b.c.Venv.UV, err)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// usesUV says whether the build runs uv.
func (b *build) usesUV() bool {
	return b.c.Venv.Installer == "uv" || b.c.Venv.Resolver == "uv" && b.c.Venv.Lock == ""
}

// uvEnv is the environment of every uv run: the pip environment (nothing of
// the user's), no uv configuration file, the index settings as variables so
// that no credential is on a command line.
func (b *build) uvEnv() ([]string, error) {
	env := slices.DeleteFunc(slices.Clone(b.pip.Env), func(kv string) bool {
		return strings.HasPrefix(kv, "PIP_INDEX_URL=") || strings.HasPrefix(kv, "PIP_EXTRA_INDEX_URL=")
	})
	env = append(env, "UV_NO_CONFIG=1", "UV_CACHE_DIR="+b.scratch("uv-cache"), "UV_PYTHON_DOWNLOADS=never", "UV_NO_PROGRESS=1")
	c := b.c
	if c.Venv.IndexURL != "" {
		u, _, err := expand(c.Venv.IndexURL, b.o.Getenv)
		if err != nil {
			return nil, fmt.Errorf("venv.index_url: %w", err)
		}
		env = append(env, "UV_DEFAULT_INDEX="+u)
	}
	var extra []string
	for _, x := range c.Venv.ExtraIndexURLs {
		u, _, err := expand(x, b.o.Getenv)
		if err != nil {
			return nil, fmt.Errorf("venv.extra_index_urls: %w", err)
		}
		extra = append(extra, u)
	}
	if len(extra) > 0 {
		env = append(env, "UV_INDEX="+strings.Join(extra, " "))
	}
	return env, nil
}

// uvIndexArgs are pip's index arguments as uv spells them.
func uvIndexArgs(pipArgs []string) []string {
	var out []string
	for i := 0; i < len(pipArgs); i++ {
		switch pipArgs[i] {
		case "--trusted-host":
			out = append(out, "--allow-insecure-host", pipArgs[i+1])
			i++
		default:
			out = append(out, pipArgs[i])
		}
	}
	return out
}

// runUV runs uv through the builder; its output is shown when it fails.
func (b *build) runUV(ctx context.Context, args ...string) error {
	uv, err := b.uvPath()
	if err != nil {
		return err
	}
	env, err := b.uvEnv()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	cmd := Command{Argv: append([]string{uv}, args...), Env: env, Dir: "/", Stdout: &out, Stderr: &out}
	if b.o.Verbose {
		cmd.Stdout, cmd.Stderr = b.o.Output, b.o.Output
	}
	if err := b.builder.Run(ctx, cmd); err != nil {
		if !b.o.Verbose && b.o.Output != nil {
			io.WriteString(b.o.Output, tail(out.String(), 60))
		}
		return fmt.Errorf("uv %s: %w", args[0]+" "+args[1], err)
	}
	return nil
}

// uvCompile resolves the project's requirements with uv for the target
// interpreter into a requirements file pinned with hashes, which the build
// then installs as a lock.
func (b *build) uvCompile(ctx context.Context, project *WheelFile) (string, error) {
	c := b.c
	out := b.scratch("uv-requirements.txt")
	args := []string{"pip", "compile", "--quiet", "--generate-hashes", "--no-header", "--python", b.interp.Path, "-o", out}
	args = append(args, uvIndexArgs(b.pip.Index)...)
	if c.Venv.NoBuild {
		args = append(args, "--only-binary", ":all:")
	}
	if !c.Venv.BuildIsolation {
		args = append(args, "--no-build-isolation")
	}
	for _, f := range c.Venv.Constraints {
		args = append(args, "--constraint", c.Path(f))
	}
	for _, e := range c.Venv.Extras {
		args = append(args, "--extra", e)
	}
	var inputs []string
	if project != nil {
		src, _, err := b.source(ctx)
		if err != nil {
			return "", err
		}
		inputs = append(inputs, filepath.Join(src, "pyproject.toml"))
	}
	for _, f := range c.Venv.Requirements {
		inputs = append(inputs, c.Path(f))
	}
	if len(c.Venv.Packages) > 0 {
		in := b.scratch("uv-packages.in")
		if err := os.WriteFile(in, []byte(strings.Join(c.Venv.Packages, "\n")+"\n"), 0o644); err != nil {
			return "", err
		}
		inputs = append(inputs, in)
	}
	if len(inputs) == 0 {
		empty := b.scratch("uv-empty.in")
		if err := os.WriteFile(empty, nil, 0o644); err != nil {
			return "", err
		}
		inputs = append(inputs, empty)
	}
	if err := b.runUV(ctx, append(args, inputs...)...); err != nil {
		return "", fmt.Errorf("resolve with uv (venv.resolver: uv): %w", err)
	}
	return out, nil
}

// uvInstaller installs exactly the given wheels with uv pip install, by
// name and version from a directory that holds only them, offline; every
// wheel is checked and placed first as the native installer would.
type uvInstaller struct {
	b     *build
	check *pipInstaller
}

func (i *uvInstaller) Install(ctx context.Context, _ Builder, wheels []WheelFile) error {
	if err := i.check.check(ctx, wheels); err != nil {
		return err
	}
	dir, reqs, err := i.check.linkWheels(wheels)
	if err != nil {
		return err
	}

	args := append([]string{"pip", "install", "--quiet", "--python", i.b.venvPython(), "--no-deps", "--offline", "--no-index", "--link-mode", "copy", "--find-links", dir}, reqs...)
	if err := i.b.runUV(ctx, args...); err != nil {
		return fmt.Errorf("install %d wheel(s): %w", len(wheels), err)
	}
	// uv's lock of the environment, left behind (empty) in the venv.
	if fi, err := os.Lstat(filepath.Join(i.check.staging, ".lock")); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		if err := os.Remove(filepath.Join(i.check.staging, ".lock")); err != nil {
			return err
		}
	}
	return dropUVCacheInfo(filepath.Join(i.check.staging, filepath.FromSlash(i.check.layout.site())))
}

// dropUVCacheInfo removes the uv_cache.json uv writes into each dist-info for
// local wheels, with its RECORD line: it holds the time of the install (so
// the venv would differ on every build) and means nothing where the venv is
// deployed.
func dropUVCacheInfo(site string) error {
	infos, err := filepath.Glob(filepath.Join(site, "*.dist-info", "uv_cache.json"))
	if err != nil {
		return err
	}
	for _, p := range infos {
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a file uv wrote", p)
		}
		record := filepath.Join(filepath.Dir(p), "RECORD")
		fi, err := os.Lstat(record)
		if err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", record)
		}
		data, err := os.ReadFile(record)
		if err != nil {
			return err
		}
		entries, err := python.ParseRecord(data)
		if err != nil {
			return fmt.Errorf("%s: %w", record, err)
		}
		entries = slices.DeleteFunc(entries, func(e python.RecordEntry) bool { return path.Base(e.Path) == "uv_cache.json" })
		if err := os.Remove(p); err != nil {
			return err
		}
		if err := state.WriteFileAtomic(record, python.FormatRecord(entries), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// linkWheels puts links to the wheels into the scratch directory and returns
// it with the name==version of each.
func (i *pipInstaller) linkWheels(wheels []WheelFile) (string, []string, error) {
	if err := os.MkdirAll(i.dir, 0o755); err != nil {
		return "", nil, err
	}
	var reqs []string
	for _, w := range wheels {
		if err := os.Symlink(w.Path, filepath.Join(i.dir, w.File)); err != nil && !os.IsExist(err) {
			return "", nil, err
		}
		pw, err := python.ParseWheelName(w.File)
		if err != nil {
			return "", nil, err
		}
		reqs = append(reqs, python.Normalize(pw.Name)+"=="+pw.Version)
	}
	return i.dir, reqs, nil
}
