package venv

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
)

func TestUnknownBuilderNamesTheChoices(t *testing.T) {
	_, err := NewBuilder("vagrant", BuilderOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `builder "vagrant" is not available in this GoPythonGo (available: chroot, container, host)`)
}

// TestCheckConfig: what a builder needs is refused with its key and line.
func TestCheckConfig(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"chroot suite", "venv:\n  builder: chroot\n  chroot: {distribution: 'Bookworm!'}\n",
			[]string{".gopythongo.yaml:3", "venv.chroot.distribution", "bookworm"}},
		{"chroot mirror", "venv:\n  builder: chroot\n  chroot: {mirror: deb.debian.org}\n",
			[]string{"venv.chroot.mirror", "http://deb.debian.org/debian"}},
		{"chroot package", "venv:\n  builder: chroot\n  chroot: {install: [python3, 'gcc libpq-dev']}\n",
			[]string{"venv.chroot.install", `"gcc libpq-dev"`}},
		{"chroot empty command", "venv:\n  builder: chroot\n  chroot: {run_after_create: [[]]}\n",
			[]string{"venv.chroot.run_after_create[0]", "empty command"}},
		{"container without image", "venv:\n  builder: container\n",
			[]string{"venv.container.image", "venv.container.dockerfile"}},
		{"container image and dockerfile", "venv:\n  builder: container\n  container: {image: a, dockerfile: Dockerfile}\n",
			[]string{".gopythongo.yaml:3", "not both"}},
		{"container command with options", "venv:\n  builder: container\n  container: {image: a, command: 'podman --root /x'}\n",
			[]string{"venv.container.command", "global_args"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, config.DefaultFile), []byte(tt.yaml), 0o644))
			_, err := config.Load(config.Options{Dir: dir})
			require.NoError(t, err, "the configuration's own rules leave this to the builder")
			_, err = config.Load(config.Options{Dir: dir, Checks: []config.Check{CheckConfig}})
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
