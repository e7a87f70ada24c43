package testutil

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/version"
)

// PyPI is a strict test server of the legacy upload API and the simple index,
// for where no PyPI-compatible server can be installed. It refuses what PyPI
// refuses (bad auth, missing or wrong fields and digests, a file name that
// does not match its name and version, local versions, a reused file name)
// and is held to a real client: Debian's twine must upload to it.
type PyPI struct {
	*httptest.Server
	Token string
	// AllowLocal accepts local versions (1.0+abc), as private indexes do; PyPI
	// does not.
	AllowLocal bool

	mu      sync.Mutex
	files   map[string]pypiFile // by file name
	uploads []map[string][]string
}

type pypiFile struct {
	project, version, sha256, requiresPython string
	data                                     []byte
}

// NewPyPI starts the server on 127.0.0.1; uploads go to URL+"/legacy/", the
// index is URL+"/simple/".
func NewPyPI(t testing.TB, token string) *PyPI {
	p := &PyPI{Token: token, files: map[string]pypiFile{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/legacy/", p.upload)
	mux.HandleFunc("/simple/", p.simple)
	mux.HandleFunc("/files/", p.file)
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// Uploads are the form fields of every accepted upload.
func (p *PyPI) Uploads() []map[string][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]map[string][]string(nil), p.uploads...)
}

var (
	pypiNameRE = regexp.MustCompile(`(?i)^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`)
	metaVers   = map[string]bool{"1.0": true, "1.1": true, "1.2": true, "2.0": true, "2.1": true, "2.2": true, "2.3": true, "2.4": true}
)

func (p *PyPI) upload(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, format string, args ...any) {
		http.Error(w, fmt.Sprintf(format, args...), code)
	}
	if r.URL.Path != "/legacy/" || r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "POST to /legacy/")
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != "__token__" || pass != p.Token {
		fail(http.StatusForbidden, "Invalid or non-existent authentication information.")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		fail(http.StatusBadRequest, "Invalid form: want multipart/form-data")
		return
	}
	if err := r.ParseMultipartForm(64 << 20); err != nil {
		fail(http.StatusBadRequest, "Invalid form: %v", err)
		return
	}
	f := r.MultipartForm.Value
	get := func(k string) string {
		if len(f[k]) == 0 {
			return ""
		}
		return f[k][0]
	}
	for _, k := range []string{":action", "protocol_version", "name", "version", "filetype", "metadata_version"} {
		if get(k) == "" {
			fail(http.StatusBadRequest, "Invalid value for %s: This field is required.", k)
			return
		}
	}
	if get(":action") != "file_upload" || get("protocol_version") != "1" {
		fail(http.StatusBadRequest, "Unknown :action or protocol_version")
		return
	}
	if !metaVers[get("metadata_version")] {
		fail(http.StatusBadRequest, "Invalid value for metadata_version: %q", get("metadata_version"))
		return
	}
	name, ver := get("name"), get("version")
	if !pypiNameRE.MatchString(name) {
		fail(http.StatusBadRequest, "Invalid value for name: %q", name)
		return
	}
	v, err := version.ParsePEP440(ver)
	if err != nil {
		fail(http.StatusBadRequest, "Invalid value for version: %q", ver)
		return
	}
	if !p.AllowLocal && strings.Contains(ver, "+") {
		fail(http.StatusBadRequest, "The use of local versions in %q is not allowed.", ver)
		return
	}
	files := r.MultipartForm.File["content"]
	if len(files) != 1 {
		fail(http.StatusBadRequest, "Upload payload does not have a file.")
		return
	}
	fh := files[0]
	rd, err := fh.Open()
	if err != nil {
		fail(http.StatusBadRequest, "%v", err)
		return
	}
	data, _ := io.ReadAll(rd)
	rd.Close()
	sum := sha256.Sum256(data)
	m5 := md5.Sum(data)
	if get("sha256_digest") == "" && get("md5_digest") == "" {
		fail(http.StatusBadRequest, "Include at least one message digest.")
		return
	}
	if d := get("sha256_digest"); d != "" && d != hex.EncodeToString(sum[:]) {
		fail(http.StatusBadRequest, "The digest supplied does not match a digest calculated from the uploaded file.")
		return
	}
	if d := get("md5_digest"); d != "" && d != hex.EncodeToString(m5[:]) {
		fail(http.StatusBadRequest, "The digest supplied does not match a digest calculated from the uploaded file.")
		return
	}
	switch get("filetype") {
	case "bdist_wheel":
		wh, err := python.ParseWheelName(fh.Filename)
		if err != nil || python.Normalize(wh.Name) != python.Normalize(name) {
			fail(http.StatusBadRequest, "Invalid wheel filename %q for project %q", fh.Filename, name)
			return
		}
		if wv, err := version.ParsePEP440(wh.Version); err != nil || wv.PEP440() != v.PEP440() {
			fail(http.StatusBadRequest, "Version in filename %q should be %s", fh.Filename, ver)
			return
		}
		if get("pyversion") == "" || get("pyversion") == "source" {
			fail(http.StatusBadRequest, "Python version is required for binary distribution uploads.")
			return
		}
	case "sdist":
		stem, ok := strings.CutSuffix(fh.Filename, ".tar.gz")
		i := strings.LastIndexByte(stem, '-')
		if !ok || i < 0 || python.Normalize(stem[:i]) != python.Normalize(name) {
			fail(http.StatusBadRequest, "Invalid sdist filename %q for project %q", fh.Filename, name)
			return
		}
		if sv, err := version.ParsePEP440(stem[i+1:]); err != nil || sv.PEP440() != v.PEP440() {
			fail(http.StatusBadRequest, "Version in filename %q should be %s", fh.Filename, ver)
			return
		}
		// As PyPI: an sdist's pyversion may be left out, else it is "source".
		if pv := get("pyversion"); pv != "" && pv != "source" {
			fail(http.StatusBadRequest, "Use 'source' as Python version for an sdist.")
			return
		}
	default:
		fail(http.StatusBadRequest, "Invalid value for filetype: %q", get("filetype"))
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.files[fh.Filename]; ok {
		fail(http.StatusBadRequest, "File already exists (%q, with sha256 hash %q). See https://pypi.org/help/#file-name-reuse for more information.", fh.Filename, old.sha256)
		return
	}
	p.files[fh.Filename] = pypiFile{project: python.Normalize(name), version: ver, sha256: hex.EncodeToString(sum[:]), data: data, requiresPython: get("requires_python")}
	p.uploads = append(p.uploads, f)
	w.WriteHeader(http.StatusOK)
}

func (p *PyPI) simple(w http.ResponseWriter, r *http.Request) {
	project := strings.Trim(strings.TrimPrefix(r.URL.Path, "/simple/"), "/")
	p.mu.Lock()
	var names []string
	for n, f := range p.files {
		if f.project == project {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	files := p.files
	p.mu.Unlock()
	if project == "" || len(names) == 0 {
		http.NotFound(w, r)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "application/vnd.pypi.simple.v1+json") {
		type file struct {
			Filename string            `json:"filename"`
			URL      string            `json:"url"`
			Hashes   map[string]string `json:"hashes"`
		}
		page := struct {
			Meta  map[string]string `json:"meta"`
			Name  string            `json:"name"`
			Files []file            `json:"files"`
		}{Meta: map[string]string{"api-version": "1.0"}, Name: project}
		for _, n := range names {
			page.Files = append(page.Files, file{Filename: n, URL: "/files/" + n, Hashes: map[string]string{"sha256": files[n].sha256}})
		}
		w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
		json.NewEncoder(w).Encode(page)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	fmt.Fprintf(w, "<!DOCTYPE html><html><body><h1>Links for %s</h1>\n", html.EscapeString(project))
	for _, n := range names {
		fmt.Fprintf(w, "<a href=\"/files/%s#sha256=%s\">%s</a><br/>\n", n, files[n].sha256, html.EscapeString(n))
	}
	fmt.Fprint(w, "</body></html>\n")
}

func (p *PyPI) file(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	f, ok := p.files[strings.TrimPrefix(r.URL.Path, "/files/")]
	p.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write(f.data)
}
