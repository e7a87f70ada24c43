// Package storeask asks a store what it holds from a step that does not link
// the store implementations. gopythongo-version needs that for
// version.revision_from only, and linking the registry client for it cost
// every version run a third of its time (package initialisers, a larger
// binary). So the version step runs gopythongo-publish, which links them,
// for the one question: the request on its stdin, the answer on its file
// descriptor 3, its own output on the step's (masks, retries, errors).
package storeask

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/storetype"
)

// Existing asks the store sc, of the project in dir, what it holds of pkg.
type Existing func(ctx context.Context, sc config.StoreConfig, dir, pkg string) ([]storetype.Release, error)

// Helper is the step that answers, and Flag its flag that does.
const (
	Helper = "gopythongo-publish"
	Flag   = "ask-store"
)

// protocol changes when the request or answer does.
const protocol = 1

// maxAnswer bounds the answer: a release is about 300 bytes.
const maxAnswer = 64 << 20

type request struct {
	Protocol int
	// Build is the asking binary's build (version, commit, Go): the helper
	// refuses another, whose stores might read or answer otherwise.
	Build   string
	Store   config.StoreConfig
	Dir     string // the project root, which the store's paths are relative to
	Package string
}

type answer struct {
	Releases []storetype.Release
	Error    string
}

// Process is Existing answered by Helper in a process of its own: the one
// beside the running binary, else the one on PATH. build is the asking
// binary's build, which the helper's must equal.
func Process(build string, stdout, stderr io.Writer) Existing {
	return func(ctx context.Context, sc config.StoreConfig, dir, pkg string) ([]storetype.Release, error) {
		bin, err := helperPath()
		if err != nil {
			return nil, err
		}
		req, err := json.Marshal(request{Protocol: protocol, Build: build, Store: sc, Dir: dir, Package: pkg})
		if err != nil {
			return nil, err
		}
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, bin, "--"+Flag)
		cmd.Dir = dir
		cmd.Stdin = bytes.NewReader(req)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		cmd.ExtraFiles = []*os.File{w}
		// Whatever the helper left behind holding its output open, the
		// question ends soon after the helper does.
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Start(); err != nil {
			r.Close()
			w.Close()
			return nil, fmt.Errorf("ask store %s through %s: %w", sc.Name, bin, err)
		}
		w.Close() // the helper holds the only writer: its exit ends the answer
		body, rerr := io.ReadAll(io.LimitReader(r, maxAnswer+1))
		r.Close() // a writer of more than the bound gets EPIPE
		if rerr != nil || len(body) > maxAnswer {
			cmd.Process.Kill()
		}
		werr := cmd.Wait()
		var a answer
		switch {
		case rerr != nil:
			return nil, fmt.Errorf("ask store %s through %s: read the answer: %w", sc.Name, bin, rerr)
		case len(body) > maxAnswer:
			return nil, fmt.Errorf("ask store %s through %s: the answer is over %d MiB", sc.Name, bin, maxAnswer>>20)
		case len(body) == 0 && werr != nil:
			return nil, fmt.Errorf("ask store %s through %s: %w (its messages are above)", sc.Name, bin, werr)
		case json.Unmarshal(body, &a) != nil:
			return nil, fmt.Errorf("ask store %s through %s: not an answer of this GoPythonGo (%q…): install the step binaries of one release together", sc.Name, bin, head(body))
		case a.Error != "":
			return nil, errors.New(a.Error)
		case werr != nil:
			return nil, fmt.Errorf("ask store %s through %s: %w", sc.Name, bin, werr)
		}
		return a.Releases, nil
	}
}

// helperPath finds Helper beside the running binary (the steps are
// installed together), else on PATH.
func helperPath() (string, error) {
	self, err := os.Executable()
	if err == nil {
		p := filepath.Join(filepath.Dir(self), Helper)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	p, err := exec.LookPath(Helper)
	if err != nil {
		return "", fmt.Errorf("version.revision_from asks the store through %s, which is neither beside this binary nor on PATH: install the five step binaries together", Helper)
	}
	return p, nil
}

// Serve answers one request read from in on out, with existing asking the
// store; build is this binary's build, which the asker's must equal. An
// error of the store is an answer; Serve fails only when it cannot answer.
func Serve(ctx context.Context, in io.Reader, out io.Writer, build string, existing Existing) error {
	var req request
	dec := json.NewDecoder(io.LimitReader(in, 1<<20))
	dec.DisallowUnknownFields()
	var a answer
	switch err := dec.Decode(&req); {
	case err != nil:
		a.Error = fmt.Sprintf("--%s reads a request of gopythongo-version on its stdin: %v", Flag, err)
	case req.Protocol != protocol || req.Build != build:
		a.Error = fmt.Sprintf("%s is another build (%s) than the gopythongo-version that asks (%s): install the step binaries of one release together", Helper, build, req.Build)
	default:
		rels, err := existing(ctx, req.Store, req.Dir, req.Package)
		if err != nil {
			a.Error = err.Error()
		}
		a.Releases = rels
	}
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}

func head(b []byte) string { return string(b[:min(len(b), 60)]) }
