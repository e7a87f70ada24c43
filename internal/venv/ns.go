package venv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// NSExecArg is the first argument with which a step binary starts itself again
// as the helper that sets up the mounts inside a new mount namespace and then
// runs the build command there. Mains (and TestMains) hand it to NSExecMain.
const NSExecArg = "__gopythongo-nsexec"

// IsNSExec reports whether the process was started as the namespace helper.
func IsNSExec(args []string) bool { return len(args) > 1 && args[1] == NSExecArg }

// mountSpec is what the helper reads from file descriptor 3.
type mountSpec struct {
	// Binds maps a directory on this machine to a path inside the namespace.
	Binds []bind `json:"binds"`
	// Scratch holds the overlay's upper and work directories, for mount points
	// that do not exist on this machine.
	Scratch string   `json:"scratch"`
	Argv    []string `json:"argv"`
	Env     []string `json:"env"`
	Dir     string   `json:"dir"`
	// Root, when set, is a root file system to chroot into after the binds
	// (whose targets are then inside it), with /proc and /dev of its own.
	Root string `json:"root,omitempty"`
	// RootLayers, when set, makes Root an overlay: a read-only lower tree
	// shared by builds, and an upper tree of this build's changes.
	RootLayers *layers `json:"root_layers,omitempty"`
}

type layers struct {
	Lower, Upper, Work string
}

// mount puts the overlay of l at target.
func (l layers) mount(target string) error {
	for _, p := range []string{l.Lower, l.Upper, l.Work} {
		// The option string cannot carry these without escapes.
		if strings.ContainsAny(p, ",:\\") {
			return fmt.Errorf("the path %s holds a ',', ':' or '\\', which an overlay cannot take: choose another cache or dist directory", p)
		}
	}
	for _, d := range []string{l.Upper, l.Work, target} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	opts := "lowerdir=" + l.Lower + ",upperdir=" + l.Upper + ",workdir=" + l.Work
	if err := syscall.Mount("overlay", target, "overlay", 0, opts); err != nil {
		return fmt.Errorf("overlay %s at %s: %v", l.Lower, target, err)
	}
	return nil
}

type bind struct {
	Source, Target string
	ReadOnly       bool
}

// ErrNoNamespace means this machine lets us make no private mount namespace.
var ErrNoNamespace = errors.New("cannot create a private mount namespace")

// runInNamespace starts this binary again as the namespace helper in a new
// mount namespace (and a user namespace when not root), which mounts and then
// runs spec.Argv. Every mount disappears with the process.
func runInNamespace(ctx context.Context, stdout, stderr io.Writer, spec mountSpec) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program to start it in a namespace: %w", err)
	}
	cmd := exec.CommandContext(ctx, self, NSExecArg)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	data, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.ExtraFiles = []*os.File{r}
	// A process group of its own: an interrupted build kills the command and
	// everything it started (compilers, build backends), and with the last
	// of them the namespace and its mounts are gone.
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS, Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	if os.Geteuid() != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		w.Close()
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EUSERS) {
			return fmt.Errorf("%w (%v): the host builder needs root or unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0); or use venv.builder: chroot or container", ErrNoNamespace, err)
		}
		return err
	}
	_, werr := w.Write(data)
	w.Close()
	err = cmd.Wait()
	if err == nil && werr != nil {
		err = werr
	}
	return err
}

// helperFailed is the exit code of a helper that could not set up the mounts;
// its message is on stderr.
const helperFailed = 125

// NSExecMain is the helper's main: mount, then become the build command.
func NSExecMain() int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "gopythongo namespace helper: "+format+"\n", args...)
		return helperFailed
	}
	spec := os.NewFile(3, "spec")
	data, err := io.ReadAll(spec)
	spec.Close()
	if err != nil {
		return fail("read the mount spec: %v", err)
	}
	var s mountSpec
	if err := json.Unmarshal(data, &s); err != nil {
		return fail("bad mount spec: %v", err)
	}
	// Nothing mounted here may propagate back to the machine.
	if err := syscall.Mount("none", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fail("make mounts private: %v", err)
	}
	if s.RootLayers != nil {
		if err := s.RootLayers.mount(s.Root); err != nil {
			return fail("%v", err)
		}
	}
	for i, b := range s.Binds {
		if err := mountPoint(b.Target, filepath.Join(s.Scratch, fmt.Sprint(i))); err != nil {
			return fail("%v", err)
		}
		if err := syscall.Mount(b.Source, b.Target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return fail("bind %s at %s: %v", b.Source, b.Target, err)
		}
		if b.ReadOnly {
			if err := syscall.Mount("", b.Target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY|syscall.MS_REC, ""); err != nil {
				return fail("make %s read-only: %v", b.Target, err)
			}
		}
	}
	if s.Root != "" {
		if err := enterRoot(s.Root); err != nil {
			return fail("%v", err)
		}
	}
	syscall.Umask(0o022)
	if s.Dir != "" {
		if err := os.Chdir(s.Dir); err != nil {
			return fail("%v", err)
		}
	}
	path, err := lookPath(s.Argv[0], s.Env)
	if err != nil {
		return fail("%v", err)
	}
	err = syscall.Exec(path, s.Argv, s.Env)
	return fail("run %s: %v", s.Argv[0], err)
}

// mountPoint makes sure target exists as a directory inside the namespace. A
// path that does not exist on the machine is made on an overlay of its nearest
// existing parent, whose changes go to scratch: the machine's own file system
// is never written.
func mountPoint(target, scratch string) error {
	if fi, err := os.Stat(target); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", target)
		}
		return nil
	}
	parent := filepath.Dir(target)
	for {
		if _, err := os.Stat(parent); err == nil {
			break
		}
		parent = filepath.Dir(parent)
	}
	if parent == "/" {
		return fmt.Errorf("%s: its parent directories do not exist, and / cannot be overlaid; create %s on the build machine, or choose a deploy path below an existing directory such as /opt", target, filepath.Dir(target))
	}
	l := layers{Lower: parent, Upper: filepath.Join(scratch, "upper"), Work: filepath.Join(scratch, "work")}
	if err := l.mount(parent); err != nil {
		return fmt.Errorf("%w, to make the mount point %s (create %s on the build machine, or use venv.builder: chroot or container)", err, target, target)
	}
	return os.MkdirAll(target, 0o755)
}

// lookPath finds a command on the PATH of env, as exec does for the parent's.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH %s", name, path)
}

// enterRoot gives a root file system /proc and the machine's /dev, then makes
// it the process's root.
func enterRoot(root string) error {
	for _, d := range []string{"proc", "dev"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	if err := syscall.Mount("proc", filepath.Join(root, "proc"), "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc in %s: %v", root, err)
	}
	if err := syscall.Mount("/dev", filepath.Join(root, "dev"), "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("bind /dev into %s: %v", root, err)
	}
	if err := syscall.Chroot(root); err != nil {
		return fmt.Errorf("chroot %s: %v", root, err)
	}
	return os.Chdir("/")
}
