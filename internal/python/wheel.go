package python

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/gopythongo/gopythongo/internal/lazy"
)

// Wheel is what a wheel's file name says (PEP 427).
type Wheel struct {
	File    string // the file name
	Name    string // as written in the file name
	Version string
	Build   string
	Tags    []Tag // the expanded tag set
}

var nameRun = lazy.Regexp(`[-_.]+`)

// Normalize gives the PEP 503 form of a distribution name: lowercase, runs of
// -, _ and . as one -.
func Normalize(name string) string { return strings.ToLower(nameRun().ReplaceAllString(name, "-")) }

// ParseWheelName reads a wheel file name.
func ParseWheelName(file string) (Wheel, error) {
	base := path.Base(file)
	stem, ok := strings.CutSuffix(base, ".whl")
	if !ok {
		return Wheel{}, fmt.Errorf("%q is not a wheel (.whl)", base)
	}
	p := strings.Split(stem, "-")
	if len(p) != 5 && len(p) != 6 {
		return Wheel{}, fmt.Errorf("%q is not a valid wheel name: want NAME-VERSION[-BUILD]-PY-ABI-PLATFORM.whl", base)
	}
	w := Wheel{File: base, Name: p[0], Version: p[1]}
	if len(p) == 6 {
		w.Build = p[2]
		p = append(p[:2], p[3:]...)
	}
	for _, py := range strings.Split(p[2], ".") {
		for _, abi := range strings.Split(p[3], ".") {
			for _, plat := range strings.Split(p[4], ".") {
				w.Tags = append(w.Tags, Tag{py, abi, plat})
			}
		}
	}
	if w.Name == "" || w.Version == "" {
		return Wheel{}, fmt.Errorf("%q is not a valid wheel name", base)
	}
	return w, nil
}

// IsPure reports whether the wheel runs on any platform.
func (w Wheel) IsPure() bool {
	for _, t := range w.Tags {
		if t.Platform != "any" {
			return false
		}
	}
	return true
}

// Metadata is what a distribution's METADATA file says that GoPythonGo uses.
type Metadata struct {
	Name, Version, Summary string
	License                string // License-Expression, License, or the licence classifiers
	RequiresDist           []string
	RequiresPython         string
	Classifiers            []string
	ProjectURLs            []string
	HomePage               string
	MetadataVersion        string
	// Description is the long description, the body after the fields.
	Description string
	// Header keeps every field, for uploads.
	Header mail.Header
}

// ParseMetadata reads a METADATA (or PKG-INFO) file.
func ParseMetadata(r io.Reader) (Metadata, error) {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return Metadata{}, fmt.Errorf("METADATA is not in the RFC 822 format: %w", err)
	}
	h := msg.Header
	m := Metadata{
		Name: h.Get("Name"), Version: h.Get("Version"), Summary: h.Get("Summary"),
		RequiresDist: h["Requires-Dist"], RequiresPython: h.Get("Requires-Python"),
		Classifiers: h["Classifier"], ProjectURLs: h["Project-Url"], HomePage: h.Get("Home-Page"),
		MetadataVersion: h.Get("Metadata-Version"), Header: h,
	}
	if body, err := io.ReadAll(io.LimitReader(msg.Body, 4<<20)); err == nil {
		m.Description = strings.TrimSpace(string(body))
	}
	m.License = h.Get("License-Expression")
	if m.License == "" {
		if l := h.Get("License"); l != "" && l != "UNKNOWN" && !strings.Contains(l, "\n") && len(l) < 100 {
			m.License = l
		}
	}
	if m.License == "" {
		var ls []string
		for _, c := range m.Classifiers {
			if rest, ok := strings.CutPrefix(c, "License :: "); ok {
				parts := strings.Split(rest, " :: ")
				ls = append(ls, parts[len(parts)-1])
			}
		}
		m.License = strings.Join(ls, " OR ")
	}
	if m.Name == "" || m.Version == "" {
		return Metadata{}, fmt.Errorf("METADATA lacks Name or Version")
	}
	return m, nil
}

// WheelMetadata reads the METADATA inside a wheel file.
func WheelMetadata(file string) (Metadata, error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return Metadata{}, fmt.Errorf("%s is not a readable wheel: %w", path.Base(file), err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		dir, name := path.Split(f.Name)
		if name == "METADATA" && strings.HasSuffix(strings.TrimSuffix(dir, "/"), ".dist-info") && strings.Count(f.Name, "/") == 1 {
			// Bounded: the local resolver reads the METADATA of any wheel
			// it finds.
			if f.UncompressedSize64 > maxMetadataFile {
				return Metadata{}, fmt.Errorf("%s: its METADATA is larger than %d MiB", path.Base(file), maxMetadataFile>>20)
			}
			rc, err := f.Open()
			if err != nil {
				return Metadata{}, err
			}
			defer rc.Close()
			return ParseMetadata(io.LimitReader(rc, maxMetadataFile))
		}
	}
	return Metadata{}, fmt.Errorf("%s has no .dist-info/METADATA", path.Base(file))
}

// SdistMetadata reads the core metadata of an sdist: <name>-<version>/PKG-INFO.
func SdistMetadata(file string) (Metadata, error) {
	f, err := os.Open(file)
	if err != nil {
		return Metadata{}, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return Metadata{}, fmt.Errorf("%s: %w", filepath.Base(file), err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			return Metadata{}, fmt.Errorf("%s has no PKG-INFO at its top", filepath.Base(file))
		}
		name := strings.Trim(strings.TrimPrefix(h.Name, "./"), "/")
		if strings.Count(name, "/") == 1 && path.Base(name) == "PKG-INFO" {
			return ParseMetadata(io.LimitReader(tr, 1<<20))
		}
	}
}
