package python

import (
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"strings"

	"github.com/gopythongo/gopythongo/internal/lazy"
)

// IndexFile is a file of a project page of the simple repository API.
type IndexFile struct {
	File   string // its file name
	URL    string // absolute, without the hash fragment
	SHA256 string // hex, "" when the index names none
}

type simplePage struct {
	Files []struct {
		Filename string            `json:"filename"`
		URL      string            `json:"url"`
		Hashes   map[string]string `json:"hashes"`
	} `json:"files"`
}

var anchorRE = lazy.Regexp(`(?is)<a\s[^>]*href\s*=\s*"([^"]+)"[^>]*>([^<]+)</a>`)

// ParseSimplePage reads a project page: PEP 691 JSON or PEP 503 HTML, as the
// Content-Type says; links are resolved against the page's URL.
func ParseSimplePage(body []byte, contentType string, page *url.URL) ([]IndexFile, error) {
	resolve := func(href string) string {
		u, err := url.Parse(href)
		if err != nil || page == nil {
			return href
		}
		u = page.ResolveReference(u)
		u.Fragment = ""
		return u.String()
	}
	var out []IndexFile
	if strings.Contains(contentType, "json") {
		var p simplePage
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, fmt.Errorf("not PEP 691 JSON: %w", err)
		}
		for _, f := range p.Files {
			out = append(out, IndexFile{File: f.Filename, URL: resolve(f.URL), SHA256: strings.ToLower(f.Hashes["sha256"])})
		}
		return out, nil
	}
	for _, m := range anchorRE().FindAllStringSubmatch(string(body), -1) {
		href := html.UnescapeString(m[1])
		_, frag, _ := strings.Cut(href, "#sha256=")
		out = append(out, IndexFile{File: strings.TrimSpace(html.UnescapeString(m[2])), URL: resolve(href), SHA256: strings.ToLower(frag)})
	}
	return out, nil
}
