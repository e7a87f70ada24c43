package venv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/rootfs"
	"github.com/gopythongo/gopythongo/internal/state"
)

// chroot builds inside a Debian or Ubuntu root, the pbuilder role: the root
// is bootstrapped once and cached as a tarball (internal/rootfs), unpacked
// into the build's scratch directory, and every command runs chrooted into it
// in a private mount namespace, with the staging directory at the deploy path
// and the project, wheel cache and find-links at their own paths. Every mount
// disappears with the command's process, also when it fails or is killed.
type chroot struct {
	o      BuilderOptions
	root   string // where the root is mounted in the namespace
	layers layers // the cached tree, and this build's changes to it
	r      rootfs.Root
	interp *python.Interpreter
}

func newChroot(o BuilderOptions) (Builder, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("the chroot builder needs root (it unpacks a root file system and chroots into it); use venv.builder: host or container")
	}
	return &chroot{o: o, root: filepath.Join(o.Scratch, "root")}, nil
}

func (c *chroot) Name() string { return "chroot" }

// spec is the root the configuration asks for.
func (c *chroot) spec() rootfs.Spec {
	cc := c.o.Chroot
	return rootfs.Spec{Distribution: cc.Distribution, Architecture: cc.Architecture, Mirror: cc.Mirror, Variant: cc.Variant,
		Install: cc.Install, RunAfterCreate: cc.RunAfterCreate}
}

// prepare makes or takes the cached root and lays this build's layer over it, once.
func (c *chroot) prepare(ctx context.Context) error {
	if c.layers.Lower != "" {
		return nil
	}
	dir := c.o.Chroot.CacheDir
	if dir == "" {
		dir = filepath.Join(c.o.Cache, "roots")
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(c.o.Dir, dir)
	}
	var log bytes.Buffer
	cache := rootfs.Cache{Dir: dir, Run: runInRoot(filepath.Join(c.o.Scratch, "create")), Log: &log}
	r, err := cache.Ensure(ctx, c.spec(), c.o.Chroot.Update)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, tail(log.String(), 30))
	}
	c.r = r // from here on Close releases it
	if r.Created {
		c.o.Log("root         %s %s made with %s in %s, cached as %s", r.Spec.Distribution, r.Spec.Architecture, r.Tool, r.Duration.Round(1e8), filepath.Base(r.Tarball))
	}
	// The build's changes go to an upper layer over the cached tree: the
	// mount points of the binds, and resolv.conf, so that indexes resolve
	// as on this machine.
	l := layers{Lower: r.Tree, Upper: filepath.Join(c.o.Scratch, "upper"), Work: filepath.Join(c.o.Scratch, "work")}
	for _, t := range append([]string{c.o.DeployPath}, c.o.sharedPaths()...) {
		if err := mkdirLike(r.Tree, l.Upper, t); err != nil {
			return err
		}
	}
	if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		if err := mkdirLike(r.Tree, l.Upper, "/etc"); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(l.Upper, "etc/resolv.conf"), b, 0o644); err != nil {
			return err
		}
	}
	c.layers = l
	return nil
}

// runInRoot runs run_after_create commands chrooted into a root being made,
// with /proc and /dev, in a private mount namespace.
func runInRoot(scratch string) rootfs.Runner {
	return func(ctx context.Context, root string, argv []string, out io.Writer) error {
		return runInNamespace(ctx, out, out, mountSpec{Root: root, Argv: argv, Env: rootEnv(), Dir: "/", Scratch: scratch})
	}
}

// rootEnv is the environment of commands that are not the build's
// (run_after_create, probes).
func rootEnv() []string {
	return []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8", "DEBIAN_FRONTEND=noninteractive", "HOME=/root"}
}

// binds are the build's mounts inside the root: shared directories first,
// parents before children, then the staging directory at the deploy path.
func (c *chroot) binds() []bind {
	shared := slices.Clone(c.o.Shared)
	slices.SortStableFunc(shared, func(a, b Shared) int { return strings.Count(a.Path, "/") - strings.Count(b.Path, "/") })
	var out []bind
	for _, s := range shared {
		out = append(out, bind{Source: s.Path, Target: filepath.Join(c.root, s.Path), ReadOnly: s.ReadOnly})
	}
	return append(out, bind{Source: c.o.Staging, Target: filepath.Join(c.root, c.o.DeployPath)})
}

func (c *chroot) Interpreter(ctx context.Context) (python.Interpreter, error) {
	if c.interp != nil {
		return *c.interp, nil
	}
	if err := c.prepare(ctx); err != nil {
		return python.Interpreter{}, err
	}
	py := c.o.Python
	if py == "" {
		py = "/usr/bin/python3"
	}
	in, err := probeIn(ctx, c, append(rootEnv(), "PYTHONNOUSERSITE=1"), py)
	if err != nil {
		return python.Interpreter{}, fmt.Errorf("the interpreter %s in the %s root: %w (add python3 to venv.chroot.install)", py, c.r.Spec.Distribution, err)
	}
	c.interp = &in
	return in, nil
}

func (c *chroot) Run(ctx context.Context, cmd Command) error {
	if err := c.prepare(ctx); err != nil {
		return err
	}
	spec := mountSpec{Binds: c.binds(), Scratch: filepath.Join(c.o.Scratch, "mounts"), Argv: cmd.Argv, Env: cmd.Env, Dir: cmd.Dir, Root: c.root, RootLayers: &c.layers}
	if err := runInNamespace(ctx, cmd.Stdout, cmd.Stderr, spec); err != nil {
		return commandError(cmd.Argv, err)
	}
	return nil
}

// Close lets a later generation of the root remove the tree this build used.
func (c *chroot) Close() error {
	c.r.Release()
	return nil
}

// Target records the root in the state file.
func (c *chroot) Target() *state.Target {
	return &state.Target{Distribution: c.r.Spec.Distribution, Architecture: c.r.Spec.Architecture, Mirror: c.r.Spec.Mirror, Key: c.r.Key}
}

// mkdirLike makes the directory path in upper, each component with the mode
// and owner it has in lower (an upper /tmp of mode 0755 would hide lower's
// 1777), or 0755 and root where lower has none.
func mkdirLike(lower, upper, path string) error {
	if err := os.MkdirAll(upper, 0o755); err != nil {
		return err
	}
	cur := "/"
	for _, part := range strings.Split(strings.Trim(path, "/"), "/") {
		cur = filepath.Join(cur, part)
		dst := filepath.Join(upper, cur)
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		mode, uid, gid := fs.FileMode(0o755), 0, 0
		if fi, err := os.Lstat(filepath.Join(lower, cur)); err == nil {
			if !fi.IsDir() {
				// A symbolic link would resolve on this machine, not in the root.
				return fmt.Errorf("%s is not a directory in the root %s (a link or file), so nothing can be mounted there: move the project, cache or deploy path elsewhere", cur, lower)
			}
			mode = fi.Mode().Perm() | fi.Mode()&fs.ModeSticky
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				uid, gid = int(st.Uid), int(st.Gid)
			}
		}
		if err := os.Mkdir(dst, 0o700); err != nil {
			return err
		}
		if err := os.Chown(dst, uid, gid); err != nil {
			return err
		}
		if err := os.Chmod(dst, mode); err != nil {
			return err
		}
	}
	return nil
}
