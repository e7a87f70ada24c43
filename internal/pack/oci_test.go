package pack_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOCILayers: a change to the project alone changes the project's layer
// only; the image also goes to a tarball that podman load accepts.
func TestOCILayers(t *testing.T) {
	p := built(t, baseConfig)
	env := map[string]string{"GOPYTHONGO_PACKAGE_OCI_BASE": "scratch", "GOPYTHONGO_PACKAGE_OCI_TARBALL": "true"}
	code, _, stderr := runStep(t, p.Dir, env, "--format", "oci")
	require.Equal(t, 0, code, stderr)
	dist := filepath.Join(p.Dir, "dist")
	layers := func() []string {
		var img struct{ Layers []string }
		require.NoError(t, json.Unmarshal([]byte(sh(t, dist, "skopeo", "inspect", "oci:"+filepath.Join(dist, "oci")+":1.2.3")), &img))
		return img.Layers
	}
	before := layers()
	require.Len(t, before, 2)

	// podman load takes the tarball.
	st := loadState(t, p.Dir)
	tarball := artifact(st, "oci").Tarball
	require.NotEmpty(t, tarball)
	storage := t.TempDir()
	out := sh(t, dist, "podman", "--root", filepath.Join(storage, "root"), "--runroot", filepath.Join(storage, "run"), "--storage-driver", "vfs", "load", "-i", tarball)
	assert.Contains(t, out, "Loaded image: localhost/hello:1.2.3")

	// Change the project only and build again.
	p.WriteFile("src/hello/cli.py", strings.Replace(readFile(t, filepath.Join(p.Dir, "src/hello/cli.py")), "Say hello.", "Say hello!", 1))
	p.Git("commit", "-qam", "change the project")
	buildVenv(t, p)
	code, _, stderr = runStep(t, p.Dir, env, "--format", "oci")
	require.Equal(t, 0, code, stderr)
	after := layers()
	require.Len(t, after, 2)
	assert.Equal(t, before[0], after[0], "the dependencies' layer is unchanged")
	assert.NotEqual(t, before[1], after[1], "the project's layer is new")
}
