// Package httpx is the HTTP client every store uses: a timeout on each request,
// retries with exponential backoff and jitter on connection errors, 429 and 5xx
// (honouring Retry-After), bounded in count and in time, and TLS verification
// that stays on unless it is turned off for one named host.
package httpx

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// Options configures a client.
type Options struct {
	// Timeout bounds each attempt (default 60 s).
	Timeout time.Duration
	// Retries is how many times a request is tried again; 0 tries once.
	Retries int
	// MaxElapsed bounds all attempts of one request together (default 3 min).
	MaxElapsed time.Duration
	// Backoff is the first wait; it doubles each time (default 500 ms).
	Backoff time.Duration
	// CAFile adds certificate authorities to the system's.
	CAFile string
	// InsecureHost is the one host whose certificate is not verified.
	InsecureHost string
	// Log receives one line per retry.
	Log func(format string, args ...any)
}

// New makes a client.
func New(o Options) (*http.Client, error) {
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	if o.MaxElapsed == 0 {
		o.MaxElapsed = 3 * time.Minute
	}
	if o.Backoff == 0 {
		o.Backoff = 500 * time.Millisecond
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	// Bounds the wait for an answer also where the whole request is not
	// bounded (a long upload sent once).
	base.ResponseHeaderTimeout = o.Timeout
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", o.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	base.TLSClientConfig = tlsConf
	if o.InsecureHost != "" {
		// Verification is off for this one host only: a second transport.
		insecure := base.Clone()
		insecure.TLSClientConfig = tlsConf.Clone()
		insecure.TLSClientConfig.InsecureSkipVerify = true
		return &http.Client{Transport: &Retry{Next: &hostSwitch{host: o.InsecureHost, insecure: insecure, secure: base}, O: o}}, nil
	}
	return &http.Client{Transport: &Retry{Next: base, O: o}}, nil
}

type hostSwitch struct {
	host             string
	insecure, secure http.RoundTripper
}

func (h *hostSwitch) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Hostname() == h.host {
		return h.insecure.RoundTrip(r)
	}
	return h.secure.RoundTrip(r)
}

// maxReplay is the longest request body kept for retries.
const maxReplay = 64 << 20

// Retry is a RoundTripper that retries what is worth retrying.
type Retry struct {
	Next http.RoundTripper
	O    Options
}

// Retryable reports whether a status is worth another try.
func Retryable(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500 && code != http.StatusNotImplemented
}

func (t *Retry) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	// The body must be readable again for a retry: a body without GetBody is
	// kept in memory, up to maxReplay; a longer one (a large image layer) is
	// streamed and sent once.
	var body []byte
	if req.Body != nil && req.GetBody == nil {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxReplay+1))
		if err != nil {
			req.Body.Close()
			return nil, err
		}
		if len(b) > maxReplay {
			r := req.Clone(req.Context())
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(b), req.Body), req.Body}
			return t.Next.RoundTrip(r)
		}
		req.Body.Close()
		body = b
	}
	wait := t.O.Backoff
	for attempt := 0; ; attempt++ {
		r := req.Clone(req.Context())
		switch {
		case body != nil:
			r.Body = io.NopCloser(bytes.NewReader(body))
		case req.GetBody != nil && attempt > 0:
			b, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = b
		}
		ctx, cancel := context.WithTimeout(req.Context(), t.O.Timeout)
		r = r.WithContext(ctx)
		resp, err := t.Next.RoundTrip(r)
		retry := false
		var why string
		switch {
		case err != nil:
			retry = retryableError(req.Context(), err)
			why = err.Error()
		case Retryable(resp.StatusCode):
			retry = true
			why = resp.Status
			if ra := retryAfter(resp.Header.Get("Retry-After")); ra > 0 {
				wait = ra
			}
		}
		if !retry || attempt >= t.O.Retries || time.Since(start)+wait > t.O.MaxElapsed {
			if resp != nil {
				resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
			} else {
				cancel()
			}
			if err != nil && req.Context().Err() == nil && isTimeout(err) {
				// Two timers can fire (the attempt's deadline, the transport's
				// header timeout): one message for both.
				err = fmt.Errorf("%w: no answer within %s (raise the timeout setting if the server is this slow)", err, t.O.Timeout)
			}
			if err != nil && retry {
				err = fmt.Errorf("%w (gave up after %d attempts in %s)", err, attempt+1, time.Since(start).Round(time.Millisecond))
			}
			return resp, err
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		cancel()
		// Full jitter on the exponential backoff.
		sleep := wait/2 + time.Duration(rand.Int64N(int64(wait/2)+1))
		if t.O.Log != nil {
			t.O.Log("%s %s: %s; retrying in %s (attempt %d of %d)", req.Method, redact(req), why, sleep.Round(time.Millisecond), attempt+2, t.O.Retries+1)
		}
		select {
		case <-time.After(sleep):
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
		wait *= 2
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// redact prints a URL without its credentials.
func redact(r *http.Request) string {
	u := *r.URL
	u.User = nil
	return u.String()
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func retryableError(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false // the caller gave up
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, context.DeadlineExceeded)
}

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}
