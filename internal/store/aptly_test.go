package store

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

func aptlyConfig(url string) config.StoreConfig {
	sc := config.DefaultStore("aptly", "aptly")
	sc.URL, sc.Distribution, sc.Architectures = url, "bookworm", []string{"amd64", "all"}
	return sc
}

func TestAptlyPrefix(t *testing.T) {
	for in, want := range map[string]string{".": ":.", "": ":.", "debian": "debian", "a/b_c": "a_b__c", "s3:bucket:": "s3:bucket:.", "s3:bucket:team/x": "s3:bucket:team_x"} {
		a := &aptly{cfg: config.StoreConfig{Prefix: in}}
		assert.Equal(t, want, a.prefix(), in)
	}
}

// TestAptly publishes signed through aptly's API, updates the publication
// with a second version, and apt-get installs from what aptly published.
func TestAptly(t *testing.T) {
	ctx := context.Background()
	srv := testutil.StartAptly(t)
	sc := aptlyConfig(srv.URL)
	sc.GPGKey = srv.KeyID
	st := newStore(t, sc, nil)
	dist := t.TempDir()

	rels, err := st.Existing(ctx, "hello-aptly")
	require.NoError(t, err)
	assert.Empty(t, rels, "no repository yet: nothing held")

	one := makeDeb(t, dist, "hello-aptly", "1.0-1", "all", "aptly one")
	two := makeDeb(t, dist, "hello-aptly", "1.1-1", "amd64", "aptly two")
	pub, err := st.Publish(ctx, one)
	require.NoError(t, err)
	assert.Equal(t, "apt-get install hello-aptly=1.0-1", pub.Install)
	_, err = st.Publish(ctx, two)
	require.NoError(t, err, "the second publish updates the publication")

	rels, err = st.Existing(ctx, "hello-aptly")
	require.NoError(t, err)
	require.Len(t, rels, 2)
	for _, r := range rels {
		assert.Equal(t, "c0ffee", r.Commit, "aptly keeps the commit field")
	}

	// A rerun is harmless; a different file under a version is refused.
	pub, err = st.Publish(ctx, one)
	require.NoError(t, err)
	assert.True(t, pub.Unchanged)
	changed := makeDeb(t, t.TempDir(), "hello-aptly", "1.0-1", "all", "changed")
	_, err = st.Publish(ctx, changed)
	require.Error(t, err)
	assert.Contains(t, err.Error(), one.Artifact.SHA256)
	assert.Contains(t, err.Error(), changed.Artifact.SHA256)
	// aptly itself answers 200 with the refusal in FailedFiles and Warnings.
	err = st.(*aptly).upload(ctx, changed)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "aptly refused")

	// apt-get installs from the published tree, verified with signed-by.
	web := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(srv.Root, "public"))))
	defer web.Close()
	root := testutil.DebianRoot(t)
	line := "deb [signed-by=" + testutil.AptKey + "] " + web.URL + " bookworm main"
	out, err := testutil.AptGet(root, line, srv.PublicKey, "install", "-y", "hello-aptly=1.0-1")
	require.NoError(t, err, out)
	got, err := exec.Command("chroot", root, "hello-aptly").CombinedOutput()
	require.NoError(t, err)
	assert.Equal(t, "aptly one\n", string(got))
	out, err = testutil.AptGet(root, line, srv.PublicKey, "install", "-y", "hello-aptly")
	require.NoError(t, err, out)
	got, _ = exec.Command("chroot", root, "hello-aptly").CombinedOutput()
	assert.Equal(t, "aptly two\n", string(got))

	// --overwrite replaces the package and overwrites the published file.
	changed.Overwrite = true
	_, err = st.Publish(ctx, changed)
	require.NoError(t, err)
	rels, _ = st.Existing(ctx, "hello-aptly")
	assert.Contains(t, rels, Release{Name: "hello-aptly", Version: "1.0-1", Arch: "all", File: "hello-aptly_1.0-1_all.deb", SHA256: changed.Artifact.SHA256, Commit: "c0ffee"})
}

// TestAptlyUnsignedWithPrefixAndAuth publishes unsigned under a prefix,
// through a proxy that wants basic auth, with the password from the
// environment.
func TestAptlyUnsignedWithPrefixAndAuth(t *testing.T) {
	ctx := context.Background()
	srv := testutil.StartAptly(t)
	proxy := testutil.NewAuthProxy(t, srv.URL, "ci", "aptly-pass-123")
	sc := aptlyConfig(proxy.URL)
	sc.Prefix, sc.Repo, sc.Username, sc.PasswordEnv = "team/apps", "apps", "ci", "APTLY_PASSWORD"
	dist := t.TempDir()
	it := makeDeb(t, dist, "hello-aptly", "2.0-1", "all", "x")

	_, err := newStore(t, sc, map[string]string{"APTLY_PASSWORD": "wrong"}).Publish(ctx, it)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
	assert.NotContains(t, err.Error(), "wrong", "no secret in errors")

	st := newStore(t, sc, map[string]string{"APTLY_PASSWORD": "aptly-pass-123"})
	_, err = st.Publish(ctx, it)
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(srv.Root, "public", "team", "apps", "dists", "bookworm", "Release"))
	assert.NoFileExists(t, filepath.Join(srv.Root, "public", "team", "apps", "dists", "bookworm", "InRelease"))
	_, err = st.Publish(ctx, makeDeb(t, dist, "hello-aptly", "2.1-1", "all", "y"))
	require.NoError(t, err, "updates the prefixed publication")
}
