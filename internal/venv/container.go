package venv

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/state"
)

// container builds in a container of a build image, through a docker-compatible
// command line (docker or podman): one container per build, started with the
// staging directory at the deploy path and the project and caches mounted,
// commands run in it with exec, and the container removed when the build ends,
// also when it fails or is interrupted.
type container struct {
	o       BuilderOptions
	cli     string
	image   string
	name    string
	imageID string
	interp  *python.Interpreter
}

// label marks GoPythonGo's build containers, so that leftovers can be found.
const label = "io.gopythongo.build"

func newContainer(o BuilderOptions) (Builder, error) {
	cc := o.Container
	cli := cc.Command
	if cli == "" {
		for _, c := range []string{"docker", "podman"} {
			if _, err := exec.LookPath(c); err == nil {
				cli = c
				break
			}
		}
	}
	if cli == "" {
		return nil, fmt.Errorf("the container builder needs docker or podman on PATH (venv.container.command)")
	}
	if cc.Image == "" && cc.Dockerfile == "" {
		return nil, fmt.Errorf("the container builder needs a build image: venv.container.image, or venv.container.dockerfile to build one")
	}
	return &container{o: o, cli: cli, image: cc.Image}, nil
}

func (c *container) Name() string { return "container" }

// command runs the docker-compatible command line with the global arguments.
func (c *container) command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, c.cli, append(slices.Clone(c.o.Container.GlobalArgs), args...)...)
}

func (c *container) output(ctx context.Context, args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := c.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", c.cli, args[0], err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// start builds the image when a Dockerfile is configured, and starts the
// build's container, once.
func (c *container) start(ctx context.Context) error {
	if c.name != "" {
		return nil
	}
	cc := c.o.Container
	if cc.Dockerfile != "" {
		file, context := filepath.Join(c.o.Dir, cc.Dockerfile), filepath.Join(c.o.Dir, cc.Context)
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("venv.container.dockerfile: %w", err)
		}
		sum := sha256.Sum256(data)
		c.image = "localhost/gopythongo-build:" + hex.EncodeToString(sum[:])[:16]
		args := append([]string{"build", "--tag", c.image, "--file", file}, cc.BuildArgs...)
		if _, err := c.output(ctx, append(args, context)...); err != nil {
			return fmt.Errorf("build the build image from %s: %w", cc.Dockerfile, err)
		}
	}
	// The image's ID names it in the cache keys: a tag can move.
	id, err := c.output(ctx, "image", "inspect", "--format", "{{.Id}}", c.image)
	if err != nil {
		if _, perr := c.output(ctx, "pull", c.image); perr != nil {
			return fmt.Errorf("the build image %s is neither here nor can it be pulled: %w", c.image, perr)
		}
		if id, err = c.output(ctx, "image", "inspect", "--format", "{{.Id}}", c.image); err != nil {
			return err
		}
	}
	c.imageID = id
	rnd := make([]byte, 6)
	rand.Read(rnd)
	name := "gopythongo-build-" + hex.EncodeToString(rnd)
	args := []string{"run", "--detach", "--name", name, "--label", label + "=1", "--entrypoint", "sleep"}
	if cc.Network != "" {
		args = append(args, "--network", cc.Network)
	}
	args = append(args, cc.RunArgs...)
	for _, p := range append(c.o.sharedPaths(), c.o.Staging, c.o.DeployPath) {
		if strings.ContainsAny(p, ":,") {
			return fmt.Errorf("the path %s holds a ':' or ',', which a container volume cannot take: choose another directory", p)
		}
	}
	for _, s := range c.o.Shared {
		v := s.Path + ":" + s.Path
		if s.ReadOnly {
			v += ":ro"
		}
		args = append(args, "--volume", v)
	}
	// A year, not "infinity", which busybox's sleep does not know.
	args = append(args, "--volume", c.o.Staging+":"+c.o.DeployPath, c.image, "31536000")
	if _, err := c.output(ctx, args...); err != nil {
		// A container that was created but did not start is removed too.
		c.name = name
		c.Close()
		c.name = ""
		return fmt.Errorf("start a build container of %s: %w", c.image, err)
	}
	c.name = name
	return nil
}

func (c *container) Interpreter(ctx context.Context) (python.Interpreter, error) {
	if c.interp != nil {
		return *c.interp, nil
	}
	py := c.o.Python
	if py == "" {
		py = "python3"
	}
	in, err := probeIn(ctx, c, []string{"PATH=/usr/local/bin:/usr/bin:/bin", "PYTHONNOUSERSITE=1", "LC_ALL=C.UTF-8"}, py)
	if err != nil {
		return python.Interpreter{}, fmt.Errorf("the interpreter %s in the image %s: %w", py, c.image, err)
	}
	c.interp = &in
	return in, nil
}

// Run runs a command in the build's container. The environment goes in
// through a file, never on the command line, where other users could read
// credentials of an index URL.
func (c *container) Run(ctx context.Context, cmd Command) error {
	if err := c.start(ctx); err != nil {
		return err
	}
	envFile, err := os.CreateTemp(c.o.Scratch, "env-")
	if err != nil {
		if err := os.MkdirAll(c.o.Scratch, 0o700); err != nil {
			return err
		}
		if envFile, err = os.CreateTemp(c.o.Scratch, "env-"); err != nil {
			return err
		}
	}
	defer os.Remove(envFile.Name())
	for _, kv := range cmd.Env {
		if strings.ContainsAny(kv, "\n") {
			envFile.Close()
			return fmt.Errorf("the variable %s holds a line break, which an env file cannot carry", strings.SplitN(kv, "=", 2)[0])
		}
		fmt.Fprintln(envFile, kv)
	}
	envFile.Close()
	args := []string{"exec", "--env-file", envFile.Name()}
	if cmd.Dir != "" {
		args = append(args, "--workdir", cmd.Dir)
	}
	x := c.command(ctx, append(append(args, c.name), cmd.Argv...)...)
	x.Stdout, x.Stderr = cmd.Stdout, cmd.Stderr
	if err := x.Run(); err != nil {
		return &CommandError{Argv: cmd.Argv, Err: err}
	}
	return nil
}

// Close removes the build's container, with a context of its own: the
// build's may be cancelled already.
func (c *container) Close() error {
	if c.name == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// kill first: rm would give sleep, which ignores SIGTERM as PID 1, ten seconds.
	c.output(ctx, "kill", c.name)
	_, err := c.output(ctx, "rm", "--force", c.name)
	c.name = ""
	return err
}

// Target records the build image in the state file.
func (c *container) Target() *state.Target {
	return &state.Target{Image: c.image, Key: c.imageID}
}
