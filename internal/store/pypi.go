package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/state"
)

// pypi uploads wheels and sdists through the "legacy" upload API that PyPI,
// pypiserver, devpi, Artifactory, Nexus and Gitea accept, and asks the simple
// index (PEP 691 JSON, else PEP 503 HTML) what exists.
type pypi struct {
	cfg        config.StoreConfig
	upload     string
	index      string
	user, pass string
	client     *http.Client
}

func newPyPI(s config.StoreConfig, e Env) (Store, error) {
	if s.URL == "" {
		return nil, fmt.Errorf("store %s: a pypi store needs url, the upload endpoint (https://upload.pypi.org/legacy/)", s.Name)
	}
	u, err := url.Parse(s.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("store %s: url %q is not a URL", s.Name, s.URL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("store %s: put no credentials in url; use username and password_env", s.Name)
	}
	p := &pypi{cfg: s, upload: s.URL, index: strings.TrimSuffix(s.IndexURL, "/"), user: s.Username}
	if p.user == "" {
		p.user = "__token__"
	}
	if p.pass, err = e.secret("password_env", s.PasswordEnv); err != nil {
		return nil, fmt.Errorf("store %s: %w", s.Name, err)
	}
	if p.client, err = e.client(s, u.Hostname()); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *pypi) Existing(ctx context.Context, name string) ([]Release, error) {
	if p.index == "" {
		return nil, nil
	}
	u := p.index + "/" + python.Normalize(name) + "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json, text/html;q=0.1")
	if p.pass != "" {
		req.SetBasicAuth(p.user, p.pass)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil, fmt.Errorf("ask %s: %s: the index refused the credentials (username %s and the password in $%s)", u, resp.Status, p.user, p.cfg.PasswordEnv)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ask %s: %s", u, resp.Status)
	}
	out, err := parseSimple(body, resp.Header.Get("Content-Type"), name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	return out, nil
}

// parseSimple reads a project page of the simple API (python.ParseSimplePage)
// as releases.
func parseSimple(body []byte, contentType, name string) ([]Release, error) {
	files, err := python.ParseSimplePage(body, contentType, nil)
	if err != nil {
		return nil, err
	}
	var out []Release
	for _, f := range files {
		out = append(out, Release{Name: name, Version: fileVersion(f.File), File: f.File, SHA256: f.SHA256})
	}
	return out, nil
}

func (p *pypi) Publish(ctx context.Context, it Item) (state.Publication, error) {
	f, err := readPyFile(it.Path(), it.Artifact.SHA256)
	if err != nil {
		return state.Publication{}, err
	}
	n := python.Normalize(f.Meta.Name)
	pub := state.Publication{Store: p.cfg.Name, Type: "pypi", Artifact: it.Artifact.Path, Reference: p.upload + " " + f.File, Digest: "sha256:" + f.SHA256,
		Install: fmt.Sprintf("pip install %s==%s", n, f.Meta.Version)}
	if p.index != "" {
		pub.Install += " --index-url " + p.index + "/"
	}
	if done, err := p.already(ctx, f, it.Overwrite); err != nil || done || it.DryRun {
		pub.Unchanged = done
		return pub, err
	}
	body, ctype, err := uploadForm(f)
	if err != nil {
		return state.Publication{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.upload, bytes.NewReader(body))
	if err != nil {
		return state.Publication{}, err
	}
	req.Header.Set("Content-Type", ctype)
	req.SetBasicAuth(p.user, p.pass)
	resp, err := p.client.Do(req)
	if err != nil {
		return state.Publication{}, fmt.Errorf("upload %s: %w", f.File, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated:
		return pub, nil
	case resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(string(msg)), "exist"):
		// A rerun that raced another, or an index that has the file: same
		// bytes is success; anything else names both hashes.
		if done, err := p.already(ctx, f, false); err != nil || done {
			pub.Unchanged = done
			return pub, err
		}
		return state.Publication{}, fmt.Errorf("upload %s: the index already has this file (PyPI never lets a file name be reused; publish a post-release, .postN): %s", f.File, strings.TrimSpace(string(msg)))
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return state.Publication{}, fmt.Errorf("upload %s: %s: the token in $%s was refused", f.File, resp.Status, p.cfg.PasswordEnv)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return state.Publication{}, fmt.Errorf("upload %s: the index redirects (%s to %s); set url to the upload endpoint itself", f.File, resp.Status, resp.Header.Get("Location"))
	}
	return state.Publication{}, fmt.Errorf("upload %s: %s: %s", f.File, resp.Status, strings.TrimSpace(string(msg)))
}

// already checks the index for the file: true when it holds the same bytes.
func (p *pypi) already(ctx context.Context, f pyFile, force bool) (bool, error) {
	have, err := p.Existing(ctx, f.Meta.Name)
	if err != nil {
		return false, err
	}
	for _, r := range have {
		if r.File == f.File {
			if r.SHA256 == f.SHA256 || r.SHA256 == "" {
				return r.SHA256 == f.SHA256, nil
			}
			if !force {
				return false, conflict(p.cfg.Name, r.File, r.SHA256, f.SHA256)
			}
		}
	}
	return false, nil
}

// uploadForm builds the multipart body of a legacy upload: the core metadata
// as form fields (repeatable ones repeated), the digests, and the file.
func uploadForm(f pyFile) ([]byte, string, error) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, "", err
	}
	m5 := md5.Sum(data)
	fields := [][2]string{
		{":action", "file_upload"}, {"protocol_version", "1"},
		{"filetype", f.Kind}, {"pyversion", f.PyVersion},
		{"sha256_digest", f.SHA256}, {"md5_digest", hex.EncodeToString(m5[:])},
	}
	single := map[string]string{"Metadata-Version": "metadata_version", "Name": "name", "Version": "version", "Summary": "summary",
		"Home-page": "home_page", "Author": "author", "Author-email": "author_email", "Maintainer": "maintainer",
		"Maintainer-email": "maintainer_email", "License": "license", "License-Expression": "license_expression", "Keywords": "keywords",
		"Requires-Python": "requires_python", "Description-Content-Type": "description_content_type", "Platform": "platform"}
	multi := map[string]string{"Classifier": "classifiers", "Requires-Dist": "requires_dist", "Project-Url": "project_urls",
		"Provides-Extra": "provides_extra", "Requires-External": "requires_external", "Dynamic": "dynamic", "License-File": "license_file"}
	canon := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[http.CanonicalHeaderKey(k)] = v
		}
		return out
	}
	single, multi = canon(single), canon(multi)
	for header, vals := range f.Meta.Header {
		key := http.CanonicalHeaderKey(header)
		if field, ok := single[key]; ok && len(vals) > 0 {
			fields = append(fields, [2]string{field, vals[0]})
		}
		if field, ok := multi[key]; ok {
			for _, v := range vals {
				fields = append(fields, [2]string{field, v})
			}
		}
	}
	if f.Meta.Description != "" {
		fields = append(fields, [2]string{"description", f.Meta.Description})
	}
	sort.SliceStable(fields[6:], func(i, j int) bool { return fields[6+i][0] < fields[6+j][0] })
	for _, kv := range fields {
		if err := w.WriteField(kv[0], kv[1]); err != nil {
			return nil, "", err
		}
	}
	part, err := w.CreateFormFile("content", f.File)
	if err != nil {
		return nil, "", err
	}
	if _, err := part.Write(data); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return b.Bytes(), w.FormDataContentType(), nil
}
