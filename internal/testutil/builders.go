package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/rootfs"
)

// TestRoot is the root every isolated-builder test builds in: Debian 12 with
// the interpreter, setuptools (build_isolation: false) and a C tool chain with
// zlib for examples/hello-c and libpq for psycopg2 of the corpus. It is
// bootstrapped once into dist/fixtures/roots.
var TestRoot = []string{"python3", "python3-venv", "python3-setuptools", "python3-wheel", "python3-dev", "gcc", "libc6-dev", "zlib1g-dev", "libpq-dev"}

// RootsDir is where the chroot builder's tests cache their roots.
func RootsDir() string { return filepath.Join(FixtureDir(), "roots") }

// PodmanArgs are podman's global arguments on these machines: storage kept
// with the fixtures, and runc (see ../shared/reference/registry.md).
func PodmanArgs() []string {
	dir := filepath.Join(FixtureDir(), "podman")
	return []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "overlay", "--runtime", "runc"}
}

// PodmanRunArgs are the limits a container can have on these machines.
var PodmanRunArgs = []string{"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"}

// BuilderEnv configures a builder (host, chroot, container) for the tests,
// as GOPYTHONGO_ variables: the chroot builder with TestRoot, the container
// builder with podman, TestRoot as its image and no network.
func BuilderEnv(t testing.TB, builder string) []string {
	t.Helper()
	switch builder {
	case "chroot":
		return []string{"GOPYTHONGO_VENV_BUILDER=chroot", "GOPYTHONGO_VENV_CHROOT_CACHE_DIR=" + RootsDir(),
			"GOPYTHONGO_VENV_CHROOT_INSTALL=" + strings.Join(TestRoot, ",")}
	case "container":
		return []string{"GOPYTHONGO_VENV_BUILDER=container", "GOPYTHONGO_VENV_CONTAINER_COMMAND=podman",
			"GOPYTHONGO_VENV_CONTAINER_IMAGE=" + TestImage(t),
			"GOPYTHONGO_VENV_CONTAINER_GLOBAL_ARGS=[" + strings.Join(PodmanArgs(), ", ") + "]",
			"GOPYTHONGO_VENV_CONTAINER_NETWORK=none", "GOPYTHONGO_VENV_CONTAINER_RUN_ARGS=[" + strings.Join(PodmanRunArgs, ", ") + "]"}
	}
	return nil
}

// TestImage is the build image of the container builder's tests: TestRoot
// imported into podman, once per test binary.
func TestImage(t testing.TB) string {
	t.Helper()
	tag, err := importTestRoot()
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

var importTestRoot = sync.OnceValues(func() (string, error) {
	return importRoot("gopythongo-test-root", TestRoot)
})

// RunnerRoot is the root of the runner image act's jobs run in: what
// GitHub's ubuntu images hold that the example workflow uses, and
// setuptools for examples/hello's build_isolation: false.
var RunnerRoot = []string{"bash", "ca-certificates", "curl", "git", "jq", "python3", "python3-venv", "python3-pytest", "python3-setuptools", "python3-wheel"}

// RunnerImage is RunnerRoot imported into podman, once per test binary.
func RunnerImage(t testing.TB) string {
	t.Helper()
	tag, err := importRunnerRoot()
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

var importRunnerRoot = sync.OnceValues(func() (string, error) {
	return importRoot("gopythongo-act-runner", RunnerRoot)
})

// importRoot bootstraps (or takes from the cache) a Debian root with the
// default distribution and the packages of install, and imports it into
// podman as localhost/<name>:<key>.
func importRoot(name string, install []string) (string, error) {
	defaults, err := config.Load(config.Options{Dir: os.TempDir()})
	if err != nil {
		return "", err
	}
	cc := defaults.Venv.Chroot
	spec := rootfs.Spec{Distribution: cc.Distribution, Mirror: cc.Mirror, Variant: cc.Variant, Install: install}
	r, err := rootfs.Cache{Dir: RootsDir(), Log: os.Stderr}.Ensure(context.Background(), spec, false)
	if err != nil {
		return "", err
	}
	tag := "localhost/" + name + ":" + r.Key
	if exec.Command("podman", append(PodmanArgs(), "image", "exists", tag)...).Run() == nil {
		return tag, nil
	}
	if out, err := exec.Command("podman", append(PodmanArgs(), "import", "--quiet", r.Tarball, tag)...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("podman import: %w\n%s", err, out)
	}
	return tag, nil
}

// PodmanContainers lists the containers, running or not, that carry label.
func PodmanContainers(t testing.TB, label string) string {
	t.Helper()
	out, err := exec.Command("podman", append(PodmanArgs(), "ps", "--all", "--quiet", "--filter", "label="+label)...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman ps: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}
