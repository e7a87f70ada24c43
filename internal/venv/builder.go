// Package venv builds a Python virtual environment at the path where it will be
// deployed, inside an isolated environment (a Builder), and installs wheels
// into it (an Installer). The result is a staging tree that mirrors the target
// file system: dist/root/opt/hello/bin/python.
package venv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"slices"
	"strings"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/state"
)

// Command is an argv to run in the target environment.
type Command struct {
	Argv []string
	Env  []string // the whole environment; nothing is inherited
	Dir  string
	// ReadOnly are directories of this machine the command may read but not
	// change (the checkout, for post_build). The isolated builders show the
	// shared directories read-only always; the host builder binds these
	// read-only onto themselves.
	ReadOnly       []string
	Stdout, Stderr io.Writer
}

// Builder is where the venv is built: this machine, a chroot or a container.
// Run executes a command in the target environment with the staging directory
// mounted at the deploy path.
type Builder interface {
	// Name is the builder's name in the configuration.
	Name() string
	Interpreter(ctx context.Context) (python.Interpreter, error)
	Run(ctx context.Context, c Command) error
}

// BuilderOptions is what every builder needs.
type BuilderOptions struct {
	Python     string // the interpreter, as configured
	Staging    string // the directory that appears at DeployPath
	DeployPath string
	Scratch    string // for the builder's own temporary files
	// Shared are directories of this machine that an isolated builder shows
	// at the same path inside: the project and the wheel cache read-only, the
	// build's scratch directory writable.
	Shared []Shared
	// Cache is the wheel cache directory; the chroot builder keeps its roots
	// below it unless venv.chroot.cache_dir says otherwise.
	Cache     string
	Chroot    config.ChrootConfig
	Container config.ContainerConfig
	// Dir is the project root, for relative paths of the configuration.
	Dir string
	Log func(format string, args ...any)
}

func (o BuilderOptions) sharedPaths() []string {
	var out []string
	for _, s := range o.Shared {
		out = append(out, s.Path)
	}
	return out
}

// Shared is a directory of this machine shown inside an isolated builder.
type Shared struct {
	Path     string
	ReadOnly bool
}

// probeIn asks the interpreter py what it is, through a builder's Run.
func probeIn(ctx context.Context, b Builder, env []string, py string) (python.Interpreter, error) {
	run := func(ctx context.Context, argv []string) ([]byte, error) {
		var out, errb bytes.Buffer
		if err := b.Run(ctx, Command{Argv: argv, Env: env, Dir: "/", Stdout: &out, Stderr: &errb}); err != nil {
			return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(errb.String()))
		}
		return out.Bytes(), nil
	}
	return python.Probe(ctx, run, py)
}

// isolatedBuilder builds in a system of its own (a root, an image), which
// it names for the state file; its interpreter does not run on this machine.
type isolatedBuilder interface {
	Builder
	Target() *state.Target
}

// builders is the one table of builder implementations, by the names
// venv.builder takes. The rules of their sections (venv.chroot,
// venv.container) are the configuration's own, so that the steps that build
// nothing do not link the builders to check them.
var builders = map[string]func(BuilderOptions) (Builder, error){
	"host":      newHost,
	"chroot":    newChroot,
	"container": newContainer,
}

// NewBuilder makes the named builder.
func NewBuilder(name string, o BuilderOptions) (Builder, error) {
	newBuilder, ok := builders[name]
	if !ok {
		return nil, fmt.Errorf("builder %q is not available in this GoPythonGo (available: %s)", name, strings.Join(slices.Sorted(maps.Keys(builders)), ", "))
	}
	return newBuilder(o)
}

// host builds with an interpreter of this machine, in a private mount
// namespace where the staging directory is bind-mounted at the deploy path.
type host struct {
	o      BuilderOptions
	interp *python.Interpreter
}

func newHost(o BuilderOptions) (Builder, error) { return &host{o: o}, nil }

func (h *host) Name() string { return "host" }

func (h *host) Interpreter(ctx context.Context) (python.Interpreter, error) {
	if h.interp != nil {
		return *h.interp, nil
	}
	in, err := python.Probe(ctx, nil, h.o.Python)
	if err != nil {
		return python.Interpreter{}, err
	}
	h.interp = &in
	return in, nil
}

func (h *host) Run(ctx context.Context, c Command) error {
	spec := mountSpec{
		Binds:   []bind{{Source: h.o.Staging, Target: h.o.DeployPath}},
		Scratch: h.o.Scratch,
		Argv:    c.Argv,
		Env:     c.Env,
		Dir:     c.Dir,
	}
	for _, d := range c.ReadOnly {
		spec.Binds = append(spec.Binds, bind{Source: d, Target: d, ReadOnly: true})
	}
	// On this machine, the project and caches are already where they are.
	if err := runInNamespace(ctx, c.Stdout, c.Stderr, spec); err != nil {
		return commandError(c.Argv, err)
	}
	return nil
}

// CommandError is a build command that failed.
type CommandError struct {
	Argv []string
	Err  error
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("%s: %v", python.CommandLine(e.Argv), e.Err)
}

func (e *CommandError) Unwrap() error { return e.Err }

func commandError(argv []string, err error) error {
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == helperFailed {
		return &CommandError{Argv: argv, Err: fmt.Errorf("the namespace helper could not set up the mounts or start the command (its message is above)")}
	}
	return &CommandError{Argv: argv, Err: err}
}

// plain runs commands on this machine as they are, for venvs that need no
// deploy path (the throwaway test venv). It is not a configurable builder.
type plain struct {
	python string
	interp *python.Interpreter
}

func (p *plain) Name() string { return "plain" }

func (p *plain) Interpreter(ctx context.Context) (python.Interpreter, error) {
	if p.interp == nil {
		in, err := python.Probe(ctx, nil, p.python)
		if err != nil {
			return python.Interpreter{}, err
		}
		p.interp = &in
	}
	return *p.interp, nil
}

func (p *plain) Run(ctx context.Context, c Command) error {
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = c.Env, c.Dir, c.Stdout, c.Stderr
	if err := cmd.Run(); err != nil {
		return &CommandError{Argv: c.Argv, Err: err}
	}
	return nil
}
