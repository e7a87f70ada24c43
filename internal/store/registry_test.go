package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

func TestTags(t *testing.T) {
	all := []string{"version", "latest", "minor", "major", "channel"}
	tests := []struct {
		v    state.Version
		want []string
	}{
		{state.Version{OCITag: "1.2.3", Channel: "release"}, []string{"1.2.3", "latest", "1.2", "1"}},
		{state.Version{OCITag: "1.2.3_rev.2", Channel: "release"}, []string{"1.2.3_rev.2", "latest", "1.2", "1"}},
		{state.Version{OCITag: "1.3.0-dev.4_gabc", Channel: "dev"}, []string{"1.3.0-dev.4_gabc", "develop"}},
		{state.Version{OCITag: "1.3.0-rc.1", Channel: "rc"}, []string{"1.3.0-rc.1", "rc"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Tags(all, tt.v, []string{"1.2.2", "latest", "0.9.0", "develop"}), tt.v.OCITag)
	}
	assert.Equal(t, []string{"1.2.3"}, Tags([]string{"version"}, tests[0].v, nil))
	hotfix := state.Version{OCITag: "1.1.1", Channel: "release"}
	assert.Equal(t, []string{"1.1.1", "1.1"}, Tags(all, hotfix, []string{"1.2.0", "1.1.0", "latest"}), "a hotfix of an older line moves only its X.Y")
	assert.Equal(t, []string{"1.1.1", "latest", "1.1", "1"}, Tags(all, hotfix, []string{"1.1.0", "1.0.0-rc.1"}))
}

func skopeo(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out, err := exec.Command("skopeo", append([]string{"inspect"}, args...)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	var m map[string]any
	require.NoError(t, json.Unmarshal(out, &m))
	return m
}

// TestRegistry pushes to Debian's docker-registry, without and with
// htpasswd auth, and checks with skopeo what it holds; republishing after an
// app-only change sends only the app layer.
func TestRegistry(t *testing.T) {
	for _, auth := range []bool{false, true} {
		t.Run(map[bool]string{false: "no auth", true: "htpasswd"}[auth], func(t *testing.T) {
			ctx := context.Background()
			reg := testutil.StartRegistry(t, auth)
			proxy := testutil.NewFaultProxy(t, "http://"+reg.Host)
			host := strings.TrimPrefix(proxy.URL, "http://")
			sc := config.DefaultStore("registry", "registry")
			sc.Repository = host + "/team/hello"
			env := map[string]string{}
			creds := []string{"--tls-verify=false"}
			if auth {
				sc.Username, sc.PasswordEnv = reg.User, "REGISTRY_PASSWORD"
				env["REGISTRY_PASSWORD"] = reg.Pass
				creds = append(creds, "--creds", reg.User+":"+reg.Pass)

				bad := sc
				_, err := newStore(t, bad, map[string]string{"REGISTRY_PASSWORD": "nope"}).Publish(ctx, newTestImage(t, 1024).item(t, t.TempDir(), "oci", "1.0.0", "x"))
				require.Error(t, err)
				assert.Contains(t, err.Error(), "refused the credentials: check user \"ci\" and the password in $REGISTRY_PASSWORD")
				assert.NotContains(t, err.Error(), "nope")
			}
			st := newStore(t, sc, env)
			dist := t.TempDir()
			img := newTestImage(t, 3<<20)
			rel := img.item(t, dist, "oci-1", "1.2.3", "app one")
			pub, err := st.Publish(ctx, rel)
			require.NoError(t, err)
			assert.Equal(t, []string{"1.2.3", "latest", "1.2", "1"}, pub.Tags)
			assert.Equal(t, "docker pull "+sc.Repository+"@"+rel.Artifact.Digest, pub.Install)
			first := proxy.BytesIn.Load()
			assert.Greater(t, first, int64(3<<20), "the first push sends the base layer")

			m := skopeo(t, append(creds, "docker://"+reg.Host+"/team/hello:1.2.3")...)
			assert.Equal(t, rel.Artifact.Digest, m["Digest"])
			assert.Len(t, m["Layers"], 2)
			assert.Equal(t, rel.Artifact.Digest, skopeo(t, append(creds, "docker://"+reg.Host+"/team/hello:latest")...)["Digest"])

			// The same image again: nothing pushed, the tag is unchanged.
			proxy.BytesIn.Store(0)
			pub, err = st.Publish(ctx, rel)
			require.NoError(t, err)
			assert.True(t, pub.Unchanged)
			assert.Less(t, proxy.BytesIn.Load(), int64(16<<10), "a rerun uploads no blob")

			// A dev build with only the app layer changed: the base layer is
			// not sent again.
			proxy.BytesIn.Store(0)
			dev := img.item(t, dist, "oci-2", "1.3.0-dev.4+gabc", "app two, changed")
			pub, err = st.Publish(ctx, dev)
			require.NoError(t, err)
			assert.Equal(t, []string{"1.3.0-dev.4_gabc", "develop"}, pub.Tags)
			assert.Less(t, proxy.BytesIn.Load(), int64(16<<10), "only the small app layer, config and manifest are sent")
			assert.Equal(t, rel.Artifact.Digest, skopeo(t, append(creds, "docker://"+reg.Host+"/team/hello:latest")...)["Digest"], "a dev build leaves latest alone")

			// A different image under an existing version is refused.
			other := newTestImage(t, 1024).item(t, dist, "oci-3", "1.2.3", "other")
			_, err = st.Publish(ctx, other)
			require.Error(t, err)
			assert.Contains(t, err.Error(), rel.Artifact.Digest)
			assert.Contains(t, err.Error(), other.Artifact.Digest)

			rels, err := st.Existing(ctx, "hello")
			require.NoError(t, err)
			var versions []string
			for _, r := range rels {
				versions = append(versions, r.Version)
			}
			assert.ElementsMatch(t, []string{"1.2.3", "1.3.0-dev.4_gabc"}, versions, "floating tags are not versions")
		})
	}
}

// TestRegistryDockerConfig takes the credentials from docker's config.json
// when the store names none.
func TestRegistryDockerConfig(t *testing.T) {
	reg := testutil.StartRegistry(t, true)
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(reg.User + ":" + reg.Pass))
	testutil.WriteFile(t, filepath.Join(dir, "config.json"), `{"auths": {"`+reg.Host+`": {"auth": "`+auth+`"}}}`)
	t.Setenv("DOCKER_CONFIG", dir)
	sc := config.DefaultStore("registry", "registry")
	sc.Repository = reg.Host + "/hello"
	pub, err := newStore(t, sc, nil).Publish(context.Background(), newTestImage(t, 1024).item(t, t.TempDir(), "oci", "1.0.0", "x"))
	require.NoError(t, err)
	assert.Equal(t, reg.Host+"/hello:1.0.0", pub.Reference)

	t.Setenv("DOCKER_CONFIG", t.TempDir())
	_, err = newStore(t, sc, nil).Existing(context.Background(), "hello")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "docker's config.json")
}

func TestRegistryMissingRepository(t *testing.T) {
	reg := testutil.StartRegistry(t, false)
	sc := config.DefaultStore("registry", "registry")
	sc.Repository = reg.Host + "/nothing/here"
	rels, err := newStore(t, sc, nil).Existing(context.Background(), "hello")
	require.NoError(t, err)
	assert.Empty(t, rels)
}

func TestOCIDir(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "images")
	sc := config.DefaultStore("images", "oci-dir")
	sc.Path = dir
	st := newStore(t, sc, nil)
	dist := t.TempDir()
	img := newTestImage(t, 4096)
	one := img.item(t, dist, "oci-1", "1.2.3", "one")
	two := img.item(t, dist, "oci-2", "1.3.0", "two")
	for _, it := range []Item{one, two} {
		_, err := st.Publish(ctx, it)
		require.NoError(t, err)
	}
	assert.Equal(t, one.Artifact.Digest, skopeo(t, "oci:"+dir+":1.2.3")["Digest"], "every published tag is kept")
	assert.Equal(t, two.Artifact.Digest, skopeo(t, "oci:"+dir+":1.3.0")["Digest"])
	assert.Equal(t, two.Artifact.Digest, skopeo(t, "oci:"+dir+":latest")["Digest"], "latest moved")
	assert.Equal(t, one.Artifact.Digest, skopeo(t, "oci:"+dir+":1.2")["Digest"])

	pub, err := st.Publish(ctx, one)
	require.NoError(t, err)
	assert.True(t, pub.Unchanged)
	assert.Equal(t, two.Artifact.Digest, skopeo(t, "oci:"+dir+":latest")["Digest"], "a rerun of an older release does not move latest back")

	other := newTestImage(t, 64).item(t, dist, "oci-3", "1.2.3", "x")
	_, err = st.Publish(ctx, other)
	assert.ErrorContains(t, err, "versions are immutable")
	rels, err := st.Existing(ctx, "hello")
	require.NoError(t, err)
	assert.Len(t, rels, 6, "1.2.3, 1.2, 1.3.0, latest, 1.3 and 1")
}
