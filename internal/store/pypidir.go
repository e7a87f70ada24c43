package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/state"
)

// pyFile is a wheel or an sdist with its metadata.
type pyFile struct {
	Path, File string
	Meta       python.Metadata
	Kind       string // bdist_wheel or sdist
	PyVersion  string // the wheel's python tag, "source" for an sdist
	SHA256     string
}

// readPyFile reads the metadata of a wheel (METADATA) or an sdist (PKG-INFO).
func readPyFile(p, sum string) (pyFile, error) {
	f := pyFile{Path: p, File: filepath.Base(p), SHA256: sum}
	switch {
	case strings.HasSuffix(p, ".whl"):
		w, err := python.ParseWheelName(p)
		if err != nil {
			return f, err
		}
		if f.Meta, err = python.WheelMetadata(p); err != nil {
			return f, err
		}
		f.Kind = "bdist_wheel"
		var pys []string
		for _, t := range w.Tags {
			if !slices.Contains(pys, t.Python) {
				pys = append(pys, t.Python)
			}
		}
		f.PyVersion = strings.Join(pys, ".")
	case strings.HasSuffix(p, ".tar.gz"):
		meta, err := python.SdistMetadata(p)
		if err != nil {
			return f, err
		}
		f.Meta, f.Kind, f.PyVersion = meta, "sdist", "source"
	default:
		return f, fmt.Errorf("%s is neither a wheel nor an sdist (.tar.gz)", f.File)
	}
	return f, nil
}

// pypiDir is a static package index in a directory: PEP 503 HTML and PEP 691
// JSON under simple/, the files under files/. pip installs from it with
// --index-url file:///DIR/simple, or from any web server serving DIR.
type pypiDir struct {
	cfg  config.StoreConfig
	root string
}

func newPyPIDir(s config.StoreConfig, e Env) (Store, error) {
	return &pypiDir{cfg: s, root: e.Config.Path(s.Path)}, nil
}

type simpleFile struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython string            `json:"requires-python,omitempty"`
	Version        string            `json:"-"`
}

type simplePage struct {
	Meta  map[string]string `json:"meta"`
	Name  string            `json:"name"`
	Files []simpleFile      `json:"files"`
}

func (d *pypiDir) page(name string) (simplePage, error) {
	n := python.Normalize(name)
	p := simplePage{Meta: map[string]string{"api-version": "1.0"}, Name: n}
	b, err := os.ReadFile(filepath.Join(d.root, "simple", n, "index.json"))
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("pypi-dir %s: %s/index.json: %w", d.root, n, err)
	}
	return p, nil
}

func (d *pypiDir) Existing(ctx context.Context, name string) ([]Release, error) {
	p, err := d.page(name)
	if err != nil {
		return nil, err
	}
	var out []Release
	for _, f := range p.Files {
		out = append(out, Release{Name: name, Version: fileVersion(f.Filename), File: f.Filename, SHA256: f.Hashes["sha256"]})
	}
	return out, nil
}

// fileVersion reads the version from a wheel or sdist file name.
func fileVersion(file string) string {
	if w, err := python.ParseWheelName(file); err == nil {
		return w.Version
	}
	stem := strings.TrimSuffix(file, ".tar.gz")
	if i := strings.LastIndexByte(stem, '-'); i > 0 {
		return stem[i+1:]
	}
	return ""
}

func (d *pypiDir) Publish(ctx context.Context, it Item) (state.Publication, error) {
	f, err := readPyFile(it.Path(), it.Artifact.SHA256)
	if err != nil {
		return state.Publication{}, err
	}
	if !it.DryRun {
		unlock, err := lockDir(ctx, d.root)
		if err != nil {
			return state.Publication{}, err
		}
		defer unlock()
	}
	page, err := d.page(f.Meta.Name)
	if err != nil {
		return state.Publication{}, err
	}
	n := python.Normalize(f.Meta.Name)
	pub := state.Publication{Store: d.cfg.Name, Type: "pypi-dir", Artifact: it.Artifact.Path,
		Reference: "file://" + filepath.Join(d.root, "files", f.File), Digest: "sha256:" + f.SHA256,
		Install: fmt.Sprintf("pip install %s==%s --index-url file://%s/simple/", n, f.Meta.Version, d.root)}
	var files []simpleFile
	for _, x := range page.Files {
		if x.Filename == f.File {
			if x.Hashes["sha256"] == f.SHA256 {
				pub.Unchanged = true
				return pub, nil
			}
			if !it.Overwrite {
				return state.Publication{}, conflict(d.cfg.Name, x.Filename, x.Hashes["sha256"], f.SHA256)
			}
			continue
		}
		files = append(files, x)
	}
	if it.DryRun {
		return pub, nil
	}
	if err := copyAtomic(f.Path, filepath.Join(d.root, "files", f.File)); err != nil {
		return state.Publication{}, err
	}
	files = append(files, simpleFile{Filename: f.File, URL: "../../files/" + f.File, Hashes: map[string]string{"sha256": f.SHA256}, RequiresPython: f.Meta.RequiresPython})
	sort.Slice(files, func(i, j int) bool { return files[i].Filename < files[j].Filename })
	page.Files, page.Name = files, n
	if err := d.writePage(page); err != nil {
		return state.Publication{}, err
	}
	return pub, d.writeRoot()
}

// writePage writes a project's page: JSON first, then the HTML pip reads.
func (d *pypiDir) writePage(p simplePage) error {
	dir := filepath.Join(d.root, "simple", p.Name)
	js, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := state.WriteFileAtomic(filepath.Join(dir, "index.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html>\n<head><meta name=\"pypi:repository-version\" content=\"1.0\"><title>Links for %s</title></head>\n<body>\n<h1>Links for %s</h1>\n", html.EscapeString(p.Name), html.EscapeString(p.Name))
	for _, f := range p.Files {
		rp := ""
		if f.RequiresPython != "" {
			rp = fmt.Sprintf(" data-requires-python=\"%s\"", html.EscapeString(f.RequiresPython))
		}
		fmt.Fprintf(&b, "<a href=\"%s#sha256=%s\"%s>%s</a><br/>\n", html.EscapeString(f.URL), f.Hashes["sha256"], rp, html.EscapeString(f.Filename))
	}
	b.WriteString("</body>\n</html>\n")
	return state.WriteFileAtomic(filepath.Join(dir, "index.html"), []byte(b.String()), 0o644)
}

// writeRoot lists every project.
func (d *pypiDir) writeRoot() error {
	ents, err := os.ReadDir(filepath.Join(d.root, "simple"))
	if err != nil {
		return err
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	type project struct {
		Name string `json:"name"`
	}
	root := struct {
		Meta     map[string]string `json:"meta"`
		Projects []project         `json:"projects"`
	}{Meta: map[string]string{"api-version": "1.0"}}
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html>\n<head><meta name=\"pypi:repository-version\" content=\"1.0\"><title>Simple index</title></head>\n<body>\n")
	for _, n := range names {
		root.Projects = append(root.Projects, project{Name: n})
		fmt.Fprintf(&b, "<a href=\"%s/\">%s</a><br/>\n", n, n)
	}
	b.WriteString("</body>\n</html>\n")
	js, _ := json.MarshalIndent(root, "", "  ")
	if err := state.WriteFileAtomic(filepath.Join(d.root, "simple", "index.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return state.WriteFileAtomic(filepath.Join(d.root, "simple", "index.html"), []byte(b.String()), 0o644)
}
