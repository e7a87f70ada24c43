package venv

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/gopythongo/gopythongo/internal/fdio"
	"github.com/gopythongo/gopythongo/internal/fsroot"
	"github.com/gopythongo/gopythongo/internal/lazy"
	"github.com/gopythongo/gopythongo/internal/python"
)

// nativeInstaller unpacks wheels into the venv as the binary distribution
// format (PEP 427, PEP 491) says, without starting Python: what pip install
// --no-deps --no-compile does, in a fraction of the time. Every file is
// created beneath the venv without following a link and never replaces one
// that exists (the venv's own bin/python3 links to the interpreter of the build
// machine), each member is streamed and checked against the wheel's RECORD, and
// console scripts are written as pip writes them: the tree pip would make.
type nativeInstaller struct {
	staging string // the venv on this machine
	deploy  string // where it lives on the target, for shebangs
	layout  layout
	limits  python.WheelLimits
	// progress, when set, hears of every distribution installed.
	progress func(format string, args ...any)
	// needles, when set, are looked for in every file as it is written,
	// and known gets each file's hash, size and needle (by its path below
	// the venv), for the check that follows (scanTree).
	needles *needleSet
	mu      sync.Mutex
	known   map[string]knownFile
	// placed, when set, gets every path (below the venv) each wheel puts
	// into it, by the wheel's file name, once all are planned: what the
	// project's wheel owns in the tree (ownedByProject).
	placed map[string][]string
}

// learn records what was written to fd at rel.
func (n *nativeInstaller) learn(fd int, rel, sum, md5sum string, size int64, leak string) error {
	if n.known == nil {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.known[rel] = knownFile{sha256: sum, md5: md5sum, size: size, leak: leak, st: stampOfStat(&st)}
	return nil
}

// layout places wheel members in a venv (the install schemes of sysconfig's
// venv layout on POSIX), as paths relative to the venv.
type layout struct{ pyver string } // 3.11

func (l layout) site() string { return "lib/python" + l.pyver + "/site-packages" }

// place maps a member of the wheel to its path in the venv, and says whether it
// is a script whose #!python line is rewritten.
func (l layout) place(a *python.WheelArchive, name string) (rel string, script bool, err error) {
	if a.DataDir == "" || !strings.HasPrefix(name, a.DataDir+"/") {
		return l.site() + "/" + name, false, nil
	}
	scheme, sub, _ := strings.Cut(strings.TrimPrefix(name, a.DataDir+"/"), "/")
	if sub == "" {
		return "", false, fmt.Errorf("%s names no file below its install scheme", name)
	}
	switch scheme {
	case "purelib", "platlib":
		return l.site() + "/" + sub, false, nil
	case "scripts":
		return "bin/" + sub, true, nil
	case "headers":
		return "include/site/python" + l.pyver + "/" + a.Name + "/" + sub, false, nil
	case "data":
		return sub, false, nil
	}
	return "", false, fmt.Errorf("%s: unknown install scheme %q in the wheel's .data directory", name, scheme)
}

// placement is a file a wheel puts into the venv.
type placement struct {
	member *zip.File          // nil for a script made from an entry point
	entry  *python.EntryPoint // the console or GUI script
	rel    string             // relative to the venv
	script bool
}

// venvFiles are what python -m venv makes, which no wheel may replace, present
// or not: pip would overwrite them (and, through the bin/python3 link, the
// build machine's interpreter) without a word.
var venvFiles = lazy.Regexp(`^(bin/(python[0-9.]*|activate|activate\.(csh|fish|nu|bat|ps1)|Activate\.ps1|deactivate\.bat)|pyvenv\.cfg)$`)

// plan lists what a wheel puts where, checking each place against the files of
// earlier wheels (owner) and the venv's own: the same for both installers.
// exists, when given, asks whether a path is taken already (the pip installer
// asks before pip writes; the native one creates every file exclusively).
func (l layout) plan(a *python.WheelArchive, owner map[string]string, exists func(rel string) (bool, error)) ([]placement, error) {
	var out []placement
	skip := map[string]bool{a.InfoDir + "/INSTALLER": true, a.InfoDir + "/REQUESTED": true} // written by the installer
	for _, f := range a.Members {
		if skip[f.Name] {
			continue
		}
		rel, script, err := l.place(a, f.Name)
		if err != nil {
			return nil, &python.WheelError{File: a.File, Member: f.Name, Reason: err.Error()}
		}
		out = append(out, placement{member: f, rel: rel, script: script})
	}
	data, err := a.ReadFile(a.InfoDir + "/entry_points.txt")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	eps, err := python.ParseEntryPoints(data)
	if err != nil {
		return nil, &python.WheelError{File: a.File, Member: a.InfoDir + "/entry_points.txt", Reason: err.Error()}
	}
	for i := range eps {
		out = append(out, placement{entry: &eps[i], rel: "bin/" + eps[i].Name})
	}
	for _, p := range out {
		what := p.rel
		if p.member != nil {
			what = p.member.Name
		}
		if prev, ok := owner[p.rel]; ok {
			return nil, fmt.Errorf("wheel %s: %s would overwrite %s, a file of %s; two distributions cannot own one file", a.File, what, p.rel, prev)
		}
		if _, err := fsroot.Clean(p.rel); err != nil {
			return nil, &python.WheelError{File: a.File, Member: what, Reason: "would land outside the venv"}
		}
		found := false
		if exists != nil {
			found, err = exists(p.rel)
		}
		if errors.Is(err, fsroot.ErrSymlink) {
			return nil, fmt.Errorf("wheel %s: %s would be written through a symbolic link of the venv (%s); nothing is written through a link", a.File, what, p.rel)
		}
		if err != nil {
			return nil, fmt.Errorf("wheel %s: %s: %w", a.File, what, err)
		}
		if found || venvFiles().MatchString(p.rel) {
			return nil, fmt.Errorf("wheel %s: %s would replace %s, which the venv itself made; a wheel may not replace the interpreter or the venv's files", a.File, what, p.rel)
		}
		owner[p.rel] = a.File
	}
	return out, nil
}

// rootExists asks a root whether rel exists, without following links.
func rootExists(r *fsroot.Root) func(string) (bool, error) {
	return func(rel string) (bool, error) {
		_, err := r.Lstat(rel)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
}

func (n *nativeInstaller) Install(ctx context.Context, _ Builder, wheels []WheelFile) error {
	root, err := fsroot.Open(n.staging)
	if err != nil {
		return fmt.Errorf("open the venv: %w", err)
	}
	defer root.Close()
	// Every wheel is checked and planned before anything is written: two
	// wheels that would write one file are refused with nothing installed,
	// and the wheels, whose paths are then disjoint, are written on every CPU.
	owner := map[string]string{} // path -> wheel, to refuse two wheels writing one file
	archives := make([]*python.WheelArchive, len(wheels))
	plans := make([][]placement, len(wheels))
	defer func() {
		for _, a := range archives {
			if a != nil {
				a.Close()
			}
		}
	}()
	for i, w := range wheels {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		a, err := python.OpenWheel(w.Path, n.limits)
		if err != nil {
			return fmt.Errorf("install %s: %w", w.File, err)
		}
		archives[i] = a
		if plans[i], err = n.layout.plan(a, owner, nil); err != nil {
			return fmt.Errorf("install %s: %w", w.File, err)
		}
		if n.placed != nil {
			rels := make([]string, 0, len(plans[i])+3)
			for _, p := range plans[i] {
				rels = append(rels, p.rel)
			}
			for _, f := range []string{"INSTALLER", "REQUESTED", "RECORD"} {
				rels = append(rels, n.layout.site()+"/"+a.InfoDir+"/"+f)
			}
			n.placed[w.File] = rels
		}
	}
	var done atomic.Int64
	return parallelWorkers(len(wheels), func() (func(i int) error, func()) {
		// Each worker has its own handle on the venv (its made-directory
		// memo is not shared) and its own buffer.
		wroot, err := fsroot.Open(n.staging)
		buf := make([]byte, 256<<10)
		return func(i int) error {
				if err != nil {
					return fmt.Errorf("open the venv: %w", err)
				}
				if err := ctx.Err(); err != nil {
					return context.Cause(ctx)
				}
				if err := n.installOne(ctx, wroot, archives[i], plans[i], buf); err != nil {
					return fmt.Errorf("install %s: %w", wheels[i].File, err)
				}
				if n.progress != nil {
					n.progress("%d of %d distributions, %s", done.Add(1), len(wheels), wheels[i].File)
				}
				return nil
			}, func() {
				if wroot != nil {
					wroot.Close()
				}
			}
	})
}

func (n *nativeInstaller) installOne(ctx context.Context, root *fsroot.Root, a *python.WheelArchive, plan []placement, buf []byte) error {
	var err error
	site := n.layout.site()
	var installed []python.RecordEntry
	for _, p := range plan {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		var e python.RecordEntry
		if p.entry != nil {
			e, err = n.writeData(root, p.rel, n.scriptFor(*p.entry), 0o755)
		} else {
			e, err = n.writeMember(root, a, p, buf)
		}
		if err != nil {
			return fmt.Errorf("wheel %s: %w", a.File, err)
		}
		installed = append(installed, e)
	}
	for _, extra := range []struct {
		name string
		data []byte
	}{{"INSTALLER", []byte("gopythongo\n")}, {"REQUESTED", nil}} {
		e, err := n.writeData(root, site+"/"+a.InfoDir+"/"+extra.name, extra.data, 0o644)
		if err != nil {
			return err
		}
		installed = append(installed, e)
	}
	installed = append(installed, python.RecordEntry{Path: a.InfoDir + "/RECORD"})
	sort.Slice(installed, func(i, j int) bool { return installed[i].Path < installed[j].Path })
	// The wheel's own RECORD is not a member (it cannot list itself), so
	// nothing has written this path yet.
	_, err = n.writeData(root, site+"/"+a.InfoDir+"/RECORD", python.FormatRecord(installed), 0o644)
	return err
}

// createErr names what a failed create means: a path that exists is one the
// venv made (the plan refused other wheels' files), a link is not written
// through.
func createErr(what, rel string, err error) error {
	switch {
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s would replace %s, which the venv itself made; a wheel may not replace the interpreter or the venv's files", what, rel)
	case errors.Is(err, fsroot.ErrSymlink):
		return fmt.Errorf("%s would be written through a symbolic link of the venv (%s); nothing is written through a link", what, rel)
	}
	return fmt.Errorf("write %s: %w", rel, err)
}

// writeMember streams a member into the venv, checked against RECORD as it
// goes, and returns its line for the installed RECORD.
func (n *nativeInstaller) writeMember(root *fsroot.Root, a *python.WheelArchive, p placement, buf []byte) (python.RecordEntry, error) {
	// As pip: executable when the wheel says so, scripts included.
	mode := fs.FileMode(0o644)
	if p.member.Mode()&0o111 != 0 {
		mode = 0o755
	}
	rc, err := a.Open(p.member)
	if err != nil {
		return python.RecordEntry{}, err
	}
	defer rc.Close()
	var src io.Reader = rc
	rewritten := false
	if p.script {
		br := bufio.NewReaderSize(rc, 4096)
		head, _ := br.Peek(4096)
		if m := pythonShebang().FindSubmatch(head); m != nil {
			if _, err := br.Discard(len(m[0])); err != nil {
				return python.RecordEntry{}, err
			}
			src = io.MultiReader(strings.NewReader(n.shebang()+string(m[2])+"\n"), br)
			rewritten = true
		} else {
			src = br
		}
	}
	// A plain descriptor: an *os.File costs two system calls more a file.
	fd, err := root.CreateFD(p.rel, mode)
	if err != nil {
		return python.RecordEntry{}, createErr(p.member.Name, p.rel, err)
	}
	// A member written as it is keeps the hash its RECORD gives, as pip
	// keeps it, which the reader checks once it reaches the end; it is
	// hashed here only for a sha256 that RECORD does not give (the tree's
	// record needs one) and for a rewritten script.
	recorded, sum := a.RecordedHash(p.member)
	var h hash.Hash
	ws := []io.Writer{fdio.Writer(fd)}
	if sum == nil || rewritten {
		h = sha256.New()
		ws = append(ws, h)
	}
	// The md5 is for a .deb's md5sums, which then need not read the
	// tree again (treesums).
	var leaks *leakFinder
	var m hash.Hash
	if n.known != nil {
		leaks, m = n.needles.finder(), md5.New()
		ws = append(ws, leaks, m)
	}
	size, err := io.CopyBuffer(io.MultiWriter(ws...), src, buf)
	if h != nil {
		sum = h.Sum(nil)
	}
	if err == nil && leaks != nil {
		err = n.learn(fd, p.rel, hex.EncodeToString(sum), hex.EncodeToString(m.Sum(nil)), size, leaks.found)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return python.RecordEntry{}, err
	}
	if rewritten {
		recorded = "sha256=" + base64.RawURLEncoding.EncodeToString(sum)
	}
	return n.entry(p.rel, recorded, size), nil
}

func (n *nativeInstaller) writeData(root *fsroot.Root, rel string, data []byte, mode fs.FileMode) (python.RecordEntry, error) {
	fd, err := root.CreateFD(rel, mode)
	if err != nil {
		return python.RecordEntry{}, createErr(rel, rel, err)
	}
	_, err = fdio.Writer(fd).Write(data)
	if err == nil && n.known != nil {
		sum, m := sha256.Sum256(data), md5.Sum(data)
		err = n.learn(fd, rel, hex.EncodeToString(sum[:]), hex.EncodeToString(m[:]), int64(len(data)), n.needles.find(data))
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return python.RecordEntry{}, err
	}
	return n.entry(rel, python.RecordHash(data), int64(len(data))), nil
}

var pythonShebang = lazy.Regexp(`^#!python(w?)([^\n]*)\n`)

// shebang is the venv interpreter's #! line, at the deploy path.
func (n *nativeInstaller) shebang() string { return "#!" + path.Join(n.deploy, "bin", "python") }

// entry is the RECORD line of an installed file, its path relative to
// site-packages as pip writes it (../../../bin/hello).
func (n *nativeInstaller) entry(rel, hash string, size int64) python.RecordEntry {
	site := n.layout.site()
	if r, ok := strings.CutPrefix(rel, site+"/"); ok {
		return python.RecordEntry{Path: r, Hash: hash, Size: size}
	}
	return python.RecordEntry{Path: strings.Repeat("../", strings.Count(site, "/")+1) + rel, Hash: hash, Size: size}
}

// scriptFor is pip's template of a console or GUI script.
func (n *nativeInstaller) scriptFor(ep python.EntryPoint) []byte {
	importName, _, _ := strings.Cut(ep.Attr, ".")
	return []byte(fmt.Sprintf("%s\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom %s import %s\nif __name__ == '__main__':\n    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    sys.exit(%s())\n",
		n.shebang(), ep.Module, importName, ep.Attr))
}
