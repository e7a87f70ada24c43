package venv

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/gopythongo/gopythongo/internal/python"
)

// nativeInstaller unpacks wheels into the venv as the binary distribution
// format (PEP 427, PEP 491) says, without starting Python: what pip install
// --no-deps --no-compile does, in a fraction of the time. It writes straight
// into the staging directory, verifies every file against the wheel's RECORD,
// refuses entries that would land outside the venv, and writes console scripts
// as pip does, so that the result is the same tree pip would make.
type nativeInstaller struct {
	staging string // the venv on this machine
	deploy  string // where it lives on the target, for shebangs
	pyver   string // 3.11
}

func (n *nativeInstaller) sitePackages() string {
	return filepath.Join(n.staging, "lib", "python"+n.pyver, "site-packages")
}

func (n *nativeInstaller) Install(_ context.Context, _ Builder, wheels []WheelFile) error {
	owner := map[string]string{} // file -> wheel, to refuse two wheels writing one file
	for _, w := range wheels {
		if err := n.installOne(w, owner); err != nil {
			return fmt.Errorf("install %s: %w", w.File, err)
		}
	}
	return nil
}

// recordEntry is a line of a RECORD file.
type recordEntry struct {
	path, hash string
	size       int64
}

func (n *nativeInstaller) installOne(w WheelFile, owner map[string]string) error {
	pw, err := python.ParseWheelName(w.File)
	if err != nil {
		return err
	}
	zr, err := zip.OpenReader(w.Path)
	if err != nil {
		return fmt.Errorf("not a readable wheel: %w", err)
	}
	defer zr.Close()
	files := map[string]*zip.File{}
	var infoDir, dataDir string
	for _, f := range zr.File {
		files[f.Name] = f
		top, _, _ := strings.Cut(f.Name, "/")
		switch {
		case strings.HasSuffix(top, ".dist-info") && sameDist(strings.TrimSuffix(top, ".dist-info"), pw):
			infoDir = top
		case strings.HasSuffix(top, ".data") && sameDist(strings.TrimSuffix(top, ".data"), pw):
			dataDir = top
		}
	}
	if infoDir == "" {
		return fmt.Errorf("no %s-%s.dist-info directory in the wheel", pw.Name, pw.Version)
	}
	wheelMeta, err := readZipFile(files[infoDir+"/WHEEL"])
	if err != nil {
		return fmt.Errorf("%s/WHEEL: %w", infoDir, err)
	}
	if v := field(wheelMeta, "Wheel-Version"); !strings.HasPrefix(v, "1.") {
		return fmt.Errorf("Wheel-Version %q is not supported (1.x is)", v)
	}
	record, err := readRecord(files[infoDir+"/RECORD"])
	if err != nil {
		return fmt.Errorf("%s/RECORD: %w", infoDir, err)
	}
	site := n.sitePackages()
	var installed []recordEntry
	for _, f := range zr.File {
		name := f.Name
		if strings.HasSuffix(name, "/") || name == infoDir+"/RECORD" || name == infoDir+"/RECORD.jws" || name == infoDir+"/RECORD.p7s" {
			continue
		}
		want, listed := record[name]
		if !listed {
			return fmt.Errorf("%s is in the wheel but not in its RECORD", name)
		}
		dst, script, err := n.destination(name, dataDir, pw.Name)
		if err != nil {
			return err
		}
		data, err := readZipFile(f)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if want.hash != "" {
			if got := recordHash(data); got != want.hash {
				return fmt.Errorf("%s does not match its RECORD hash (%s, the wheel has %s): the wheel is corrupt or was altered", name, want.hash, got)
			}
		}
		// As pip: executable when the wheel says so, scripts included.
		mode := os.FileMode(0o644)
		if f.Mode()&0o111 != 0 {
			mode = 0o755
		}
		if script {
			data = n.fixShebang(data)
		}
		if prev, ok := owner[dst]; ok {
			return fmt.Errorf("%s would overwrite a file of %s", name, prev)
		}
		owner[dst] = w.File
		if err := writeFile(dst, data, mode); err != nil {
			return err
		}
		installed = append(installed, n.entry(dst, data))
	}
	scripts, err := n.entryPoints(files[infoDir+"/entry_points.txt"])
	if err != nil {
		return err
	}
	for _, s := range scripts {
		dst := filepath.Join(n.staging, "bin", s.name)
		if prev, ok := owner[dst]; ok {
			return fmt.Errorf("console script %s would overwrite a file of %s", s.name, prev)
		}
		owner[dst] = w.File
		if err := writeFile(dst, s.data, 0o755); err != nil {
			return err
		}
		installed = append(installed, n.entry(dst, s.data))
	}
	for _, extra := range []struct {
		name string
		data []byte
	}{{"INSTALLER", []byte("gopythongo\n")}, {"REQUESTED", nil}} {
		dst := filepath.Join(site, infoDir, extra.name)
		if err := writeFile(dst, extra.data, 0o644); err != nil {
			return err
		}
		installed = append(installed, n.entry(dst, extra.data))
	}
	installed = append(installed, recordEntry{path: infoDir + "/RECORD"})
	sort.Slice(installed, func(i, j int) bool { return installed[i].path < installed[j].path })
	// Python's csv module ends lines with CRLF, and so does pip's RECORD.
	var out bytes.Buffer
	for _, e := range installed {
		if e.hash == "" {
			fmt.Fprintf(&out, "%s,,\r\n", csvField(e.path))
		} else {
			fmt.Fprintf(&out, "%s,%s,%d\r\n", csvField(e.path), e.hash, e.size)
		}
	}
	return writeFile(filepath.Join(site, infoDir, "RECORD"), out.Bytes(), 0o644)
}

// sameDist compares the name-version prefix of a wheel's directories with its
// file name, normalized.
func sameDist(prefix string, w python.Wheel) bool {
	name, ver, ok := strings.Cut(prefix, "-")
	return ok && python.Normalize(name) == python.Normalize(w.Name) && ver == w.Version
}

// destination maps a wheel entry to its place in the venv.
func (n *nativeInstaller) destination(name, dataDir, dist string) (dst string, script bool, err error) {
	site := n.sitePackages()
	if dataDir == "" || !strings.HasPrefix(name, dataDir+"/") {
		dst, err = SafeJoin(site, name)
		return dst, false, err
	}
	rest := strings.TrimPrefix(name, dataDir+"/")
	scheme, sub, _ := strings.Cut(rest, "/")
	var base string
	switch scheme {
	case "purelib", "platlib":
		base = site
	case "scripts":
		base, script = filepath.Join(n.staging, "bin"), true
	case "headers":
		base = filepath.Join(n.staging, "include", "site", "python"+n.pyver, dist)
	case "data":
		base = n.staging
	default:
		return "", false, fmt.Errorf("%s: unknown install scheme %q in the wheel's .data directory", name, scheme)
	}
	dst, err = SafeJoin(base, sub)
	return dst, script, err
}

var pythonShebang = regexp.MustCompile(`^#!python(w?)([^\n]*)\n`)

// fixShebang points a script's "#!python" at the venv's interpreter.
func (n *nativeInstaller) fixShebang(data []byte) []byte {
	if m := pythonShebang.FindSubmatch(data); m != nil {
		return append([]byte("#!"+path.Join(n.deploy, "bin", "python")+string(m[2])+"\n"), data[len(m[0]):]...)
	}
	return data
}

// entry is the RECORD line of an installed file, its path relative to
// site-packages as pip writes it (../../../bin/hello).
func (n *nativeInstaller) entry(dst string, data []byte) recordEntry {
	rel, _ := filepath.Rel(n.sitePackages(), dst)
	return recordEntry{path: filepath.ToSlash(rel), hash: recordHash(data), size: int64(len(data))}
}

func recordHash(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:])
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

type script struct {
	name string
	data []byte
}

// entryPoints makes the console and GUI scripts of entry_points.txt, with
// pip's template.
func (n *nativeInstaller) entryPoints(f *zip.File) ([]script, error) {
	if f == nil {
		return nil, nil
	}
	data, err := readZipFile(f)
	if err != nil {
		return nil, err
	}
	var out []script
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[] ")
		case section == "console_scripts" || section == "gui_scripts":
			name, target, ok := strings.Cut(line, "=")
			name, target = strings.TrimSpace(name), strings.TrimSpace(target)
			target, _, _ = strings.Cut(target, "[") // extras do not change the script
			module, attr, hasAttr := strings.Cut(strings.TrimSpace(target), ":")
			module, attr = strings.TrimSpace(module), strings.TrimSpace(attr)
			if !ok || !hasAttr || name == "" || module == "" || attr == "" || strings.ContainsAny(name, "/\\") {
				return nil, fmt.Errorf("entry_points.txt: %q is not name = module:function", line)
			}
			importName, _, _ := strings.Cut(attr, ".")
			body := fmt.Sprintf("#!%s\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom %s import %s\nif __name__ == '__main__':\n    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    sys.exit(%s())\n",
				path.Join(n.deploy, "bin", "python"), module, importName, attr)
			out = append(out, script{name: name, data: []byte(body)})
		}
	}
	return out, sc.Err()
}

func readZipFile(f *zip.File) ([]byte, error) {
	if f == nil {
		return nil, errors.New("missing")
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 1<<32))
}

func field(meta []byte, name string) string {
	for _, line := range strings.Split(string(meta), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// readRecord reads a RECORD (CSV: path, hash, size).
func readRecord(f *zip.File) (map[string]recordEntry, error) {
	data, err := readZipFile(f)
	if err != nil {
		return nil, err
	}
	out := map[string]recordEntry{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		fields, err := splitCSV(line)
		if err != nil || len(fields) < 1 {
			return nil, fmt.Errorf("bad line %q", line)
		}
		e := recordEntry{path: fields[0]}
		if len(fields) > 1 {
			e.hash = fields[1]
			if e.hash != "" && !strings.HasPrefix(e.hash, "sha256=") && !strings.HasPrefix(e.hash, "sha384=") && !strings.HasPrefix(e.hash, "sha512=") {
				return nil, fmt.Errorf("%s: hash %q uses no accepted algorithm (sha256 or stronger)", e.path, e.hash)
			}
			if !strings.HasPrefix(e.hash, "sha256=") {
				e.hash = "" // verified by the wheel's own tools; we check sha256 ones
			}
		}
		out[e.path] = e
	}
	return out, nil
}

func splitCSV(line string) ([]string, error) {
	var out []string
	for len(line) > 0 || len(out) == 0 {
		if strings.HasPrefix(line, `"`) {
			var b strings.Builder
			i := 1
			for {
				j := strings.IndexByte(line[i:], '"')
				if j < 0 {
					return nil, errors.New("unterminated quote")
				}
				b.WriteString(line[i : i+j])
				i += j + 1
				if strings.HasPrefix(line[i:], `"`) {
					b.WriteByte('"')
					i++
					continue
				}
				break
			}
			out = append(out, b.String())
			line = strings.TrimPrefix(line[i:], ",")
			continue
		}
		v, rest, more := strings.Cut(line, ",")
		out = append(out, v)
		line = rest
		if !more {
			break
		}
		if rest == "" {
			out = append(out, "")
		}
	}
	return out, nil
}

func writeFile(dst string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}
