package config

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDeployPaths(t *testing.T) {
	for path, ok := range map[string]bool{
		"/opt/hello": true, "/opt/venvs/hello": true, "/srv/hello": true, "/usr/local/hello": true,
		"/usr/lib/hello": true, "/var/lib/hello": true, "/opt/hello-2.0+x@y": true,
		"/": false, "/usr": false, "/etc": false, "/var/lib/dpkg": false, "/tmp": false, "/tmp/app": false,
		"/home": false, "/home/app": false, "/proc/self": false, "/opt": false, "/srv": false, "/usr/local": false,
		"/usr/local/bin": false, "/usr/local/lib/app": false, "/usr/lib/python3": false, "/usr/lib/python3.11": false,
		"/usr/lib/x86_64-linux-gnu": false, "/usr/lib/systemd": false, "/var/lib/apt": false, "/usr/bin": false,
		"/opt/my app": false, "/opt/app'x": false, "/opt/.hidden": false, "/opt/../etc": false, "opt/hello": false,
		"/opt/hello/": false, "/opt/a\nb": false, "/bin/app": false, "/usr/share/app": false, "/usr/lib/debug": false,
	} {
		t.Run(path, func(t *testing.T) {
			_, err := load(t, "project: {name: hello, deploy_path: \""+strings.ReplaceAll(path, "\n", `\n`)+"\"}\n", nil)
			if ok {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "project.deploy_path")
			assert.Contains(t, err.Error(), "/opt/hello", "the message shows a place that works")
			assert.Contains(t, err.Error(), ".gopythongo.yaml:1", "and the line")
		})
	}
}

func TestControlCharactersInSingleLineFields(t *testing.T) {
	tests := []struct{ yaml, key string }{
		{"package:\n  service:\n    exec: [/opt/hello/bin/hello, \"serve\\nExecStartPre=/bin/rm -rf /\"]\n", "package.service.exec[1]"},
		{"package:\n  deb:\n    depends: [\"libpq5\\nEssential: yes\"]\n", "package.deb.depends[0]"},
		{"package:\n  deb:\n    maintainer: \"A <a@example.com>\\nDepends: evil\"\n", "package.deb.maintainer"},
		{"package:\n  homepage: \"https://example.com\\r\\nX: y\"\n", "package.homepage"},
		{"package:\n  description: \"one\\ntwo\"\n", "package.description"},
		{"package:\n  service:\n    environment: {A: \"1\\nExecStart=/bin/sh\"}\n", "package.service.environment.A"},
		{"package:\n  service:\n    user: \"app\\u0000\"\n", "package.service.user"},
		{"test:\n  suites:\n    unit: {runner: custom, argv: [\"a\\u001bb\"]}\n", "test.suites.unit.argv[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			_, err := load(t, tt.yaml, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.key)
			assert.Contains(t, err.Error(), "control character")
			assert.Contains(t, err.Error(), ".gopythongo.yaml:")
		})
	}
	// Where a value is handed to a process as it is, lines are fine.
	_, err := load(t, "venv:\n  env: {CERT: \"line one\\nline two\"}\npackage:\n  oci:\n    labels: {notes: \"a\\nb\"}\n", nil)
	assert.NoError(t, err)
	_, err = load(t, "", []string{"GOPYTHONGO_PACKAGE_DEB_MAINTAINER=A <a@example.com>\nDepends: evil"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GOPYTHONGO_PACKAGE_DEB_MAINTAINER")
}

func TestArchitectureIsDpkgs(t *testing.T) {
	for arch, ok := range map[string]bool{"amd64": true, "arm64": true, "all": true, "musl-linux-amd64": true, "ppc64el": true,
		"x86_64": false, "AMD64": false, "amd64\nDepends: x": false, "any": false, "aarch64": false} {
		_, err := load(t, "package: {architecture: \""+strings.ReplaceAll(arch, "\n", `\n`)+"\"}\n", nil)
		if ok {
			assert.NoError(t, err, arch)
		} else if assert.Error(t, err, arch) {
			assert.Contains(t, err.Error(), "package.architecture")
		}
	}
}

// TestArchitectureListIsDpkgs holds the embedded list against dpkg itself.
func TestArchitectureListIsDpkgs(t *testing.T) {
	out, err := exec.Command("dpkg-architecture", "-L").Output()
	require.NoError(t, err, "make test installs dpkg-dev")
	for _, a := range strings.Fields(string(out)) {
		assert.True(t, isDpkgArchitecture(a), "%s is known to dpkg", a)
	}
	n := 0
	for _, line := range strings.Split(dpkgArchitectures, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	assert.Equal(t, len(strings.Fields(string(out)))+1, n, "the list is dpkg's and all")
}

func TestWheelLimits(t *testing.T) {
	cfg, err := load(t, "venv: {wheel_limits: {max_entry_size: 512MiB, max_size: 2GB}}\n", nil)
	require.NoError(t, err)
	n, err := ParseSize(cfg.Venv.WheelLimits.MaxEntrySize)
	require.NoError(t, err)
	assert.Equal(t, int64(512<<20), n)
	for _, bad := range []string{"venv: {wheel_limits: {max_entry_size: lots}}\n", "venv: {wheel_limits: {max_size: -1}}\n", "venv: {wheel_limits: {max_ratio: 2}}\n"} {
		_, err := load(t, bad, nil)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "venv.wheel_limits")
	}
}
