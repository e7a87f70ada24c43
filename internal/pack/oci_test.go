package pack_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/gopythongo/gopythongo/internal/cli"
	"github.com/gopythongo/gopythongo/internal/steps/publishstep"
	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOCILayers: a change to the project alone changes the project's layer
// only; the image also goes to a tarball that podman load accepts.
// TestOCIImageMustRun: no base is an error naming the choices, a base
// without the venv's interpreter (scratch) is refused before the image is
// written, and a project with several console scripts must choose one.
func TestOCIImageMustRun(t *testing.T) {
	p := built(t, baseConfig)
	code, _, stderr := runStep(t, p.Dir, map[string]string{}, "--format", "oci")
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "package.oci.base is not set")
	assert.Contains(t, stderr, "debian:bookworm-slim")

	code, _, stderr = runStep(t, p.Dir, map[string]string{"GOPYTHONGO_PACKAGE_OCI_BASE": "scratch"}, "--format", "oci")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "the image's /opt/hello/bin/python3 leads to /usr/bin/python3, which the base image scratch does not have")
	assert.NoDirExists(t, filepath.Join(p.Dir, "dist", "oci"), "nothing written")
	// The layers written while the base was read are gone with their layout.
	leftovers, _ := filepath.Glob(filepath.Join(p.Dir, "dist", ".oci-*"))
	assert.Empty(t, leftovers, "no temporary layout left")

	// A second console script: the entrypoint must be chosen.
	bin := filepath.Join(p.Dir, "dist", "root", "opt", "hello", "bin")
	st := loadState(t, p.Dir)
	distInfo, err := filepath.Glob(filepath.Join(p.Dir, "dist", "root", "opt", "hello", "lib", "python3*", "site-packages", "hello-*.dist-info", "entry_points.txt"))
	require.NoError(t, err)
	require.Len(t, distInfo, 1)
	require.NoError(t, os.WriteFile(distInfo[0], []byte("[console_scripts]\nhello = hello.cli:main\nhello-admin = hello.cli:main\n"), 0o644))
	copyInto(t, filepath.Join(bin, "hello"), filepath.Join(bin, "hello-admin"))
	_ = st
	env := map[string]string{"GOPYTHONGO_PACKAGE_OCI_BASE": baseImage(t)}
	code, _, stderr = runStep(t, p.Dir, env, "--format", "oci")
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "the project has 2 console scripts (/opt/hello/bin/hello, /opt/hello/bin/hello-admin)")
	code, _, stderr = runStep(t, p.Dir, env, "--format", "oci", "--set", "package.oci.entrypoint=[/opt/hello/bin/hello-admin]")
	require.Equal(t, 0, code, stderr)
}

func TestOCILayers(t *testing.T) {
	p := built(t, baseConfig)
	env := map[string]string{"GOPYTHONGO_PACKAGE_OCI_BASE": baseImage(t), "GOPYTHONGO_PACKAGE_OCI_TARBALL": "true"}
	code, _, stderr := runStep(t, p.Dir, env, "--format", "oci")
	require.Equal(t, 0, code, stderr)
	dist := filepath.Join(p.Dir, "dist")
	layers := func() []string {
		var img struct{ Layers []string }
		require.NoError(t, json.Unmarshal([]byte(sh(t, dist, "skopeo", "inspect", "oci:"+filepath.Join(dist, "oci")+":1.2.3")), &img))
		return img.Layers
	}
	all := layers()
	require.Greater(t, len(all), 2, "the base's layers, then the venv's two")
	before := all[len(all)-2:]

	// podman load takes the tarball.
	st := loadState(t, p.Dir)
	tarball := artifact(st, "oci").Tarball
	require.NotEmpty(t, tarball)
	storage := t.TempDir()
	out := sh(t, dist, "podman", "--root", filepath.Join(storage, "root"), "--runroot", filepath.Join(storage, "run"), "--storage-driver", "vfs", "load", "-i", tarball)
	assert.Contains(t, out, "Loaded image: localhost/hello:1.2.3")

	// Published through a proxy that counts what the registry receives.
	reg := testutil.StartRegistry(t, false)
	proxy := testutil.NewFaultProxy(t, "http://"+reg.Host)
	pubEnv := map[string]string{"GOPYTHONGO_PUBLISH_STORES": "[{name: reg, type: registry, repository: " + strings.TrimPrefix(proxy.URL, "http://") + "/team/hello}]"}
	code, _, stderr = steptest.Run(t, publishstep.Publish(steptest.NewSigner), p.Dir, pubEnv)
	require.Equal(t, 0, code, stderr)

	// Change the project only, commit later, and build again.
	p.WriteFile("src/hello/cli.py", strings.Replace(readFile(t, filepath.Join(p.Dir, "src/hello/cli.py")), "Say hello.", "Say hello!", 1))
	p.Git("commit", "-qam", "change the project")
	buildVenv(t, p)
	code, _, stderr = runStep(t, p.Dir, env, "--format", "oci")
	require.Equal(t, 0, code, stderr)
	after := layers()
	require.Len(t, after, len(all))
	after = after[len(after)-2:]
	assert.Equal(t, before[0], after[0], "the dependencies' layer is unchanged, though the commit's time is not")
	assert.NotEqual(t, before[1], after[1], "the project's layer is new")

	// The second push sends the project's layer, the config and the manifest:
	// not one byte of the dependencies' layer.
	var manifest struct {
		Config struct{ Digest string }
		Layers []struct {
			Digest string
			Size   int64
		}
	}
	var index struct{ Manifests []struct{ Digest string } }
	require.NoError(t, json.Unmarshal([]byte(readFile(t, filepath.Join(dist, "oci", "index.json"))), &index))
	blob := func(d string) string {
		return filepath.Join(dist, "oci", "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
	}
	require.NoError(t, json.Unmarshal([]byte(readFile(t, blob(index.Manifests[0].Digest))), &manifest))
	size := func(d string) int64 {
		fi, err := os.Stat(blob(d))
		require.NoError(t, err)
		return fi.Size()
	}
	project := manifest.Layers[len(manifest.Layers)-1]
	// The base's layers are linked from its layout, not copied, and keep
	// their mode.
	baseDir := strings.SplitN(strings.TrimPrefix(baseImage(t), "oci-layout:"), ":", 2)[0]
	src, err := os.Stat(filepath.Join(baseDir, "blobs", "sha256", strings.TrimPrefix(manifest.Layers[0].Digest, "sha256:")))
	require.NoError(t, err)
	dst, err := os.Stat(blob(manifest.Layers[0].Digest))
	require.NoError(t, err)
	assert.True(t, os.SameFile(src, dst), "the base layer is a link to the base layout's blob")
	assert.Equal(t, os.FileMode(0o644), src.Mode().Perm())
	proxy.BytesIn.Store(0)
	// Under the same version (the test's state file names one): --overwrite.
	code, stdout, stderr := steptest.Run(t, publishstep.Publish(steptest.NewSigner), p.Dir, pubEnv, "--overwrite")
	require.Equal(t, 0, code, stderr)
	tags := regexp.MustCompile(`(?m)^reg_tags=(.*)$`).FindStringSubmatch(stdout)
	require.NotNil(t, tags, stdout)
	manifests := int64(len(strings.Split(tags[1], ",")))
	assert.Equal(t, project.Size+size(manifest.Config.Digest)+manifests*size(index.Manifests[0].Digest), proxy.BytesIn.Load(),
		"the registry received the project's layer (%d bytes), the config and the manifest once per tag (%s), and no more", project.Size, tags[1])
}

// TestBaseListingIsReadOnce: the base's layers are listed into the cache once;
// the next image reads the listings instead of gunzipping the layers, and
// still hashes the layers. A listing that is no listing is read again.
func TestBaseListingIsReadOnce(t *testing.T) {
	p := built(t, baseConfig)
	ref := baseImage(t)
	layoutDir, tag, _ := strings.Cut(strings.TrimPrefix(ref, "oci-layout:"), ":")
	base := filepath.Join(t.TempDir(), "base") // a copy, to damage
	sh(t, p.Dir, "cp", "-a", layoutDir, base)
	cache := t.TempDir()
	env := map[string]string{"GOPYTHONGO_PACKAGE_OCI_BASE": "oci-layout:" + base + ":" + tag, "XDG_CACHE_HOME": cache}
	pack := func() (int, string) {
		code, _, stderr := runStep(t, p.Dir, env, "--format", "oci")
		return code, stderr
	}
	code, stderr := pack()
	require.Equal(t, 0, code, stderr)
	listings, err := filepath.Glob(filepath.Join(cache, "gopythongo", "oci-layers", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, listings, "one listing a base layer")
	saved := map[string][]byte{}
	for _, l := range listings {
		saved[l] = []byte(readFile(t, l))
	}

	// The next image reads the listings: with their entries gone, the base
	// has no interpreter, and the image is refused.
	for _, l := range listings {
		var li map[string]any
		require.NoError(t, json.Unmarshal(saved[l], &li))
		li["entries"] = []any{}
		b, err := json.Marshal(li)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(l, b, 0o644))
	}
	code, stderr = pack()
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "which the base image oci-layout:"+base+":"+tag+" does not have")

	// Listings that are none are not trusted: a pipe, a name that climbs
	// out, another layer's digest, not JSON. The layers are read again, and
	// the listings written anew.
	for _, bad := range []func(l string){
		func(l string) { require.NoError(t, syscall.Mkfifo(l, 0o644)) },
		func(l string) {
			require.NoError(t, os.WriteFile(l, []byte(strings.Replace(string(saved[l]), `{"n":"dev",`, `{"n":"../dev",`, 1)), 0o644))
		},
		func(l string) {
			require.NoError(t, os.WriteFile(l, []byte(strings.Replace(string(saved[l]), `"digest":"sha256:`, `"digest":"sha256:0`, 1)), 0o644))
		},
		func(l string) { require.NoError(t, os.WriteFile(l, []byte("{"), 0o644)) },
	} {
		for _, l := range listings {
			require.NoError(t, os.Remove(l))
			bad(l)
		}
		code, stderr = pack()
		require.Equal(t, 0, code, stderr)
		for _, l := range listings {
			assert.Equal(t, string(saved[l]), readFile(t, l), "the listing is written again")
		}
	}

	// A damaged layer is found with a listing at hand: its bytes are hashed.
	var biggest string
	var size int64
	for _, l := range listings {
		fi, err := os.Stat(filepath.Join(base, "blobs", "sha256", strings.TrimSuffix(filepath.Base(l), ".json")))
		require.NoError(t, err)
		if fi.Size() > size {
			biggest, size = fi.Name(), fi.Size()
		}
	}
	blob := filepath.Join(base, "blobs", "sha256", biggest)
	f, err := os.OpenFile(blob, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("damage"), size/2)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	code, stderr = pack()
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "of the base image is not what its digest says")
}
