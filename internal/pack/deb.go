package pack

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/gopythongo/gopythongo/internal/deb822"
	"github.com/gopythongo/gopythongo/internal/fileread"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/treesums"
)

// debPacker writes a .deb with its own streaming writer: md5sums taken on
// every CPU, then data.tar straight into the .deb through parallel
// compression. Memory does not grow with the package.
type debPacker struct{}

func (debPacker) Format() state.Format { return state.FormatDeb }

// lintianOverrides are the tags every venv package raises, and why; more come
// from package.deb.lintian_overrides.
var lintianOverrides = []string{
	"dir-or-file-in-opt",                  // a venv lives at its deploy path, often /opt
	"package-installs-python-pycache-dir", // bytecode compiled by the target interpreter, by design
	"unusual-interpreter",                 // console scripts run the venv's python
	"unknown-field Gopythongo-Commit",     // the source commit, so that a rerun is recognized
	"initial-upload-closes-no-bugs",       // the changelog records a build, not an upload
	"extra-license-file",                  // distributions ship their licences in dist-info
}

func (debPacker) Pack(ctx context.Context, t *Tree, m *Meta) (state.Artifact, error) {
	c := m.Config
	p := c.Package.Deb
	if p.Maintainer == "" {
		return state.Artifact{}, c.Errorf("package.deb.maintainer", "a .deb needs a maintainer, e.g. Hello Team <hello@example.com>")
	}
	svc, err := newService(c, m)
	if err != nil {
		return state.Artifact{}, err
	}
	doc := "usr/share/doc/" + m.Name + "/"
	files := map[string][]byte{
		doc + "copyright":                       copyrightFile(m),
		doc + "changelog.Debian.gz":             gzipBest(changelog(m)),
		"usr/share/lintian/overrides/" + m.Name: lintianFile(m.Name, p.LintianOverrides),
	}
	if svc != nil {
		files[svc.unitPath()] = svc.unit
	}
	entries := append(slices.Clone(t.Entries), generated(t.Entries, files, nil)...)
	sortEntries(entries)
	all := &Tree{Root: t.Root, Deploy: t.Deploy, Entries: entries}

	comp := Compression(p.Compression)
	member := "data.tar" + comp.Ext()
	name := m.debFile()
	writeData := func(w io.Writer) error {
		zw, err := compressor(comp, debGzipLevel, w)
		if err != nil {
			return err
		}
		if err := writeTar(zw, all, tarOptions{Prefix: "./", Parents: true, Epoch: m.Epoch, Ctx: ctx}); err != nil {
			zw.Close()
			return fmt.Errorf("write data.tar: %w", err)
		}
		return zw.Close()
	}
	begin := func(f *os.File, md5sums []byte) (*arWriter, error) {
		ctar, err := controlTar(m, all, t, svc, md5sums, comp)
		if err != nil {
			return nil, err
		}
		ar, err := newAr(f, m.Epoch)
		if err != nil {
			return nil, err
		}
		if err := ar.Add("debian-binary", []byte("2.0\n")); err != nil {
			return nil, err
		}
		return ar, ar.Add("control.tar"+comp.Ext(), ctar)
	}
	// md5sums go into the control part, which comes first: they are taken
	// before, on every CPU, and the data then goes straight into the .deb
	// (the files read twice, the second time from the page cache, instead
	// of the compressed data written to a temporary file and copied).
	var sums []byte
	if p.MD5Sums {
		var err error
		if sums, err = md5sums(ctx, all); err != nil {
			return state.Artifact{}, err
		}
	}
	return writeAtomic(m.Out, name, "deb", m.Arch, func(f *os.File) error {
		ar, err := begin(f, sums)
		if err != nil {
			return err
		}
		// The data member's size is written in afterwards.
		return ar.Stream(member, writeData)
	})
}

// md5sums is the md5sums file of a tree's regular files (hard links but
// the first of each are left out, as dh_md5sums leaves them), in its order.
// A file gopythongo-build-venv recorded the sum of, unchanged since (its
// inode as the scan saw it), is not read (treesums); a record that is
// missing or no record hashes them all.
func md5sums(ctx context.Context, t *Tree) ([]byte, error) {
	known, _ := treesums.Read(treesums.PathFor(t.Root))
	var files []int
	for i, e := range t.Entries {
		if e.Mode.IsRegular() && e.HardLink == "" {
			files = append(files, i)
		}
	}
	sums := make([]string, len(files))
	// A worker a CPU, each taking the next file: most files of a venv are
	// small, and most sums come from the record, a lookup each; a goroutine
	// a file would cost more than that.
	var next atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	for range runtime.GOMAXPROCS(0) {
		g.Go(func() error {
			buf := copyBuffers.Get().([]byte)
			defer copyBuffers.Put(buf)
			h := md5.New()
			for k := int(next.Add(1) - 1); k < len(files); k = int(next.Add(1) - 1) {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				e := t.Entries[files[k]]
				if e.Source != "" {
					if sum, ok := known.MD5(e.Path, e.Stamp); ok {
						sums[k] = sum
						continue
					}
				}
				h.Reset()
				if err := copyEntry(h, e, buf); err != nil {
					return err
				}
				sums[k] = hex.EncodeToString(h.Sum(nil))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var b strings.Builder
	for k, i := range files {
		fmt.Fprintf(&b, "%s  %s\n", sums[k], t.Entries[i].Path)
	}
	return []byte(b.String()), nil
}

// controlTar writes control.tar: control, md5sums (when given), conffiles and
// the maintainer scripts. It is compressed as data.tar is, as dpkg-deb
// writes it (--uniform-compression, its default since 1.19.0), and every
// reader of data.tar.zst reads; gzip -9 of a large venv's md5sums took
// 0.05-0.1 s of a .deb written with zstd in a second.
func controlTar(m *Meta, all, t *Tree, svc *service, md5sums []byte, comp Compression) ([]byte, error) {
	control, err := controlFile(m, all, svc)
	if err != nil {
		return nil, err
	}
	ctl := map[string][]byte{"control": control}
	if md5sums != nil {
		ctl["md5sums"] = md5sums
	}
	modes := map[string]fs.FileMode{}
	conf, err := conffiles(m, t)
	if err != nil {
		return nil, err
	}
	if conf != nil {
		ctl["conffiles"] = conf
	}
	if err := scripts(m, svc, ctl, modes); err != nil {
		return nil, err
	}
	var ctar bytes.Buffer
	zc, err := compressor(comp, debGzipLevel, &ctar)
	if err != nil {
		return nil, err
	}
	ctree := &Tree{Entries: generated(nil, ctl, modes)}
	sortEntries(ctree.Entries)
	if err := writeTar(zc, ctree, tarOptions{Prefix: "./", Parents: true, Epoch: m.Epoch}); err != nil {
		zc.Close() // the zstd program's end
		return nil, err
	}
	if err := zc.Close(); err != nil {
		return nil, err
	}
	return ctar.Bytes(), nil
}

// interpreterPackage is the package a .deb or .rpm depends on for the
// venv's interpreter: the one named for the format, else what dpkg said of it
// (for .deb). A venv whose interpreter no package provides (pyenv, a shim, a
// venv, a build under /root or /home) cannot run where the package is
// installed: that is an error naming both ways out.
func interpreterPackage(m *Meta, named, format string) (string, error) {
	if named != "" {
		return named, nil
	}
	it := m.Venv.Interpreter
	if it.Package != "" {
		if format == "deb" {
			return it.Package, nil
		}
		return "", nil // a Debian name means nothing to rpm: Requires says it
	}
	return "", fmt.Errorf("the venv's interpreter %s (project.python %s) belongs to no package, so the .%s cannot depend on it and would not run where it is installed: build with the target's interpreter (project.python: /usr/bin/python3, the default), or name the package that provides it on the target with package.%s.python_package", it.Executable, m.Config.Project.Python, format, format)
}

// controlFile writes DEBIAN/control.
func controlFile(m *Meta, t *Tree, svc *service) ([]byte, error) {
	p := m.Config.Package.Deb
	depends := slices.Clone(p.Depends)
	pkg, err := interpreterPackage(m, p.PythonPackage, "deb")
	if err != nil {
		return nil, err
	}
	depends = append([]string{pkg}, depends...)
	for _, d := range m.Venv.Depends {
		if !slices.Contains(depends, d) {
			depends = append(depends, d)
		}
	}
	if svc != nil {
		// deb-systemd-helper and deb-systemd-invoke, as dh_installsystemd's
		// scripts use them.
		depends = append(depends, "init-system-helpers (>= 1.54~)")
	}
	if svc != nil && svc.createUser {
		depends = append(depends, "passwd")
	}
	var size int64
	for _, e := range t.Entries {
		// As dpkg-gencontrol: whole KiB per file, one per other inode.
		if e.Mode.IsRegular() && e.HardLink == "" {
			size += (e.Size + 1023) / 1024
		} else {
			size++
		}
	}
	para := deb822.Paragraph{
		{Name: "Package", Value: m.Name},
		{Name: "Version", Value: m.Version.Debian},
		{Name: "Architecture", Value: m.Arch},
		{Name: "Maintainer", Value: p.Maintainer},
		{Name: "Installed-Size", Value: fmt.Sprint(size)},
	}
	for _, f := range []struct {
		name string
		list []string
	}{{"Pre-Depends", p.PreDepends}, {"Depends", depends}, {"Recommends", p.Recommends}, {"Suggests", p.Suggests},
		{"Conflicts", p.Conflicts}, {"Replaces", p.Replaces}, {"Provides", p.Provides}} {
		if len(f.list) > 0 {
			para = append(para, deb822.Field{Name: f.name, Value: strings.Join(f.list, ", ")})
		}
	}
	para = append(para, deb822.Field{Name: "Section", Value: p.Section}, deb822.Field{Name: "Priority", Value: p.Priority})
	if m.Homepage != "" {
		para = append(para, deb822.Field{Name: "Homepage", Value: m.Homepage})
	}
	para = append(para, deb822.Field{Name: "Description", Value: m.Summary + "\n" + longDescription(m)})
	if m.Commit.SHA != "" {
		para = append(para, deb822.Field{Name: state.DebCommitField, Value: m.Commit.SHA})
	}
	var b bytes.Buffer
	if err := para.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func longDescription(m *Meta) string {
	var dists []string
	for _, d := range m.Venv.Distributions {
		dists = append(dists, d.Name+" "+d.Version)
	}
	text := fmt.Sprintf("The Python application %s %s in a virtual environment at %s (%s %s), built by GoPythonGo. It holds: %s.",
		m.Name, m.Version.PEP440, m.Venv.DeployPath, m.Venv.Interpreter.Implementation, m.Venv.Interpreter.Version, strings.Join(dists, ", "))
	return wrap(text, 72)
}

func wrap(s string, width int) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = w
			continue
		}
		line = strings.TrimSpace(line + " " + w)
	}
	return strings.Join(append(lines, line), "\n")
}

// conffiles lists the configuration files, which must be in the package.
func conffiles(m *Meta, t *Tree) ([]byte, error) {
	list := m.Config.Package.Deb.Conffiles
	if len(list) == 0 {
		return nil, nil
	}
	have := map[string]bool{}
	for _, e := range t.Entries {
		if e.Mode.IsRegular() {
			have["/"+e.Path] = true
		}
	}
	var b strings.Builder
	for _, f := range list {
		if !have[path.Clean(f)] {
			return nil, m.Config.Errorf("package.deb.conffiles", "%s is not a file of the package (conffiles are absolute paths on the target, below %s)", f, m.Venv.DeployPath)
		}
		b.WriteString(path.Clean(f) + "\n")
	}
	return []byte(b.String()), nil
}

// scripts adds the maintainer scripts: the project's, joined with the
// service's generated parts.
func scripts(m *Meta, svc *service, ctl map[string][]byte, modes map[string]fs.FileMode) error {
	own := map[string][]byte{}
	for phase, file := range m.Config.Package.Deb.Scripts {
		switch phase {
		case "preinst", "postinst", "prerm", "postrm":
		default:
			return m.Config.Errorf("package.deb.scripts", "%q is no maintainer script (valid: preinst, postinst, prerm, postrm)", phase)
		}
		data, err := fileread.Read(m.Config.Path(file), fileread.ProjectLimit)
		if err != nil {
			return fmt.Errorf("package.deb.scripts.%s: %w", phase, err)
		}
		own[phase] = data
	}
	gen := map[string]string{}
	if svc != nil {
		gen["postinst"], gen["prerm"], gen["postrm"] = svc.postinst(), svc.prerm(), svc.postrm()
	}
	phases := map[string]bool{}
	for p := range own {
		phases[p] = true
	}
	for p := range gen {
		phases[p] = true
	}
	for p := range phases {
		var data []byte
		var err error
		if g, ok := gen[p]; ok {
			data, err = maintainerScript(g, own[p], p)
		} else {
			data = own[p]
		}
		if err != nil {
			return err
		}
		ctl[p] = data
		modes[p] = 0o755
	}
	return nil
}

// copyrightFile writes a DEP-5 copyright file.
func copyrightFile(m *Meta) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: %s\n", m.Name)
	if m.Homepage != "" {
		fmt.Fprintf(&b, "Source: %s\n", m.Homepage)
	}
	license := orDefault(m.License, "unknown")
	fmt.Fprintf(&b, "\nFiles: *\nCopyright: %s\nLicense: %s\n", m.Copyright, license)
	var deps []string
	for _, d := range m.Venv.Distributions {
		if !d.IsProject {
			deps = append(deps, fmt.Sprintf("%s %s (%s)", d.Name, d.Version, orDefault(d.License, "licence not stated")))
		}
	}
	if len(deps) > 0 {
		sort.Strings(deps)
		fmt.Fprintf(&b, "Comment: The virtual environment also holds these Python distributions, each under\n its own licence (see its .dist-info directory):\n %s\n", strings.Join(deps, "\n "))
	}
	fmt.Fprintf(&b, "\nLicense: %s\n", license)
	if text := licenseText(m); text != "" {
		for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			if strings.TrimSpace(line) == "" {
				line = "."
			}
			b.WriteString(" " + line + "\n")
		}
	}
	return []byte(b.String())
}

// licenseText is the licence's text, or where Debian keeps it.
func licenseText(m *Meta) string {
	if f := m.Config.Package.LicenseFile; f != "" {
		if data, err := fileread.Read(m.Config.Path(f), fileread.ProjectLimit); err == nil {
			return string(data)
		}
	}
	common := map[string]string{"Apache-2.0": "Apache-2.0", "GPL-2.0": "GPL-2", "GPL-3.0": "GPL-3", "LGPL-2.1": "LGPL-2.1",
		"LGPL-3.0": "LGPL-3", "MPL-2.0": "MPL-2.0", "BSD-3-Clause": "BSD", "Artistic-2.0": "Artistic", "GFDL-1.3": "GFDL-1.3", "CC0-1.0": "CC0-1.0"}
	if f, ok := common[m.License]; ok {
		return "On Debian systems, the full text of the licence is in\n/usr/share/common-licenses/" + f + "."
	}
	if t, ok := licenseTexts[m.License]; ok {
		return strings.ReplaceAll(t, "{copyright}", m.Copyright)
	}
	return "The licence's text is not known to GoPythonGo; set package.license_file."
}

var licenseTexts = map[string]string{
	"MIT": `Copyright (c) {copyright}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
THE SOFTWARE.`,
	"ISC": `Copyright (c) {copyright}

Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH
REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND
FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR ANY SPECIAL, DIRECT,
INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES WHATSOEVER RESULTING FROM
LOSS OF USE, DATA OR PROFITS, WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR
OTHER TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE USE OR
PERFORMANCE OF THIS SOFTWARE.`,
}

// changelog writes the Debian changelog entry of this build.
func changelog(m *Meta) []byte {
	date := m.Epoch.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700")
	what := "Built by GoPythonGo"
	if m.Commit.SHA != "" {
		what += " from commit " + m.Commit.SHA
	}
	return []byte(fmt.Sprintf("%s (%s) %s; urgency=medium\n\n  * %s.\n\n -- %s  %s\n",
		m.Name, m.Version.Debian, m.Config.Package.Deb.Distribution, what, m.Config.Package.Deb.Maintainer, date))
}

// gzipBest compresses as gzip -9n does: best compression, no name, no time.
func gzipBest(data []byte) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}

func lintianFile(name string, more []string) []byte {
	var b strings.Builder
	for _, tag := range append(slices.Clone(lintianOverrides), more...) {
		fmt.Fprintf(&b, "%s: %s\n", name, tag)
	}
	return []byte(b.String())
}

// writeAtomic writes an artifact under a temporary name in dir and renames it
// into place when complete, and describes it.
func writeAtomic(dir, name string, format state.Format, arch string, write func(f *os.File) error) (state.Artifact, error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return state.Artifact{}, fmt.Errorf("create %s in %s: %w", name, dir, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := write(f); err != nil {
		f.Close()
		return state.Artifact{}, fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return state.Artifact{}, err
	}
	if err := f.Close(); err != nil {
		return state.Artifact{}, err
	}
	sum, size, err := hashFile(tmp)
	if err != nil {
		return state.Artifact{}, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return state.Artifact{}, err
	}
	return state.Artifact{Path: name, Format: format, SHA256: sum, Size: size, Arch: arch}, nil
}
