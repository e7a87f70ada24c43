package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// DebianPython is the interpreter the tests build with: Debian's, which has
// venv, setuptools, wheel and pytest (make test installs them).
const DebianPython = "/usr/bin/python3"

// RepoRoot is the root of this repository.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// CleanEnv is an environment for Python tools without the machine's PIP_*
// settings (these machines set PIP_FIND_LINKS) or user configuration.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PIP_") || strings.HasPrefix(kv, "PYTHON") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PIP_CONFIG_FILE="+os.DevNull, "PIP_DISABLE_PIP_VERSION_CHECK=1", "PYTHONDONTWRITEBYTECODE=1")
}

// BuildWheel builds the wheel of a project directory into out with Debian's
// python, offline, and returns its path.
func BuildWheel(t testing.TB, project, out string) string {
	t.Helper()
	cmd := exec.Command(DebianPython, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w", out, project)
	cmd.Env = append(CleanEnv(), "SOURCE_DATE_EPOCH=1700000000")
	// Build from a copy: setuptools writes build/ and .egg-info next to the source.
	tmp := filepath.Join(t.TempDir(), filepath.Base(project))
	if b, err := exec.Command("cp", "-a", project, tmp).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v\n%s", project, err, b)
	}
	cmd.Args[len(cmd.Args)-1] = tmp
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pip wheel %s (make test installs python3-pip, python3-setuptools, python3-wheel): %v\n%s", project, err, b)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.whl"))
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), strings.ReplaceAll(filepath.Base(project), "-", "_")) {
			return f
		}
	}
	t.Fatalf("no wheel of %s in %s", project, out)
	return ""
}

// HelloProject makes a git repository of examples/hello with hello-lib's wheel
// in wheels/ and the given configuration, committed and tagged v1.0.0.
func HelloProject(t testing.TB, config string) *GitRepo {
	t.Helper()
	r := NewGitRepo(t)
	if b, err := exec.Command("cp", "-a", filepath.Join(RepoRoot(), "examples", "hello")+"/.", r.Dir).CombinedOutput(); err != nil {
		t.Fatalf("copy examples/hello: %v\n%s", err, b)
	}
	HelloLibWheel(t, filepath.Join(r.Dir, "wheels"))
	r.WriteFile(".gitignore", "dist/\nwheels/\n")
	r.WriteFile(".gopythongo.yaml", config)
	r.Git("add", "-A")
	r.Commit("hello")
	r.Tag("v1.0.0")
	return r
}

// HelloLibWheel copies the wheel of examples/hello-lib into dir. It is built
// once into dist/fixtures of this repository (git ignores dist/) and rebuilt
// when the library's source changes.
func HelloLibWheel(t testing.TB, dir string) string {
	t.Helper()
	src := filepath.Join(RepoRoot(), "examples", "hello-lib")
	sum := sha256.New()
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(p, "egg-info") && !strings.Contains(p, "/build/") {
			b, _ := os.ReadFile(p)
			fmt.Fprintf(sum, "%s %d\n", p, len(b))
			sum.Write(b)
		}
		return nil
	})
	fixture := filepath.Join(RepoRoot(), "dist", "fixtures", "hello-lib-"+hex.EncodeToString(sum.Sum(nil))[:16])
	wheels, _ := filepath.Glob(filepath.Join(fixture, "*.whl"))
	if len(wheels) == 0 {
		tmp := t.TempDir()
		BuildWheel(t, src, tmp)
		if err := os.MkdirAll(filepath.Dir(fixture), 0o755); err != nil {
			t.Fatal(err)
		}
		// Another test process may have won the race; its wheel is as good.
		if err := os.Rename(tmp, fixture); err != nil {
			if _, serr := os.Stat(fixture); serr != nil {
				t.Fatal(err)
			}
		}
		wheels, _ = filepath.Glob(filepath.Join(fixture, "*.whl"))
	}
	if len(wheels) != 1 {
		t.Fatalf("want one wheel in %s, have %v", fixture, wheels)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(wheels[0]))
	if b, err := exec.Command("cp", wheels[0], dst).CombinedOutput(); err != nil {
		t.Fatalf("copy the wheel: %v\n%s", err, b)
	}
	return dst
}

// CProject makes a git repository of examples/hello-c, whose C extension
// links zlib, with the given configuration, committed and tagged v0.1.0.
func CProject(t testing.TB, config string) *GitRepo {
	t.Helper()
	return exampleRepo(t, "hello-c", config, "v0.1.0")
}

// exampleRepo makes a git repository of a project of examples/ with the
// given configuration, committed and tagged.
func exampleRepo(t testing.TB, name, config, tag string) *GitRepo {
	t.Helper()
	r := NewGitRepo(t)
	if b, err := exec.Command("cp", "-a", filepath.Join(RepoRoot(), "examples", name)+"/.", r.Dir).CombinedOutput(); err != nil {
		t.Fatalf("copy examples/%s: %v\n%s", name, err, b)
	}
	os.RemoveAll(filepath.Join(r.Dir, "build"))
	r.WriteFile(".gitignore", "dist/\nbuild/\n*.egg-info/\n")
	r.WriteFile(".gopythongo.yaml", config)
	r.Git("add", "-A")
	r.Commit(name)
	r.Tag(tag)
	return r
}

// LibProject makes a git repository of examples/hello-lib with the given
// configuration, committed and tagged v1.2.0.
func LibProject(t testing.TB, config string) *GitRepo {
	t.Helper()
	return exampleRepo(t, "hello-lib", config, "v1.2.0")
}
