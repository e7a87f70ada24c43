package pack

import (
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/state"
)

// Meta is what every format says about the package.
type Meta struct {
	Name        string // the package name: lowercase, - for _
	Version     state.Version
	Commit      state.Commit
	Epoch       time.Time
	Arch        string // Debian spelling: all, amd64, arm64
	Summary     string
	Homepage    string
	License     string
	Copyright   string
	Maintainer  string
	Entrypoints []string // the project's console scripts, in order
	Venv        *state.Venv
	Config      *config.Config
	// Out is the dist directory, where artifacts go.
	Out string
	// LayerCache keeps the listings of base image layers by digest ("":
	// none): the image check reads a base's file system once, not at
	// every package.
	LayerCache string
}

var debNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// NewMeta gathers the metadata from the configuration, the state file and the
// project's own distribution in the tree.
func NewMeta(c *config.Config, st *state.State, t *Tree, epoch time.Time) (*Meta, error) {
	if st.Version == nil {
		return nil, fmt.Errorf("the state file has no version: run gopythongo-version first")
	}
	if st.Venv == nil {
		return nil, fmt.Errorf("the state file has no venv: run gopythongo-build-venv first")
	}
	p := c.Package
	m := &Meta{Version: *st.Version, Commit: st.Commit, Epoch: epoch, Venv: st.Venv, Config: c, Out: c.DistDir(),
		Summary: p.Description, Homepage: p.Homepage, License: p.License, Copyright: p.Copyright, Maintainer: p.Deb.Maintainer}
	m.Name = p.Name
	if m.Name == "" {
		m.Name = strings.ToLower(strings.ReplaceAll(c.Project.Name, "_", "-"))
	}
	if !debNameRE.MatchString(m.Name) {
		return nil, c.Errorf("package.name", "%q is not a valid package name: lowercase letters, digits, '+', '-' and '.', at least two, starting with a letter or digit", m.Name)
	}
	if md, ok := projectMetadata(t, st.Venv); ok {
		if m.Summary == "" {
			m.Summary = md.Summary
		}
		if m.Homepage == "" {
			m.Homepage = md.HomePage
			for _, u := range md.ProjectURLs {
				if k, v, ok := strings.Cut(u, ","); ok && m.Homepage == "" && strings.EqualFold(strings.TrimSpace(k), "homepage") {
					m.Homepage = strings.TrimSpace(v)
				}
			}
		}
		if m.License == "" {
			m.License = spdx(md.License)
		}
	}
	if m.Homepage == "" {
		m.Homepage = c.Project.SourceURL
	}
	if m.Homepage == "" {
		m.Homepage = st.Commit.SourceURL
	}
	if m.Summary == "" {
		m.Summary = m.Name + ", a Python application"
	}
	if m.Copyright == "" {
		m.Copyright = fmt.Sprintf("%d %s", epoch.Year(), orDefault(m.Maintainer, "the authors of "+m.Name))
	}
	m.Arch = p.Architecture
	if m.Arch == "" {
		m.Arch = "all"
		if t.HasELF {
			m.Arch = debArch(runtime.GOARCH)
		}
	}
	m.Entrypoints = consoleScripts(t, st.Venv)
	return m, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// debArch spells a Go architecture the Debian way.
func debArch(goarch string) string {
	switch goarch {
	case "386":
		return "i386"
	case "arm":
		return "armhf"
	case "ppc64le":
		return "ppc64el"
	}
	return goarch
}

// spdx turns the licence names of classifiers into SPDX identifiers where the
// meaning is clear.
func spdx(l string) string {
	known := map[string]string{
		"MIT License": "MIT", "MIT": "MIT", "ISC License (ISCL)": "ISC", "Apache Software License": "Apache-2.0",
		"Apache 2.0": "Apache-2.0", "Apache License 2.0": "Apache-2.0", "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
		"GNU General Public License v3 (GPLv3)": "GPL-3.0", "GNU General Public License v2 (GPLv2)": "GPL-2.0",
		"Python Software Foundation License": "PSF-2.0",
	}
	if v, ok := known[l]; ok {
		return v
	}
	return l
}

func sitePackages(t *Tree) string {
	sites, _ := filepath.Glob(filepath.Join(t.Root, strings.TrimPrefix(t.Deploy, "/"), "lib", "python*", "site-packages"))
	if len(sites) == 1 {
		return sites[0]
	}
	return ""
}

func projectDistInfo(t *Tree, venv *state.Venv) string {
	site := sitePackages(t)
	for _, d := range venv.Distributions {
		if d.IsProject {
			if info := python.FindDistInfo(site, d.Name, d.Version); info != "" {
				return info
			}
		}
	}
	return ""
}

func projectMetadata(t *Tree, venv *state.Venv) (python.Metadata, bool) {
	info := projectDistInfo(t, venv)
	if info == "" {
		return python.Metadata{}, false
	}
	md, err := python.InstalledMetadata(info)
	return md, err == nil
}

// consoleScripts lists the project's console scripts as paths at the deploy
// path, in the order of its entry_points.txt.
func consoleScripts(t *Tree, venv *state.Venv) []string {
	info := projectDistInfo(t, venv)
	if info == "" {
		return nil
	}
	eps, err := python.InstalledEntryPoints(info)
	if err != nil {
		return nil
	}
	var out []string
	for _, ep := range eps {
		if ep.Group == "console_scripts" {
			out = append(out, filepath.Join(t.Deploy, "bin", ep.Name))
		}
	}
	return out
}

// FileName is an artifact's usual name: name_version_arch.deb and the like.
func (m *Meta) debFile() string {
	return fmt.Sprintf("%s_%s_%s.deb", m.Name, stripEpoch(m.Version.Debian), m.Arch)
}

func stripEpoch(v string) string {
	if i := strings.IndexByte(v, ':'); i >= 0 {
		return v[i+1:]
	}
	return v
}
