package httpx

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fast() Options {
	return Options{Timeout: 300 * time.Millisecond, Retries: 4, Backoff: 10 * time.Millisecond, MaxElapsed: 5 * time.Second}
}

func TestRetriesThenSucceeds(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if n.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	var logged []string
	o := fast()
	o.Log = func(f string, a ...any) { logged = append(logged, f) }
	c, err := New(o)
	require.NoError(t, err)
	resp, err := c.Post(srv.URL, "text/plain", strings.NewReader("replayed body"))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "replayed body", string(b), "the body is sent again on each try")
	assert.Equal(t, int32(3), n.Load())
	assert.Len(t, logged, 2)
}

func TestRetryAfterAndGivingUp(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	o := fast()
	o.Retries = 1
	c, _ := New(o)
	start := time.Now()
	resp, err := c.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the last answer is handed back")
	assert.Equal(t, int32(2), n.Load())
	assert.GreaterOrEqual(t, time.Since(start), 500*time.Millisecond, "Retry-After was honoured")
}

func TestNoRetryOnClientErrors(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "no", http.StatusBadRequest)
	}))
	defer srv.Close()
	c, _ := New(fast())
	resp, err := c.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, int32(1), n.Load())
}

func TestTimeoutsAndRefusedConnections(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Second)
	}))
	defer srv.Close()
	o := fast()
	o.Retries = 2
	c, _ := New(o)
	start := time.Now()
	_, err := c.Get(srv.URL)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gave up after 3 attempts")
	assert.Less(t, time.Since(start), 2*time.Second)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	_, err = c.Get("http://" + addr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gave up after 3 attempts")
}

// onlyReader hides bytes.Reader's type, so that the request has no GetBody.
type onlyReader struct{ io.Reader }

func TestLongBodiesAreSentOnceAndZeroRetries(t *testing.T) {
	var n atomic.Int32
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, _ := io.Copy(io.Discard, r.Body)
		got.Store(k)
		n.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	o := fast()
	o.Timeout = 10 * time.Second
	c, err := New(o)
	require.NoError(t, err)
	size := int64(maxReplay + 1<<20)
	resp, err := c.Post(srv.URL, "application/octet-stream", onlyReader{io.LimitReader(zeros{}, size)})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, int32(1), n.Load(), "a body too long to keep is not replayed")
	assert.Equal(t, size, got.Load(), "and is sent whole")

	n.Store(0)
	o.Retries = 0
	c, _ = New(o)
	resp, err = c.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, int32(1), n.Load(), "retries: 0 tries once")
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) { clear(b); return len(b), nil }
