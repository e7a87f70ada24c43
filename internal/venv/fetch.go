package venv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gopythongo/gopythongo/internal/httpx"
	"github.com/gopythongo/gopythongo/internal/lock"
	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/python/pep508"
	"github.com/gopythongo/gopythongo/internal/state"
)

// maxDownload bounds one distribution file: the largest wheels on PyPI are a
// few hundred MiB.
const maxDownload = 4 << 30

// fetcher gets locked files by their hash: from the wheel cache, venv.find_links,
// the configured indexes, then where the lock says. Whatever the source, the
// bytes must have the locked sha256, so a mirror serves as well as the origin.
type fetcher struct {
	cache     *Cache
	findLinks []string // directories
	indexes   []string // simple index URLs, credentials expanded
	noIndex   bool
	client    *http.Client
	scratch   string
	pages     map[string][]python.IndexFile // by index URL + project
}

func (b *build) newFetcher() (*fetcher, error) {
	c := b.c
	f := &fetcher{cache: b.cache, noIndex: c.Venv.NoIndex, scratch: b.scratch("downloads"), pages: map[string][]python.IndexFile{}}
	for _, fl := range c.Venv.FindLinks {
		if !strings.Contains(fl, "://") {
			f.findLinks = append(f.findLinks, c.Path(fl))
		}
	}
	if !c.Venv.NoIndex {
		urls := append([]string{c.Venv.IndexURL}, c.Venv.ExtraIndexURLs...)
		if c.Venv.IndexURL == "" {
			urls[0] = "https://pypi.org/simple"
		}
		for _, u := range urls {
			expanded, _, err := expand(u, b.o.Getenv)
			if err != nil {
				return nil, fmt.Errorf("venv.index_url: %w", err)
			}
			f.indexes = append(f.indexes, strings.TrimSuffix(expanded, "/"))
		}
	}
	insecure := ""
	if len(c.Venv.TrustedHosts) > 0 {
		insecure = c.Venv.TrustedHosts[0]
	}
	client, err := httpx.New(httpx.Options{Retries: 3, InsecureHost: insecure, Log: b.o.Log.Printf})
	if err != nil {
		return nil, err
	}
	f.client = client
	return f, os.MkdirAll(f.scratch, 0o755)
}

// candidates are the files a package may be installed from: the lock's own,
// or for a requirements lock (hashes only) the files of that version in
// find_links and the indexes whose hash is pinned.
func (f *fetcher) candidates(ctx context.Context, p lock.Package) ([]lock.File, error) {
	if len(p.Hashes) == 0 {
		out := append([]lock.File(nil), p.Wheels...)
		if p.Sdist != nil {
			out = append(out, *p.Sdist)
		}
		return out, nil
	}
	pinned := map[string]bool{}
	for _, h := range p.Hashes {
		pinned[h] = true
	}
	var out []lock.File
	seen := map[string]bool{}
	add := func(file lock.File) {
		if pinned[file.SHA256] && !seen[file.SHA256] && fileOf(file.Name, p) {
			seen[file.SHA256] = true
			out = append(out, file)
		}
	}
	for _, dir := range f.findLinks {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if fileOf(e.Name(), p) {
				sum, err := sha256File(filepath.Join(dir, e.Name()))
				if err == nil {
					add(lock.File{Name: e.Name(), SHA256: sum})
				}
			}
		}
	}
	for _, ix := range f.indexes {
		files, err := f.page(ctx, ix, p.Name)
		if err != nil {
			return nil, err
		}
		for _, file := range files {
			add(lock.File{Name: file.File, URL: file.URL, SHA256: file.SHA256})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s %s: no file with a pinned hash in venv.find_links or the indexes (%d hash(es) pinned); is the index the one the lock was made against?", p.Name, p.Version, len(p.Hashes))
	}
	return out, nil
}

// fileOf reports whether a file name is a distribution of p's name and version.
func fileOf(name string, p lock.Package) bool {
	if w, err := python.ParseWheelName(name); err == nil {
		return python.Normalize(w.Name) == p.Name && versionEqual(w.Version, p.Version)
	}
	for _, ext := range []string{".tar.gz", ".zip"} {
		if stem, ok := strings.CutSuffix(name, ext); ok {
			i := strings.LastIndex(stem, "-")
			return i > 0 && python.Normalize(stem[:i]) == p.Name && versionEqual(stem[i+1:], p.Version)
		}
	}
	return false
}

func versionEqual(a, b string) bool {
	s, err := pep508.ParseSpecifier("==" + b)
	return err == nil && s.Contains(a)
}

// page reads (once) an index's project page.
func (f *fetcher) page(ctx context.Context, index, name string) ([]python.IndexFile, error) {
	key := index + "\x00" + name
	if files, ok := f.pages[key]; ok {
		return files, nil
	}
	u := index + "/" + python.Normalize(name) + "/"
	body, ctype, err := f.get(ctx, u, 64<<20, "application/vnd.pypi.simple.v1+json, text/html;q=0.1")
	if err != nil {
		return nil, err
	}
	page, _ := url.Parse(u)
	files, err := python.ParseSimplePage(body, ctype, page)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", redactURL(u), err)
	}
	f.pages[key] = files
	return files, nil
}

// get reads a URL into memory, bounded; 404 is no error but no body.
func (f *fetcher) get(ctx context.Context, u string, limit int64, accept string) ([]byte, string, error) {
	req, err := newRequest(ctx, u)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", accept)
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("ask %s: %w", redactURL(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, "", nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("ask %s: %s%s", redactURL(u), resp.Status, authHint(resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", redactURL(u), err)
	}
	if int64(len(body)) > limit {
		return nil, "", fmt.Errorf("%s is larger than %d bytes", redactURL(u), limit)
	}
	return body, resp.Header.Get("Content-Type"), nil
}

func authHint(code int) string {
	if code == http.StatusUnauthorized || code == http.StatusForbidden {
		return " (credentials go into the index URL as ${VAR} references: venv.index_url)"
	}
	return ""
}

// newRequest makes a GET with the URL's user information as basic auth.
func newRequest(ctx context.Context, raw string) (*http.Request, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s is no URL: %w", redactURL(raw), err)
	}
	user := u.User
	u.User = nil
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if user != nil {
		pass, _ := user.Password()
		req.SetBasicAuth(user.Username(), pass)
	}
	return req, nil
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = url.User("***")
	return u.String()
}

// fetch gets one file, verified, into the cache; it returns its path there.
func (f *fetcher) fetch(ctx context.Context, p lock.Package, file lock.File) (string, error) {
	// The name comes from the lock or an index: it is joined to directories
	// below, so it must be a distribution file of this package and nothing
	// else (no path, no "..").
	if strings.ContainsAny(file.Name, "/\\\x00") || strings.HasPrefix(file.Name, ".") || !fileOf(file.Name, p) {
		return "", fmt.Errorf("%s %s: %q is not a file name of a wheel or sdist of %s %s; the lock or the index is wrong", p.Name, p.Version, file.Name, p.Name, p.Version)
	}
	if len(file.SHA256) != 64 {
		return "", fmt.Errorf("%s %s: %s has no sha256 to verify it by", p.Name, p.Version, file.Name)
	}
	if path, ok := f.cache.Find(file.SHA256, file.Name); ok {
		return path, nil
	}
	for _, dir := range f.findLinks {
		src := filepath.Join(dir, file.Name)
		if sum, err := sha256File(src); err == nil {
			if sum != file.SHA256 {
				return "", hashError(p, file, src, sum)
			}
			return f.cache.PutFile(src, sum)
		}
	}
	if f.noIndex {
		return "", fmt.Errorf("%s %s: %s is not in the wheel cache or venv.find_links, and venv.no_index forbids downloading it", p.Name, p.Version, file.Name)
	}
	urls := f.urlsFor(ctx, p, file)
	if len(urls) == 0 {
		return "", fmt.Errorf("%s %s: %s is on none of the indexes (%s) and the lock names no URL for it", p.Name, p.Version, file.Name, strings.Join(redactAll(f.indexes), ", "))
	}
	var last error
	for _, u := range urls {
		path, err := f.download(ctx, p, file, u)
		if err == nil {
			return path, nil
		}
		if _, isHash := err.(*HashError); isHash {
			return "", err
		}
		last = err
	}
	return "", last
}

// urlsFor lists where a file may be downloaded: the configured indexes
// first (a mirror), then the lock's URL, with the credentials of the
// configured index on the same host.
func (f *fetcher) urlsFor(ctx context.Context, p lock.Package, file lock.File) []string {
	var out []string
	for _, ix := range f.indexes {
		files, err := f.page(ctx, ix, p.Name)
		if err != nil {
			continue
		}
		for _, x := range files {
			if x.File == file.Name {
				out = append(out, withCredentials(x.URL, f.indexes))
			}
		}
	}
	if file.URL != "" {
		out = append(out, withCredentials(file.URL, f.indexes))
	}
	// poetry.lock names only the source index of each package.
	if ix := strings.TrimSuffix(p.Index, "/"); file.URL == "" && ix != "" && !slices.Contains(redactAll(f.indexes), ix) {
		if files, err := f.page(ctx, withCredentials(ix, f.indexes), p.Name); err == nil {
			for _, x := range files {
				if x.File == file.Name {
					out = append(out, withCredentials(x.URL, f.indexes))
				}
			}
		}
	}
	return out
}

// withCredentials adds the user information of a configured index on the
// same host to a URL that has none.
func withCredentials(raw string, indexes []string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		return raw
	}
	for _, ix := range indexes {
		iu, err := url.Parse(ix)
		if err == nil && iu.User != nil && iu.Host == u.Host {
			u.User = iu.User
			return u.String()
		}
	}
	return raw
}

func redactAll(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = redactURL(u)
	}
	return out
}

// HashError means a file's bytes do not have the locked hash.
type HashError struct {
	Package, Version, File, From, Want, Got string
}

func (e *HashError) Error() string {
	return fmt.Sprintf("%s %s: %s from %s has sha256 %s, the lock pins %s: the file was changed or the lock is wrong; nothing is installed from it", e.Package, e.Version, e.File, e.From, e.Got, e.Want)
}

func hashError(p lock.Package, file lock.File, from, got string) error {
	return &HashError{p.Name, p.Version, file.Name, redactURL(from), file.SHA256, got}
}

func (f *fetcher) download(ctx context.Context, p lock.Package, file lock.File, u string) (string, error) {
	req, err := newRequest(ctx, u)
	if err != nil {
		return "", err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s %s: download %s: %w", p.Name, p.Version, redactURL(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s %s: download %s: %s%s", p.Name, p.Version, redactURL(u), resp.Status, authHint(resp.StatusCode))
	}
	tmp, err := os.CreateTemp(f.scratch, ".download-")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, maxDownload+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("%s %s: download %s: %w", p.Name, p.Version, redactURL(u), err)
	}
	if n > maxDownload {
		return "", fmt.Errorf("%s %s: %s is larger than %d GiB", p.Name, p.Version, redactURL(u), maxDownload>>30)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != file.SHA256 {
		return "", hashError(p, file, u, sum)
	}
	named := filepath.Join(f.scratch, file.Name)
	if err := os.Rename(tmp.Name(), named); err != nil {
		return "", err
	}
	return f.cache.PutFile(named, file.SHA256)
}

// Find looks a file up by hash: a wheel or an sdist stored before, verified.
func (c *Cache) Find(sum, name string) (string, bool) {
	for _, kind := range []string{"wheels", "files"} {
		p := filepath.Join(c.Dir, kind, sum, filepath.Base(name))
		if got, err := checkedSum(p, sum); err == nil {
			if got == sum {
				return p, true
			}
			os.RemoveAll(filepath.Dir(p)) // corrupt: fetched again
		}
	}
	return "", false
}

// PutFile stores a verified file under its hash: wheels with the wheels,
// sdists beside them.
func (c *Cache) PutFile(path, sum string) (string, error) {
	if strings.HasSuffix(path, ".whl") {
		w, err := c.Put(path)
		return w.Path, err
	}
	dst := filepath.Join(c.Dir, "files", sum, filepath.Base(path))
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if err := state.WriteFileAtomic(dst, data, 0o644); err != nil {
		return "", fmt.Errorf("store %s in the cache: %w", filepath.Base(path), err)
	}
	return dst, nil
}
