package store

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gopythongo/gopythongo/internal/config"
)

// The stores decode what servers answer and what .deb files hold: each
// decoder is fuzzed as a hostile server or file would feed it.

func FuzzParseSimple(f *testing.F) {
	f.Add([]byte(`{"meta":{"api-version":"1.0"},"name":"hello","files":[{"filename":"hello-1.0-py3-none-any.whl","hashes":{"sha256":"ab"}}]}`), true)
	f.Add([]byte(`<html><body><a href="../../packages/hello-1.0.tar.gz#sha256=ab">hello-1.0.tar.gz</a></body></html>`), false)
	f.Fuzz(func(t *testing.T, body []byte, json bool) {
		ct := "text/html"
		if json {
			ct = "application/vnd.pypi.simple.v1+json"
		}
		parseSimple(body, ct, "hello")
	})
}

// FuzzDebControl reads .deb files: a real one, then whatever the fuzzer makes.
func FuzzDebControl(f *testing.F) {
	files, _ := filepath.Glob("/var/cache/apt/archives/*.deb")
	for i, p := range files {
		if fi, err := os.Stat(p); err == nil && fi.Size() < 64<<10 && i < 3 {
			b, _ := os.ReadFile(p)
			f.Add(b)
		}
	}
	f.Add([]byte("!<arch>\ndebian-binary   0           0     0     100644  4         `\n2.0\ncontrol.tar     0           0     0     100644  0         `\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "x.deb")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		DebControl(p)
	})
}

// fuzzServer answers every request with the body the fuzzer gives.
func fuzzServer(f *testing.F, contentType string) (*httptest.Server, *atomic.Pointer[[]byte]) {
	var body atomic.Pointer[[]byte]
	empty := []byte{}
	body.Store(&empty)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		w.Write(*body.Load())
	}))
	f.Cleanup(srv.Close)
	return srv, &body
}

func fuzzStore(f *testing.F, sc config.StoreConfig) Store {
	c := &config.Config{Dir: f.TempDir()}
	c.Project.Name = "hello"
	sc.Retries = 0
	st, err := New(sc, Env{Config: c, Getenv: func(string) string { return "" }})
	if err != nil {
		f.Fatal(err)
	}
	return st
}

// FuzzAptlyAnswer feeds aptly's package query answers to Existing.
func FuzzAptlyAnswer(f *testing.F) {
	srv, body := fuzzServer(f, "application/json")
	sc := config.DefaultStore("aptly", "aptly")
	sc.URL = srv.URL
	st := fuzzStore(f, sc)
	f.Add([]byte(`[{"Version":"1.0-1","Architecture":"all","Filename":"hello_1.0-1_all.deb","SHA256":"ab","GoPythonGo-Commit":"x"}]`))
	f.Add([]byte(`[{"Version":1}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		body.Store(&data)
		st.Existing(context.Background(), "hello")
	})
}

// FuzzRegistryAnswer feeds tag lists and manifests to the registry store.
func FuzzRegistryAnswer(f *testing.F) {
	srv, body := fuzzServer(f, "application/json")
	sc := config.DefaultStore("registry", "registry")
	sc.Repository = strings.TrimPrefix(srv.URL, "http://") + "/hello"
	st := fuzzStore(f, sc)
	f.Add([]byte(`{"name":"hello","tags":["1.0.0","latest","1.0"]}`))
	f.Add([]byte(`{"name":"hello","tags":["1.0.0"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		body.Store(&data)
		st.Existing(context.Background(), "hello")
	})
}
