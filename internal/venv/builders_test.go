package venv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/rootfs"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

// testRoot is the root every isolated-builder test builds in: Debian 12 with
// the interpreter, setuptools (build_isolation: false) and a C tool chain with
// zlib for examples/hello-c. It is bootstrapped once into dist/fixtures/roots.
var testRoot = []string{"python3", "python3-venv", "python3-setuptools", "python3-wheel", "python3-dev", "gcc", "libc6-dev", "zlib1g-dev"}

func rootsDir() string { return filepath.Join(testutil.FixtureDir(), "roots") }

// podmanArgs are podman's global arguments on these machines: storage kept
// with the fixtures, and runc (see ../shared/reference/registry.md).
func podmanArgs() []string {
	dir := filepath.Join(testutil.FixtureDir(), "podman")
	return []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "overlay", "--runtime", "runc"}
}

// testImage is the build image of the container builder's tests: the test
// root imported into podman, once per test binary.
func testImage(t *testing.T) string {
	t.Helper()
	tag, err := importTestRoot()
	require.NoError(t, err)
	return tag
}

var importTestRoot = sync.OnceValues(func() (string, error) {
	defaults, err := config.Load(config.Options{Dir: os.TempDir()})
	if err != nil {
		return "", err
	}
	cc := defaults.Venv.Chroot
	spec := rootfs.Spec{Distribution: cc.Distribution, Mirror: cc.Mirror, Variant: cc.Variant, Install: testRoot}
	r, err := rootfs.Ensure(context.Background(), rootsDir(), spec, false, nil, os.Stderr)
	if err != nil {
		return "", err
	}
	tag := "localhost/gopythongo-test-root:" + r.Key
	if exec.Command("podman", append(podmanArgs(), "image", "exists", tag)...).Run() == nil {
		return tag, nil
	}
	if out, err := exec.Command("podman", append(podmanArgs(), "import", "--quiet", r.Tarball, tag)...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("podman import: %w\n%s", err, out)
	}
	return tag, nil
})

// builderEnv configures a builder for the tests.
func builderEnv(t *testing.T, builder string) []string {
	t.Helper()
	switch builder {
	case "chroot":
		return []string{"GOPYTHONGO_VENV_BUILDER=chroot", "GOPYTHONGO_VENV_CHROOT_CACHE_DIR=" + rootsDir(),
			"GOPYTHONGO_VENV_CHROOT_INSTALL=" + strings.Join(testRoot, ",")}
	case "container":
		return []string{"GOPYTHONGO_VENV_BUILDER=container", "GOPYTHONGO_VENV_CONTAINER_COMMAND=podman",
			"GOPYTHONGO_VENV_CONTAINER_IMAGE=" + testImage(t),
			"GOPYTHONGO_VENV_CONTAINER_GLOBAL_ARGS=[" + strings.Join(podmanArgs(), ", ") + "]",
			"GOPYTHONGO_VENV_CONTAINER_NETWORK=none", "GOPYTHONGO_VENV_CONTAINER_RUN_ARGS=[--ulimit, nofile=1024:1024, --ulimit, nproc=4096:4096]"}
	}
	return nil
}
