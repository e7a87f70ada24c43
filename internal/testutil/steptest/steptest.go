// Package steptest runs steps in tests as their binaries would; apart from
// testutil, which packages below cli use too.
package steptest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/pgp"
	"github.com/gopythongo/gopythongo/internal/store"
	"github.com/gopythongo/gopythongo/internal/storeask"
	"github.com/gopythongo/gopythongo/internal/testutil"
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

// AskStore is how the version step asks a store in tests: in this process,
// as gopythongo-publish answers it in its own.
func AskStore(s *cli.Session) storeask.Existing {
	return store.Env{Getenv: s.Getenv, Log: s.Log.Printf, Mask: s.Reporter.Mask}.Existing
}

// Binary builds the step binary steps/<name> of this module and returns its
// path, for tests that need the real binary in a process of its own: to
// signal it, or to read its memory. Build it once per test, not per subtest.
func Binary(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(Binaries(t, t.TempDir(), nil, name), name)
}

// Binaries builds step binaries of this module into one directory, as they
// are installed, with extra go build flags (-ldflags …), and returns it.
func Binaries(t testing.TB, dir string, flags []string, names ...string) string {
	t.Helper()
	args := append([]string{"build", "-o", dir + "/"}, flags...)
	for _, n := range names {
		args = append(args, "./steps/"+n)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = testutil.RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", names, err, b)
	}
	return dir
}

// NewSigner is the publish step's signer, as its binary gives it.
func NewSigner(armored, passphrase []byte) (store.Signer, error) {
	return store.Signers(pgp.NewSigner)(armored, passphrase)
}
