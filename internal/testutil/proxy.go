package testutil

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// FaultProxy sits between a client and a real server: it answers 503 to the
// next Failures requests (with Retry-After: 0), delays requests by Delay, and
// counts the request bytes it passes on.
type FaultProxy struct {
	*httptest.Server
	Failures atomic.Int32
	Delay    atomic.Int64 // nanoseconds
	BytesIn  atomic.Int64
	Requests atomic.Int32
	Failed   atomic.Int32
	// TruncateTags cuts the next TruncateTags tag lists (/v2/…/tags/list) in
	// half, with status 200: a registry or proxy that breaks off.
	TruncateTags atomic.Int32
}

// NewFaultProxy proxies to target (http://host:port) on 127.0.0.1.
func NewFaultProxy(t testing.TB, target string) *FaultProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(res *http.Response) error {
		if !strings.HasSuffix(res.Request.URL.Path, "/tags/list") || res.StatusCode != http.StatusOK {
			return nil
		}
		if p.TruncateTags.Add(-1) < 0 {
			p.TruncateTags.Store(0)
			return nil
		}
		body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		if err != nil {
			return err
		}
		body = body[:len(body)/2]
		res.Body = io.NopCloser(bytes.NewReader(body))
		res.ContentLength = int64(len(body))
		res.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Requests.Add(1)
		if d := time.Duration(p.Delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if p.Failures.Add(-1) >= 0 {
			p.Failed.Add(1)
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Retry-After", "0")
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		p.Failures.Store(0)
		if r.Body != nil {
			r.Body = &countingBody{r.Body, &p.BytesIn}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// NewAuthProxy is a reverse proxy to target that wants basic auth, the way
// production puts aptly behind a web server.
func NewAuthProxy(t testing.TB, target, user, pass string) *httptest.Server {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}
