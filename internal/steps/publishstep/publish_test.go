package publishstep

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gopythongo/gopythongo/internal/state"
)

// TestOutputKeys: one output key per publication, as short as unique.
func TestOutputKeys(t *testing.T) {
	st := &state.State{
		Artifacts:    []state.Artifact{{Path: "a.whl", Format: "wheel"}, {Path: "a.tar.gz", Format: "sdist"}, {Path: "x_amd64.deb", Format: "deb", Arch: "amd64"}, {Path: "x_arm64.deb", Format: "deb", Arch: "arm64"}, {Path: "oci", Format: "oci"}},
		Publications: []state.Publication{{Store: "py-dir", Artifact: "a.whl"}, {Store: "py-dir", Artifact: "a.tar.gz"}, {Store: "registry", Artifact: "oci"}},
	}
	assert.Equal(t, []string{"py_dir_wheel", "py_dir_sdist", "registry"}, outputKeys(st))
	st.Publications = []state.Publication{{Store: "registry", Artifact: "oci"}, {Store: "apt", Artifact: "x_amd64.deb"}, {Store: "apt", Artifact: "x_arm64.deb"}}
	assert.Equal(t, []string{"registry", "apt_deb_amd64", "apt_deb_arm64"}, outputKeys(st))
}
