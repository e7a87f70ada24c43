package venv

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/testutil"
)

func TestUnknownBuilderNamesTheChoices(t *testing.T) {
	_, err := NewBuilder("vagrant", BuilderOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `builder "vagrant" is not available in this GoPythonGo (available: chroot, container, host)`)
}

// TestCheckConfig: what a builder needs is refused with its key and line.
func TestCheckConfig(t *testing.T) {
	testutil.RefusedByCheck(t, CheckConfig, []testutil.ConfigCase{
		{Name: "chroot suite", YAML: "venv:\n  builder: chroot\n  chroot: {distribution: 'Bookworm!'}\n",
			Want: []string{".gopythongo.yaml:3", "venv.chroot.distribution", "bookworm"}},
		{Name: "chroot mirror", YAML: "venv:\n  builder: chroot\n  chroot: {mirror: deb.debian.org}\n",
			Want: []string{"venv.chroot.mirror", "http://deb.debian.org/debian"}},
		{Name: "chroot package", YAML: "venv:\n  builder: chroot\n  chroot: {install: [python3, 'gcc libpq-dev']}\n",
			Want: []string{"venv.chroot.install", `"gcc libpq-dev"`}},
		{Name: "chroot without setuptools for a build without isolation", YAML: "venv:\n  builder: chroot\n  build_isolation: false\n  chroot: {install: [python3, python3-venv, python3-dev, gcc]}\n",
			Want: []string{"venv.chroot.install", "add python3-setuptools and python3-wheel"}},
		{Name: "chroot empty command", YAML: "venv:\n  builder: chroot\n  chroot: {run_after_create: [[]]}\n",
			Want: []string{"venv.chroot.run_after_create[0]", "empty command"}},
		{Name: "container without image", YAML: "venv:\n  builder: container\n",
			Want: []string{"venv.container.image", "venv.container.dockerfile"}},
		{Name: "container image and dockerfile", YAML: "venv:\n  builder: container\n  container: {image: a, dockerfile: Dockerfile}\n",
			Want: []string{".gopythongo.yaml:3", "not both"}},
		{Name: "container command with options", YAML: "venv:\n  builder: container\n  container: {image: a, command: 'podman --root /x'}\n",
			Want: []string{"venv.container.command", "global_args"}},
	})
}
