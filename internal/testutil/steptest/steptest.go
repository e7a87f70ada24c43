// Package steptest runs steps in tests as their binaries would; apart from
// testutil, which packages below cli use too.
package steptest

import (
	"bytes"
	"os"
	"testing"

	"github.com/gopythongo/gopythongo/internal/cli"
)

// Run runs a step as its binary would, in dir, with env as its whole
// environment, and returns the exit code, stdout and stderr.
func Run(t *testing.T, step cli.Step, dir string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	t.Chdir(dir)
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var o, e bytes.Buffer
	code := cli.Main(step, args, &o, &e, lookup, environ)
	return code, o.String(), e.String()
}

// ChildEnv makes a test binary run as a step: a test that needs the step in
// a process of its own (to signal it, or to read its memory) starts its own
// binary with ChildEnv=1, and TestMain calls RunChild first.
const ChildEnv = "GOPYTHONGO_TEST_RUN_STEP"

// RunChild runs the step and exits when the binary was started as one.
func RunChild(step cli.Step) {
	if os.Getenv(ChildEnv) != "" {
		os.Exit(cli.Main(step, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv, os.Environ()))
	}
}
