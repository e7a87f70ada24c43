package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

// dirDigest is every path, mode and content below dir ("" when there is no
// dir): what a dry run must leave as it was.
func dirDigest(t testing.TB, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h.Write([]byte(rel + "\x00" + fi.Mode().String() + "\x00"))
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if os.IsNotExist(err) {
		return ""
	}
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}

// dryRunCase is a store with three artifacts: two versions, and other bytes
// under the first version; storage is where the store (or its server)
// keeps what it holds.
type dryRunCase struct {
	name  string
	setup func(t *testing.T, dist string) (st Store, first, next, changed Item, storage string)
	dir   bool // a directory store: there is no storage before the first publish
}

// TestDryRunWritesNothing holds each of the six stores, three of them real
// servers (aptly, docker-registry, pypiserver), to the dry run's promise: it
// answers as Publish would (a new artifact, the same one already there, or
// other bytes under a held version refused with both hashes), the
// publication it describes is the one Publish then makes, and the storage
// is byte for byte as it was: no file, no directory, no lock, no upload.
func TestDryRunWritesNothing(t *testing.T) {
	cases := []dryRunCase{
		{name: "apt-dir", dir: true, setup: func(t *testing.T, dist string) (Store, Item, Item, Item, string) {
			root := filepath.Join(t.TempDir(), "apt")
			sc := config.DefaultStore("apt", "apt-dir")
			sc.Path, sc.Distribution = root, "bookworm"
			return newStore(t, sc, nil), makeDeb(t, dist, "hello", "1.0-1", "all", "one"), makeDeb(t, dist, "hello", "1.1-1", "all", "two"),
				makeDeb(t, t.TempDir(), "hello", "1.0-1", "all", "changed"), root
		}},
		{name: "aptly", setup: func(t *testing.T, dist string) (Store, Item, Item, Item, string) {
			srv := testutil.StartAptly(t)
			sc := aptlyConfig(srv.URL)
			sc.GPGKey = srv.KeyID
			return newStore(t, sc, nil), makeDeb(t, dist, "hello", "1.0-1", "all", "one"), makeDeb(t, dist, "hello", "1.1-1", "all", "two"),
				makeDeb(t, t.TempDir(), "hello", "1.0-1", "all", "changed"), srv.Root
		}},
		{name: "registry", setup: func(t *testing.T, dist string) (Store, Item, Item, Item, string) {
			reg := testutil.StartRegistry(t, false)
			sc := config.DefaultStore("registry", "registry")
			sc.Repository = reg.Host + "/team/hello"
			img := newTestImage(t, 1<<20)
			return newStore(t, sc, nil), img.item(t, dist, "oci-1", "1.2.3", "one"), img.item(t, dist, "oci-2", "1.3.0", "two"),
				img.item(t, dist, "oci-3", "1.2.3", "changed"), reg.Data
		}},
		{name: "oci-dir", dir: true, setup: func(t *testing.T, dist string) (Store, Item, Item, Item, string) {
			root := filepath.Join(t.TempDir(), "images")
			sc := config.DefaultStore("images", "oci-dir")
			sc.Path = root
			img := newTestImage(t, 4096)
			return newStore(t, sc, nil), img.item(t, dist, "oci-1", "1.2.3", "one"), img.item(t, dist, "oci-2", "1.3.0", "two"),
				img.item(t, dist, "oci-3", "1.2.3", "changed"), root
		}},
		{name: "pypi (pypiserver)", setup: func(t *testing.T, dist string) (Store, Item, Item, Item, string) {
			ix := testutil.StartPypiserver(t, true)
			sc := config.DefaultStore("index", "pypi")
			sc.URL, sc.IndexURL, sc.Username, sc.PasswordEnv = ix.Upload, ix.URL, ix.User, "INDEX_PASS"
			return newStore(t, sc, map[string]string{"INDEX_PASS": ix.Pass}), makeSdist(t, dist, "hello", "1.0.0", ""), makeSdist(t, dist, "hello", "1.1.0", ""),
				makeSdist(t, t.TempDir(), "hello", "1.0.0", "changed"), ix.Dir
		}},
		{name: "pypi-dir", dir: true, setup: func(t *testing.T, dist string) (Store, Item, Item, Item, string) {
			root := filepath.Join(t.TempDir(), "pypi")
			sc := config.DefaultStore("py", "pypi-dir")
			sc.Path = root
			return newStore(t, sc, nil), makeWheel(t, dist, "hello", "1.0.0"), makeWheel(t, dist, "hello", "1.1.0"),
				makeWheel(t, t.TempDir(), "hello", "1.0.0", "changed"), root
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dist := t.TempDir()
			st, first, next, changed, storage := tc.setup(t, dist)
			dry := func(it Item) Item { it.DryRun = true; return it }

			// A server may make its storage on the first read; that is not ours.
			_, err := st.Existing(ctx, "hello")
			require.NoError(t, err)
			before := dirDigest(t, storage)
			if tc.dir {
				assert.Empty(t, before, "no directory before the first publish")
			}
			plan, err := st.Publish(ctx, dry(first))
			require.NoError(t, err)
			assert.False(t, plan.Unchanged, "an empty store holds nothing")
			assert.Equal(t, before, dirDigest(t, storage), "a dry run into an empty store makes nothing, not even its directory")
			pub, err := st.Publish(ctx, first)
			require.NoError(t, err)
			assert.Equal(t, plan.Reference, pub.Reference, "the dry run names the reference Publish makes")
			assert.Equal(t, plan.Tags, pub.Tags, "and its tags")

			before = dirDigest(t, storage)
			require.NotEmpty(t, before)
			plan, err = st.Publish(ctx, dry(first))
			require.NoError(t, err)
			assert.True(t, plan.Unchanged, "the same artifact is already there")
			plan, err = st.Publish(ctx, dry(next))
			require.NoError(t, err)
			assert.False(t, plan.Unchanged)
			_, err = st.Publish(ctx, dry(changed))
			require.Error(t, err, "other bytes under a held version are refused in a dry run too")
			held := first.Artifact.SHA256
			if held == "" {
				held = strings.TrimPrefix(first.Artifact.Digest, "sha256:")
			}
			assert.Contains(t, err.Error(), held, "naming the held artifact's hash")
			over := dry(changed)
			over.Overwrite = true
			if tc.name != "pypi (pypiserver)" { // PyPI never reuses a file name, overwrite or not
				_, err = st.Publish(ctx, over)
				require.NoError(t, err, "with --overwrite the dry run says it would replace")
			}
			assert.Equal(t, before, dirDigest(t, storage), "dry runs leave the storage byte for byte as it was")

			pub, err = st.Publish(ctx, next)
			require.NoError(t, err)
			assert.Equal(t, plan.Reference, pub.Reference)
			assert.Equal(t, plan.Tags, pub.Tags, "the tags the dry run named are the ones set")
			assert.NotEqual(t, before, dirDigest(t, storage), "a real publish does change the storage (the digest sees it)")
		})
	}
}
