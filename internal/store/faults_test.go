package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

// logs collects the retry lines a store logs.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func storeWithLog(t *testing.T, sc config.StoreConfig, env map[string]string) (Store, *logs) {
	t.Helper()
	l := &logs{}
	c := &config.Config{Dir: t.TempDir()}
	c.Project.Name = "hello"
	st, err := New(sc, Env{Config: c, Getenv: func(k string) string { return env[k] }, Log: l.printf})
	require.NoError(t, err)
	return st, l
}

// TestRetriesThrough503 puts a proxy that answers 503 a few times in front
// of each real server: the publish retries and succeeds.
func TestRetriesThrough503(t *testing.T) {
	ctx := context.Background()
	dist := t.TempDir()
	t.Run("aptly", func(t *testing.T) {
		srv := testutil.StartAptly(t)
		proxy := testutil.NewFaultProxy(t, srv.URL)
		proxy.Failures.Store(3)
		st, l := storeWithLog(t, aptlyConfig(proxy.URL), nil)
		_, err := st.Publish(ctx, makeDeb(t, dist, "hello-faults", "1.0-1", "all", "x"))
		require.NoError(t, err)
		assert.Equal(t, int32(3), proxy.Failed.Load())
		assert.Contains(t, l.String(), "503 Service Unavailable; retrying in")
	})
	t.Run("registry", func(t *testing.T) {
		reg := testutil.StartRegistry(t, false)
		proxy := testutil.NewFaultProxy(t, "http://"+reg.Host)
		sc := config.DefaultStore("registry", "registry")
		sc.Repository = strings.TrimPrefix(proxy.URL, "http://") + "/hello"
		st, l := storeWithLog(t, sc, nil)
		proxy.Failures.Store(3)
		it := newTestImage(t, 1<<20).item(t, dist, "oci", "1.0.0", "x")
		_, err := st.Publish(ctx, it)
		require.NoError(t, err)
		assert.Equal(t, int32(3), proxy.Failed.Load())
		assert.Contains(t, l.String(), "503")
		assert.Equal(t, it.Artifact.Digest, skopeo(t, "--tls-verify=false", "docker://"+reg.Host+"/hello:1.0.0")["Digest"])
	})
	t.Run("pypi", func(t *testing.T) {
		srv := testutil.NewPyPI(t, token)
		proxy := testutil.NewFaultProxy(t, srv.URL)
		sc := config.DefaultStore("pypi", "pypi")
		sc.URL, sc.IndexURL, sc.PasswordEnv = proxy.URL+"/legacy/", proxy.URL+"/simple/", "PYPI_TOKEN"
		st, _ := storeWithLog(t, sc, map[string]string{"PYPI_TOKEN": token})
		proxy.Failures.Store(2)
		_, err := st.Publish(ctx, makeWheel(t, dist, "hello-lib", "1.0.0"))
		require.NoError(t, err)
		assert.Len(t, srv.Uploads(), 1, "uploaded once")
	})
}

// TestTruncatedTagList puts a proxy that cuts tag lists short in front of a
// real registry: a few cut answers are asked again and the publish lands; a
// registry that always cuts them fails the publish before any tag is written.
func TestTruncatedTagList(t *testing.T) {
	ctx := context.Background()
	dist := t.TempDir()
	reg := testutil.StartRegistry(t, false)
	proxy := testutil.NewFaultProxy(t, "http://"+reg.Host)
	sc := config.DefaultStore("registry", "registry")
	sc.Repository = strings.TrimPrefix(proxy.URL, "http://") + "/hello"
	st, l := storeWithLog(t, sc, nil)
	img := newTestImage(t, 1<<16)
	_, err := st.Publish(ctx, img.item(t, dist, "oci", "1.0.0", "x"))
	require.NoError(t, err)

	proxy.TruncateTags.Store(2)
	_, err = st.Publish(ctx, img.item(t, dist, "oci", "1.1.0", "x"))
	require.NoError(t, err, l.String())
	assert.Contains(t, l.String(), "is no tag list")
	assert.Contains(t, l.String(), "asking again")

	proxy.TruncateTags.Store(100)
	_, err = st.Publish(ctx, img.item(t, dist, "oci", "1.2.0", "x"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "list the tags")
	assert.Contains(t, err.Error(), "no tag was written")
	proxy.TruncateTags.Store(0)
	tags := skopeoTags(t, reg.Host+"/hello")
	assert.ElementsMatch(t, []string{"1.0.0", "1.1.0", "1.0", "1.1", "1", "latest"}, tags, "1.2.0 and its floating tags were not written")
}

// TestServerStoppedMidRun stops the registry while an image is being pushed:
// the publish fails cleanly within its bounds, and the registry holds no tag
// for the half-pushed image.
func TestServerStoppedMidRun(t *testing.T) {
	ctx := context.Background()
	reg := testutil.StartRegistry(t, false)
	proxy := testutil.NewFaultProxy(t, "http://"+reg.Host)
	proxy.Delay.Store(int64(150 * time.Millisecond))
	sc := config.DefaultStore("registry", "registry")
	sc.Repository = strings.TrimPrefix(proxy.URL, "http://") + "/hello"
	sc.Retries = 2
	st, l := storeWithLog(t, sc, nil)
	it := newTestImage(t, 1<<20).item(t, t.TempDir(), "oci", "1.0.0", "x")
	done := make(chan error)
	start := time.Now()
	go func() { _, err := st.Publish(ctx, it); done <- err }()
	for proxy.Requests.Load() < 3 {
		time.Sleep(10 * time.Millisecond)
	}
	reg.Stop()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the publish did not give up")
	}
	require.Error(t, err)
	assert.Less(t, time.Since(start), 20*time.Second)
	assert.Contains(t, err.Error(), "502 Bad Gateway", "the proxy says the registry is gone")
	assert.Contains(t, l.String(), "retrying")
	_, statErr := os.Stat(filepath.Join(reg.Data, "docker/registry/v2/repositories/hello/_manifests/tags/1.0.0"))
	assert.True(t, os.IsNotExist(statErr), "no tag names a half-pushed image")
}

// TestAptlyStoppedMidRun stops aptly between the upload and the publish of a
// second version: the publish fails, and the published repository is still
// the first one, whole.
func TestAptlyStoppedMidRun(t *testing.T) {
	ctx := context.Background()
	srv := testutil.StartAptly(t)
	proxy := testutil.NewFaultProxy(t, srv.URL)
	sc := aptlyConfig(proxy.URL)
	sc.Retries = 1
	st, _ := storeWithLog(t, sc, nil)
	dist := t.TempDir()
	_, err := st.Publish(ctx, makeDeb(t, dist, "hello-faults", "1.0-1", "all", "one"))
	require.NoError(t, err)
	dists := filepath.Join(srv.Root, "public", "dists", "bookworm")
	before, err := os.ReadFile(filepath.Join(dists, "Release"))
	require.NoError(t, err)

	proxy.Delay.Store(int64(100 * time.Millisecond))
	proxy.Requests.Store(0)
	done := make(chan error)
	go func() {
		_, err := st.Publish(ctx, makeDeb(t, dist, "hello-faults", "1.1-1", "all", "two"))
		done <- err
	}()
	// ensureRepo, Existing, upload, add: then aptly goes away.
	for proxy.Requests.Load() < 4 {
		time.Sleep(5 * time.Millisecond)
	}
	srv.Stop()
	require.Error(t, <-done)
	after, err := os.ReadFile(filepath.Join(dists, "Release"))
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "the publication was not switched")
	for f, sum := range parseSHA256(after) {
		if _, err := os.Stat(filepath.Join(dists, f)); err == nil {
			assert.Equal(t, sum, sha256Of(t, filepath.Join(dists, f)), f)
		}
	}
}

// TestSlowServer: a server slower than the timeout fails within the bounds
// of timeout and retries; one slower than usual but within it succeeds.
func TestSlowServer(t *testing.T) {
	ctx := context.Background()
	srv := testutil.NewPyPI(t, token)
	proxy := testutil.NewFaultProxy(t, srv.URL)
	sc := config.DefaultStore("pypi", "pypi")
	sc.URL, sc.IndexURL, sc.PasswordEnv = proxy.URL+"/legacy/", proxy.URL+"/simple/", "PYPI_TOKEN"
	sc.Timeout, sc.Retries = "400ms", 1
	dist := t.TempDir()

	proxy.Delay.Store(int64(2 * time.Second))
	st, l := storeWithLog(t, sc, map[string]string{"PYPI_TOKEN": token})
	start := time.Now()
	_, err := st.Publish(ctx, makeWheel(t, dist, "hello-lib", "1.0.0"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no answer within 400ms")
	assert.Contains(t, err.Error(), "gave up after 2 attempts")
	assert.Contains(t, l.String(), "retrying")
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.Empty(t, srv.Uploads())

	proxy.Delay.Store(int64(150 * time.Millisecond))
	_, err = st.Publish(ctx, makeWheel(t, dist, "hello-lib", "1.0.0"))
	require.NoError(t, err)
}

// skopeoTags lists a repository's tags with skopeo, the reference client.
func skopeoTags(t *testing.T, repo string) []string {
	t.Helper()
	out, err := exec.Command("skopeo", "list-tags", "--tls-verify=false", "docker://"+repo).CombinedOutput()
	require.NoError(t, err, "%s", out)
	var l struct{ Tags []string }
	require.NoError(t, json.Unmarshal(out, &l))
	return l.Tags
}
