package store

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

// realIndexes are the index servers users run, started by the tests.
var realIndexes = []struct {
	name  string
	start func(t testing.TB) *testutil.Index
}{
	{"pypiserver", func(t testing.TB) *testutil.Index { return testutil.StartPypiserver(t, true) }},
	{"devpi", testutil.StartDevpi},
}

// realTwine uploads with the pinned twine.
func realTwine(t *testing.T, ix *testutil.Index, files ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(testutil.PyTool(t, "twine"), append([]string{"upload", "--non-interactive", "--disable-progress-bar", "--repository-url", ix.Upload}, files...)...)
	cmd.Env = append(testutil.CleanEnv(), "TWINE_USERNAME="+ix.User, "TWINE_PASSWORD="+ix.Pass, "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestPyPIStoreOnRealServers publishes to pypiserver (htpasswd) and
// devpi-server with credentials: uploads, a rerun that uploads nothing,
// other bytes refused with both hashes, a refused password, the revisions
// revision_from reads, and twine and pip against the same server.
func TestPyPIStoreOnRealServers(t *testing.T) {
	for _, srv := range realIndexes {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ix := srv.start(t)
			sc := config.DefaultStore("index", "pypi")
			sc.URL, sc.IndexURL, sc.Username, sc.PasswordEnv = ix.Upload, ix.URL, ix.User, "INDEX_PASS"
			st := newStore(t, sc, map[string]string{"INDEX_PASS": ix.Pass})
			dist := t.TempDir()
			wheel, sdist := makeWheel(t, dist, "hello-lib", "1.0.0"), makeSdist(t, dist, "hello-lib", "1.0.0", "")
			post := makeWheel(t, dist, "hello-lib", "1.0.0.post1")
			for _, it := range []Item{wheel, sdist, post} {
				pub, err := st.Publish(ctx, it)
				require.NoError(t, err)
				assert.False(t, pub.Unchanged)
			}
			rels, err := st.Existing(ctx, "Hello_Lib")
			require.NoError(t, err)
			assert.ElementsMatch(t, []Release{
				{Name: "Hello_Lib", Version: "1.0.0", File: filepath.Base(wheel.Path()), SHA256: wheel.Artifact.SHA256},
				{Name: "Hello_Lib", Version: "1.0.0", File: filepath.Base(sdist.Path()), SHA256: sdist.Artifact.SHA256},
				{Name: "Hello_Lib", Version: "1.0.0.post1", File: filepath.Base(post.Path()), SHA256: post.Artifact.SHA256},
			}, rels, "what revision_from reads: both revisions with their hashes")

			// A rerun asks the index and uploads nothing: a second store
			// with a wrong password would fail to upload.
			wrong := newStore(t, sc, map[string]string{"INDEX_PASS": "wrong-pass"})
			if srv.name == "devpi" { // devpi reads are open, so the check runs without credentials
				pub, err := wrong.Publish(ctx, wheel)
				require.NoError(t, err)
				assert.True(t, pub.Unchanged)
			}
			pub, err := st.Publish(ctx, wheel)
			require.NoError(t, err)
			assert.True(t, pub.Unchanged)

			changed := makeSdist(t, t.TempDir(), "hello-lib", "1.0.0", "changed")
			_, err = st.Publish(ctx, changed)
			require.Error(t, err)
			assert.Contains(t, err.Error(), sdist.Artifact.SHA256)
			assert.Contains(t, err.Error(), changed.Artifact.SHA256)

			_, err = wrong.Publish(ctx, makeWheel(t, t.TempDir(), "hello-lib", "2.0.0"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "$INDEX_PASS")
			assert.Contains(t, err.Error(), "refused")
			assert.NotContains(t, err.Error(), "wrong-pass")

			if srv.name == "devpi" {
				// devpi keeps the upload's metadata fields: the repeated
				// ones repeated, the description, requires_python.
				req, err := http.NewRequest(http.MethodGet, ix.Upload+"hello-lib/1.0.0", nil)
				require.NoError(t, err)
				req.Header.Set("Accept", "application/json")
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				var meta struct {
					Result map[string]any `json:"result"`
				}
				require.NoError(t, json.NewDecoder(resp.Body).Decode(&meta))
				assert.Equal(t, []any{"Programming Language :: Python :: 3", "License :: OSI Approved :: MIT License"}, meta.Result["classifiers"])
				assert.Equal(t, ">=3.9", meta.Result["requires_python"])
				assert.NotEmpty(t, meta.Result["description"])
			}

			// twine uploads to the same server, and the store sees it.
			other := t.TempDir()
			w2 := makeWheel(t, other, "hello-lib", "1.1.0")
			out, err := realTwine(t, ix, w2.Path())
			require.NoError(t, err, out)
			rels, err = st.Existing(ctx, "hello-lib")
			require.NoError(t, err)
			assert.Contains(t, rels, Release{Name: "hello-lib", Version: "1.1.0", File: filepath.Base(w2.Path()), SHA256: w2.Artifact.SHA256})
			out, err = realTwine(t, ix, changed.Path())
			assert.Error(t, err, "the server refuses twine other bytes under a name the store uploaded: %s", out)

			// pip installs what the store uploaded, with the credentials.
			target := t.TempDir()
			cmd := exec.Command(testutil.DebianPython, "-m", "pip", "install", "-q", "--no-deps", "--target", target, "--index-url", ix.AuthURL(), "hello-lib==1.0.0.post1")
			cmd.Env = append(testutil.CleanEnv(), "HOME="+t.TempDir())
			b, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", b)
			infos, _ := filepath.Glob(filepath.Join(target, "hello_lib-1.0.0.post1.dist-info"))
			assert.Len(t, infos, 1)
			assert.False(t, strings.Contains(string(b), ix.Pass))
			_ = os.RemoveAll(target)
		})
	}
}
