package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/state"
)

// aptly publishes through aptly's REST API: upload, add to a local repository,
// publish (or update the publication, which aptly switches atomically). aptly
// answers 200 even when it refused a package, so FailedFiles and the report's
// warnings are checked.
type aptly struct {
	cfg        config.StoreConfig
	base       string
	repo       string
	user, pass string
	passphrase string
	client     *http.Client
}

func newAptly(s config.StoreConfig, e Env) (Store, error) {
	u, err := url.Parse(s.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("store %s: an aptly store needs url, its API (http://aptly.example.com:8080)", s.Name)
	}
	if u.User != nil {
		return nil, fmt.Errorf("store %s: put no credentials in url; use username and password_env", s.Name)
	}
	a := &aptly{cfg: s, base: strings.TrimSuffix(s.URL, "/"), repo: s.Repo, user: s.Username}
	if a.repo == "" {
		a.repo = s.Distribution
	}
	if s.UsernameEnv != "" {
		if a.user, err = e.secret("username_env", s.UsernameEnv); err != nil {
			return nil, fmt.Errorf("store %s: %w", s.Name, err)
		}
	}
	if a.pass, err = e.secret("password_env", s.PasswordEnv); err != nil {
		return nil, fmt.Errorf("store %s: %w", s.Name, err)
	}
	if !e.ReadOnly { // the signing passphrase is for publishing only
		if a.passphrase, err = e.secret("passphrase_env", s.PassphraseEnv); err != nil {
			return nil, fmt.Errorf("store %s: %w", s.Name, err)
		}
	}
	if a.client, err = e.client(s, u.Hostname()); err != nil {
		return nil, err
	}
	return a, nil
}

// call sends a request and decodes a JSON answer; it fails on any status but
// the ones listed.
func (a *aptly) call(ctx context.Context, method, path string, body io.Reader, ctype string, out any, ok ...int) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return 0, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if a.user != "" || a.pass != "" {
		req.SetBasicAuth(a.user, a.pass)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("aptly %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if len(ok) == 0 {
		ok = []int{http.StatusOK, http.StatusCreated}
	}
	for _, c := range ok {
		if resp.StatusCode == c {
			if out != nil && len(data) > 0 && resp.StatusCode < 300 {
				if err := json.Unmarshal(data, out); err != nil {
					return resp.StatusCode, fmt.Errorf("aptly %s %s: not the JSON expected: %w", method, path, err)
				}
			}
			return resp.StatusCode, nil
		}
	}
	return resp.StatusCode, fmt.Errorf("aptly %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
}

func (a *aptly) Existing(ctx context.Context, name string) ([]Release, error) {
	var pkgs []map[string]string
	q := url.Values{"format": {"details"}, "q": {"Name (" + name + ")"}}
	code, err := a.call(ctx, http.MethodGet, "/api/repos/"+url.PathEscape(a.repo)+"/packages?"+q.Encode(), nil, "", &pkgs, http.StatusOK, http.StatusNotFound)
	if err != nil || code == http.StatusNotFound {
		return nil, err
	}
	var out []Release
	for _, p := range pkgs {
		out = append(out, Release{Name: name, Version: p["Version"], Arch: p["Architecture"], File: p["Filename"], SHA256: p["SHA256"], Commit: p[state.DebCommitField]})
	}
	return out, nil
}

// prefix spells the publish prefix the way aptly's URLs want it: _ for /,
// __ for _, and ":." for the root of the local endpoint.
func (a *aptly) prefix() string {
	p := a.cfg.Prefix
	endpoint := ""
	if i := strings.LastIndexByte(p, ':'); i >= 0 {
		endpoint, p = p[:i+1], p[i+1:]
	}
	if p == "" || p == "." {
		if endpoint == "" {
			endpoint = ":"
		}
		return endpoint + "."
	}
	return endpoint + strings.ReplaceAll(strings.ReplaceAll(p, "_", "__"), "/", "_")
}

func (a *aptly) signing() map[string]any {
	if a.cfg.GPGKey == "" {
		return map[string]any{"Skip": true}
	}
	s := map[string]any{"GpgKey": a.cfg.GPGKey, "Batch": true}
	if a.cfg.Keyring != "" {
		s["Keyring"] = a.cfg.Keyring
	}
	if a.cfg.SecretKeyring != "" {
		s["SecretKeyring"] = a.cfg.SecretKeyring
	}
	if a.cfg.PassphraseFile != "" {
		s["PassphraseFile"] = a.cfg.PassphraseFile
	}
	if a.passphrase != "" {
		s["Passphrase"] = a.passphrase
	}
	return s
}

func (a *aptly) Publish(ctx context.Context, it Item) (state.Publication, error) {
	ctl, err := DebControl(it.Path())
	if err != nil {
		return state.Publication{}, err
	}
	pkg, ver, arch := ctl.Get("Package"), ctl.Get("Version"), ctl.Get("Architecture")
	pub := state.Publication{Store: a.cfg.Name, Type: "aptly", Artifact: it.Artifact.Path,
		Reference: fmt.Sprintf("%s %s/%s %s=%s", a.base, a.cfg.Distribution, a.cfg.Component, pkg, ver), Digest: "sha256:" + it.Artifact.SHA256,
		Install: fmt.Sprintf("apt-get install %s=%s", pkg, ver)}
	if !it.DryRun {
		if err := a.ensureRepo(ctx); err != nil {
			return state.Publication{}, err
		}
	}
	have, err := a.Existing(ctx, pkg)
	if err != nil {
		return state.Publication{}, err
	}
	for _, r := range have {
		if r.Version == ver && r.Arch == arch {
			if r.SHA256 == it.Artifact.SHA256 {
				pub.Unchanged = true
			} else if !it.Overwrite {
				return state.Publication{}, conflict(a.cfg.Name, pkg+" "+ver+" "+arch, r.SHA256, it.Artifact.SHA256)
			}
		}
	}
	if it.DryRun {
		return pub, nil
	}
	if !pub.Unchanged {
		if err := a.upload(ctx, it); err != nil {
			return state.Publication{}, err
		}
	}
	return pub, a.publish(ctx, it.Overwrite)
}

func (a *aptly) ensureRepo(ctx context.Context) error {
	code, err := a.call(ctx, http.MethodGet, "/api/repos/"+url.PathEscape(a.repo), nil, "", nil, http.StatusOK, http.StatusNotFound)
	if err != nil || code == http.StatusOK {
		return err
	}
	body, _ := json.Marshal(map[string]string{"Name": a.repo, "DefaultDistribution": a.cfg.Distribution, "DefaultComponent": a.cfg.Component})
	_, err = a.call(ctx, http.MethodPost, "/api/repos", bytes.NewReader(body), "application/json", nil)
	return err
}

// upload sends the file to a directory of its own, then adds it to the
// repository (aptly removes the directory afterwards).
func (a *aptly) upload(ctx context.Context, it Item) error {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	part, err := w.CreateFormFile("file", filepath.Base(it.Artifact.Path))
	if err != nil {
		return err
	}
	data, err := os.ReadFile(it.Path())
	if err != nil {
		return err
	}
	part.Write(data)
	w.Close()
	rnd := make([]byte, 6)
	rand.Read(rnd)
	dir := "gopythongo-" + hex.EncodeToString(rnd)
	if _, err := a.call(ctx, http.MethodPost, "/api/files/"+dir, &b, w.FormDataContentType(), nil); err != nil {
		return fmt.Errorf("upload %s: %w", it.Artifact.Path, err)
	}
	path := "/api/repos/" + url.PathEscape(a.repo) + "/file/" + dir
	if it.Overwrite {
		path += "?forceReplace=1"
	}
	var report struct {
		FailedFiles []string
		Report      struct{ Warnings, Added, Removed []string }
	}
	if _, err := a.call(ctx, http.MethodPost, path, nil, "", &report); err != nil {
		return fmt.Errorf("add %s to %s: %w", it.Artifact.Path, a.repo, err)
	}
	if len(report.FailedFiles) > 0 || len(report.Report.Warnings) > 0 {
		return fmt.Errorf("aptly refused %s (answering 200): failed %v, warnings %v", it.Artifact.Path, report.FailedFiles, report.Report.Warnings)
	}
	return nil
}

// publish updates the publication of the distribution, or makes the first.
func (a *aptly) publish(ctx context.Context, force bool) error {
	var pubs []struct {
		Prefix, Distribution, Storage string
	}
	if _, err := a.call(ctx, http.MethodGet, "/api/publish", nil, "", &pubs); err != nil {
		return err
	}
	want := a.cfg.Prefix
	if want == "" {
		want = "."
	}
	for _, p := range pubs {
		full := p.Prefix
		if p.Storage != "" {
			full = p.Storage + ":" + p.Prefix
		}
		if (full == want || p.Prefix == want) && p.Distribution == a.cfg.Distribution {
			body, _ := json.Marshal(map[string]any{"Signing": a.signing(), "ForceOverwrite": force})
			_, err := a.call(ctx, http.MethodPut, "/api/publish/"+a.prefix()+"/"+url.PathEscape(a.cfg.Distribution), bytes.NewReader(body), "application/json", nil)
			if err != nil {
				return fmt.Errorf("update the publication of %s: %w", a.cfg.Distribution, err)
			}
			return nil
		}
	}
	body, _ := json.Marshal(map[string]any{
		"SourceKind": "local", "Sources": []map[string]string{{"Name": a.repo, "Component": a.cfg.Component}},
		"Distribution": a.cfg.Distribution, "Architectures": a.cfg.Architectures, "Signing": a.signing(), "ForceOverwrite": force,
	})
	if _, err := a.call(ctx, http.MethodPost, "/api/publish/"+a.prefix(), bytes.NewReader(body), "application/json", nil); err != nil {
		return fmt.Errorf("publish %s: %w", a.cfg.Distribution, err)
	}
	return nil
}
