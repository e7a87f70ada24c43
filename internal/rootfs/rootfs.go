// Package rootfs makes the Debian or Ubuntu roots the chroot builder builds
// in: bootstrapped once with mmdebstrap (debootstrap where mmdebstrap is
// missing), run_after_create commands run inside, and cached as a tarball
// keyed by every input, so that later builds only unpack it.
package rootfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gopythongo/gopythongo/internal/flock"
	"github.com/gopythongo/gopythongo/internal/state"
)

// Spec is what a root is made of.
type Spec struct {
	Distribution   string     `json:"distribution"`
	Architecture   string     `json:"architecture"`
	Mirror         string     `json:"mirror"`
	Variant        string     `json:"variant"`
	Install        []string   `json:"install"`
	RunAfterCreate [][]string `json:"run_after_create,omitempty"`
}

// Root is a cached root.
type Root struct {
	Spec    Spec   `json:"spec"`
	Key     string `json:"key"`
	Tarball string `json:"-"`
	// Tree is the tarball unpacked, once per machine: builds never write it,
	// they mount an overlay of it.
	Tree string `json:"-"`
	Tool string `json:"tool"` // mmdebstrap or debootstrap
	// Generation tells a root made again (update) from the one before.
	Generation int64 `json:"generation"`
	// Created says whether this call bootstrapped it, and how long that took.
	Created  bool          `json:"-"`
	Duration time.Duration `json:"duration"`
	// inUse is a shared lock on the tree, held until Release: a later
	// generation does not remove a tree that a build still runs on.
	inUse *flock.Lock
}

// DebianArch is this machine's Debian architecture.
func DebianArch() string {
	switch runtime.GOARCH {
	case "386":
		return "i386"
	case "arm":
		return "armhf"
	}
	return runtime.GOARCH // amd64, arm64, ppc64le, s390x, riscv64
}

// Key is the hash of every input of the root: the cache's name for it.
func (s Spec) Key() string {
	n := s
	n.Install = slices.Clone(s.Install)
	slices.Sort(n.Install)
	n.Install = slices.Compact(n.Install)
	b, _ := json.Marshal(n)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:20]
}

// Runner runs a command inside an unpacked root (the chroot builder's
// namespace helper), for run_after_create.
type Runner func(ctx context.Context, root string, argv []string, out io.Writer) error

// Bootstrapper makes the tree of a root and names the tool it used.
type Bootstrapper func(ctx context.Context, s Spec, tree string, log io.Writer) (tool string, err error)

// Cache keeps roots in a directory: a tarball and its description per root,
// and the tarball unpacked once per machine.
type Cache struct {
	Dir string
	// Run runs the run_after_create commands.
	Run Runner
	// Bootstrap makes a tree; nil means mmdebstrap, or debootstrap.
	Bootstrap Bootstrapper
	Log       io.Writer
}

// Ensure returns the cached root of spec, making it first when it is missing
// or update is set. A root is written under a temporary name and renamed
// when complete, so an interrupted bootstrap leaves nothing behind that a
// later build could take.
func (c Cache) Ensure(ctx context.Context, spec Spec, update bool) (Root, error) {
	dir, log := c.Dir, c.Log
	if log == nil {
		log = io.Discard
	}
	bootstrap := c.Bootstrap
	if bootstrap == nil {
		bootstrap = Debootstrap
	}
	if spec.Architecture == "" {
		spec.Architecture = DebianArch()
	}
	r := Root{Spec: spec, Key: spec.Key()}
	r.Tarball = filepath.Join(dir, fmt.Sprintf("%s-%s-%s.tar", spec.Distribution, spec.Architecture, r.Key))
	meta := strings.TrimSuffix(r.Tarball, ".tar") + ".json"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return r, err
	}
	// One maker per root at a time: concurrent builds (parallel CI jobs on
	// one machine) wait for the first to make it, then take it.
	making, err := flock.Exclusive(ctx, strings.TrimSuffix(r.Tarball, ".tar")+".lock")
	if err != nil {
		return r, err
	}
	defer making.Unlock()
	if !update {
		if b, err := os.ReadFile(meta); err == nil {
			if _, err := os.Stat(r.Tarball); err == nil && json.Unmarshal(b, &r) == nil {
				return r, r.place(ctx, "")
			}
		}
	}
	tmp, err := os.MkdirTemp(dir, ".make-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	tree := filepath.Join(tmp, "root")
	if r.Tool, err = bootstrap(ctx, spec, tree, log); err != nil {
		return r, err
	}
	for _, argv := range spec.RunAfterCreate {
		if c.Run == nil {
			return r, errors.New("run_after_create needs a runner")
		}
		if err := c.Run(ctx, tree, argv, log); err != nil {
			return r, fmt.Errorf("venv.chroot.run_after_create %s: %w", strings.Join(argv, " "), err)
		}
	}
	out := filepath.Join(tmp, "root.tar")
	cmd := exec.CommandContext(ctx, "tar", "-C", tree, "--numeric-owner", "--xattrs", "--sort=name", "-cf", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		return r, fmt.Errorf("pack the root: %v\n%s", err, b)
	}
	if err := os.Rename(out, r.Tarball); err != nil {
		return r, err
	}
	r.Created, r.Duration, r.Generation = true, time.Since(start), time.Now().UnixNano()
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := state.WriteFileAtomic(meta, append(b, '\n'), 0o644); err != nil {
		return r, err
	}
	return r, r.place(ctx, tree)
}

// place sets r.Tree and takes it into use: made is the tree just packed, if
// any, else the tarball is unpacked on its first use on this machine. Trees
// of earlier generations that no build uses are removed.
func (r *Root) place(ctx context.Context, made string) error {
	base := strings.TrimSuffix(r.Tarball, ".tar")
	r.Tree = fmt.Sprintf("%s.%d.root", base, r.Generation)
	if _, err := os.Stat(r.Tree); err != nil {
		if made == "" {
			tmp, err := os.MkdirTemp(filepath.Dir(r.Tarball), ".unpack-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			made = filepath.Join(tmp, "root")
			if err := Unpack(ctx, r.Tarball, made); err != nil {
				return err
			}
		}
		// No other build unpacks it meanwhile: Ensure holds the maker's lock.
		if err := os.Rename(made, r.Tree); err != nil {
			return err
		}
	}
	inUse, err := flock.Shared(ctx, r.Tree+".lock")
	if err != nil {
		return err
	}
	r.inUse = inUse
	// Earlier generations go when no build uses them any more.
	old, _ := filepath.Glob(base + ".*.root")
	for _, o := range old {
		if o == r.Tree {
			continue
		}
		if l, free := flock.TryExclusive(o + ".lock"); free {
			os.RemoveAll(o)
			os.Remove(o + ".lock")
			l.Unlock()
		}
	}
	return nil
}

// Release lets a later generation remove the tree.
func (r *Root) Release() {
	r.inUse.Unlock()
	r.inUse = nil
}

// Debootstrap makes the root directory with mmdebstrap, or debootstrap.
func Debootstrap(ctx context.Context, s Spec, tree string, log io.Writer) (string, error) {
	if os.Geteuid() != 0 {
		return "", errors.New("making a root for the chroot builder needs root")
	}
	include := strings.Join(s.Install, ",")
	var cmd *exec.Cmd
	tool := "mmdebstrap"
	if _, err := exec.LookPath("mmdebstrap"); err == nil {
		args := []string{"--variant=" + s.Variant, "--architectures=" + s.Architecture, "--mode=root", "--quiet"}
		if include != "" {
			args = append(args, "--include="+include)
		}
		cmd = exec.CommandContext(ctx, "mmdebstrap", append(args, s.Distribution, tree, s.Mirror)...)
	} else if _, err := exec.LookPath("debootstrap"); err == nil {
		tool = "debootstrap"
		args := []string{"--variant=" + variant(s.Variant), "--arch=" + s.Architecture}
		if include != "" {
			args = append(args, "--include="+include)
		}
		cmd = exec.CommandContext(ctx, "debootstrap", append(args, s.Distribution, tree, s.Mirror)...)
	} else {
		return "", errors.New("the chroot builder needs mmdebstrap or debootstrap: apt-get install mmdebstrap")
	}
	// mmdebstrap and debootstrap mount /proc and /dev in the tree: in a
	// mount namespace of their own those mounts cannot outlive them, and in
	// a process group of their own an interrupt stops apt and dpkg too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return tool, fmt.Errorf("%s %s from %s: %w (is the mirror reachable, and the suite and packages right?)", tool, s.Distribution, s.Mirror, err)
	}
	return tool, nil
}

// variant maps mmdebstrap's variant names to debootstrap's.
func variant(v string) string {
	switch v {
	case "required", "important", "standard":
		return "buildd"
	}
	return v
}

// Unpack extracts a root tarball into dir, which must be empty or missing.
func Unpack(ctx context.Context, tarball, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "tar", "-C", dir, "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xf", tarball)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("unpack the root %s: %v\n%s", tarball, err, b)
	}
	return nil
}
