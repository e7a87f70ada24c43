package venv

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	debversion "pault.ag/go/debian/version"

	"github.com/gopythongo/gopythongo/internal/lazy"
	"github.com/gopythongo/gopythongo/internal/python"
)

// walkELF calls fn for each regular ELF file below root, in walk order.
// Every file's first bytes say whether it is one (a wheel may ship an
// executable under any name), read on every CPU: a venv holds tens of
// thousands of files and a few hundred ELF files.
func walkELF(root string, fn func(path string, f *elf.File) error) error {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	isELF := make([]bool, len(files))
	if err := parallel(len(files), func(i int) error {
		f, err := os.Open(files[i])
		if err != nil {
			return err
		}
		defer f.Close()
		magic := make([]byte, 4)
		_, err = io.ReadFull(f, magic)
		isELF[i] = err == nil && bytes.Equal(magic, []byte(elf.ELFMAG))
		return nil
	}); err != nil {
		return err
	}
	for i, p := range files {
		if !isELF[i] {
			continue
		}
		if err := withELF(p, fn); err != nil {
			return err
		}
	}
	return nil
}

// withELF calls fn with the ELF file at p, if it is one after all.
func withELF(p string, fn func(path string, f *elf.File) error) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil // not an ELF file after all
	}
	return fn(p, ef)
}

// needs is what the ELF files of a tree import from shared libraries that
// the tree does not bring itself (as the .libs directories of manylinux
// wheels do).
type needs struct {
	libs []string // sonames, sorted
	// versioned symbols by soname ("crc32@ZLIB_1.2.0"), and the unversioned
	// ones, which can come from any of the libraries.
	versioned   map[string][]string
	unversioned []string
}

func neededLibraries(root string) (needs, error) {
	own := map[string]bool{}
	n := needs{versioned: map[string][]string{}}
	err := walkELF(root, func(p string, f *elf.File) error {
		own[filepath.Base(p)] = true
		libs, err := f.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		n.libs = append(n.libs, libs...)
		syms, _ := f.ImportedSymbols()
		for _, s := range syms {
			if s.Library != "" && s.Version != "" {
				n.versioned[s.Library] = append(n.versioned[s.Library], s.Name+"@"+s.Version)
			} else {
				n.unversioned = append(n.unversioned, s.Name)
			}
		}
		return nil
	})
	slices.Sort(n.libs)
	n.libs = slices.DeleteFunc(slices.Compact(n.libs), func(s string) bool { return own[s] })
	return n, err
}

// hasDebug says whether an ELF file carries a symbol table or debug sections.
func hasDebug(f *elf.File) bool {
	for _, s := range f.Sections {
		if s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug_") {
			return true
		}
	}
	return false
}

// stripDebug strips the unstripped ELF files of the venv as dh_strip does,
// with the build system's strip, which knows the target's architecture.
//
// Only what was compiled here is stripped: the ELF files of wheels tagged for
// plain linux_* (built from source by this build), of the given wheels. A
// manylinux or musllinux wheel is shipped as its maintainers built it, and
// auditwheel has rewritten its libraries with patchelf, which strip corrupts
// (numpy's OpenBLAS then fails to load: "ELF load command address/offset not
// page-aligned").
func (b *build) stripDebug(ctx context.Context, wheels []WheelFile) (int, error) {
	own, err := b.builtHere(wheels)
	if err != nil {
		return 0, err
	}
	var files []string
	for _, rel := range slices.Sorted(maps.Keys(own)) {
		p := filepath.Join(b.staging, rel)
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			continue // left out by venv.strip, or no file
		}
		if err := withELF(p, func(_ string, f *elf.File) error {
			if hasDebug(f) {
				files = append(files, rel)
			}
			return nil
		}); err != nil {
			return 0, err
		}
	}
	if len(files) == 0 {
		return 0, nil
	}
	argv := []string{"strip", "--remove-section=.comment", "--remove-section=.note", "--strip-unneeded", "--"}
	for _, f := range files {
		argv = append(argv, filepath.Join(b.deploy, f))
	}
	var out strings.Builder
	if err := b.builder.Run(ctx, Command{Argv: argv, Env: b.pip.Env, Dir: "/", Stdout: &out, Stderr: &out}); err != nil {
		return 0, fmt.Errorf("strip debug symbols from %d file(s): %w\n%s\n(strip comes with binutils: install it in the build system, or set venv.strip_debug: false)", len(files), err, tail(out.String(), 10))
	}
	return len(files), nil
}

var sonameRE = lazy.Regexp(`^(.+)\.so\.([0-9.]+)$`)

// libraryDepends maps the needed libraries to the dependencies of the
// package, in the build system, as dpkg-shlibdeps does: ldconfig finds each
// library, dpkg-query its package; the package's symbols file gives the
// dependency with the highest minimum version of the symbols used, and
// where there is none, its shlibs file gives it. Four commands in all,
// whatever the number of libraries: each costs a namespace or an exec in an
// isolated builder.
func (b *build) libraryDepends(ctx context.Context, n needs) ([]string, error) {
	run := func(argv ...string) (string, error) {
		var out, errb strings.Builder
		err := b.builder.Run(ctx, Command{Argv: argv, Env: b.pip.Env, Dir: "/", Stdout: &out, Stderr: &errb})
		if err != nil {
			return out.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(errb.String()))
		}
		return out.String(), nil
	}
	cache, err := run("/sbin/ldconfig", "-p")
	if err != nil {
		return nil, fmt.Errorf("list the shared libraries of the build system: %w", err)
	}
	paths := map[string]string{}
	for _, l := range strings.Split(cache, "\n") {
		// "	libz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1"
		name, rest, ok := strings.Cut(strings.TrimSpace(l), " (")
		if _, path, ok2 := strings.Cut(rest, "=> "); ok && ok2 && paths[name] == "" {
			paths[name] = path
		}
	}
	query := []string{"dpkg-query", "-S"}
	for _, so := range n.libs {
		path := paths[so]
		if path == "" {
			return nil, fmt.Errorf("the venv's compiled code needs %s, which the build system does not have: install its package there (venv.chroot.install, or the build image)", so)
		}
		// merged /usr: a library found in /lib may be registered under /usr/lib.
		query = append(query, path, "/usr"+path)
	}
	// dpkg-query fails when any path is unknown and still names the owners of
	// the others: its answer is read either way.
	owned, err := run(query...)
	if owned == "" {
		return nil, fmt.Errorf("find the packages of %s: %w (dependencies on shared libraries are computed on Debian and Ubuntu systems)", strings.Join(n.libs, ", "), err)
	}
	owner := map[string]string{} // path -> package
	for _, l := range strings.Split(owned, "\n") {
		// "zlib1g:amd64: /lib/x86_64-linux-gnu/libz.so.1"
		pkgs, path, ok := strings.Cut(l, ": ")
		if !ok {
			continue
		}
		pkg, _, _ := strings.Cut(strings.Split(pkgs, ", ")[0], ":")
		owner[strings.TrimPrefix(path, "/usr")] = pkg
	}
	arch, _ := run("dpkg", "--print-architecture")
	arch = strings.TrimSpace(arch)
	read := []string{"sh", "-c", `for f; do [ -r "$f" ] && printf '\n==> %s\n' "$f" && cat "$f"; done; exit 0`, "sh"}
	for _, so := range n.libs {
		if pkg := owner[strings.TrimPrefix(paths[so], "/usr")]; pkg != "" {
			for _, kind := range []string{"symbols", "shlibs"} {
				read = append(read, "/var/lib/dpkg/info/"+pkg+"."+kind, "/var/lib/dpkg/info/"+pkg+":"+arch+"."+kind)
			}
		}
	}
	files, err := run(read...)
	if err != nil {
		return nil, fmt.Errorf("read the symbols and shlibs files of the build system: %w", err)
	}
	var symbols, shlibs []string
	for _, f := range strings.Split(files, "\n==> ")[1:] {
		name, body, _ := strings.Cut(f, "\n")
		if strings.HasSuffix(name, ".symbols") {
			symbols = append(symbols, strings.Split(body, "\n")...)
		} else {
			shlibs = append(shlibs, strings.Split(body, "\n")...)
		}
	}
	var deps []string
	for _, so := range n.libs {
		pkg := owner[strings.TrimPrefix(paths[so], "/usr")]
		if pkg == "" {
			return nil, fmt.Errorf("%s (%s) belongs to no package of the build system", so, paths[so])
		}
		dep, ok := fromSymbols(symbols, so, n.versioned[so], n.unversioned)
		if !ok {
			dep = fromShlibs(shlibs, so, pkg)
		}
		if !slices.Contains(deps, dep) {
			deps = append(deps, dep)
		}
	}
	slices.Sort(deps)
	return deps, nil
}

// fromSymbols reads the dependency on soname from the lines of symbols files
// (deb-symbols(5)): the main template with #MINVER# replaced by the highest
// minimum version of the symbols used.
func fromSymbols(lines []string, soname string, versioned, unversioned []string) (string, bool) {
	used := map[string]bool{}
	for _, s := range versioned {
		used[s] = true
	}
	for _, s := range unversioned {
		used[s+"@Base"] = true
	}
	template, in := "", false
	var minver debversion.Version
	for _, l := range lines {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		switch l[0] {
		case '|', '*':
			// alternative templates and fields of the current library
		case ' ':
			// " crc32@Base 1:1.1.4", " (c++)\"...\"@Base 1.0 1", " (optional)x@Base 1.0"
			f := strings.Fields(l)
			if !in || len(f) < 2 {
				continue
			}
			sym := f[0]
			if strings.HasPrefix(sym, "(") {
				if _, rest, ok := strings.Cut(sym, ")"); ok {
					sym = rest
				}
			}
			if !used[sym] || f[1] == "0" {
				continue
			}
			if v, err := debversion.Parse(f[1]); err == nil && (minver.Version == "" || debversion.Compare(v, minver) > 0) {
				minver = v
			}
		default: // "libz.so.1 zlib1g #MINVER#" starts a library's section
			lib, tmpl, _ := strings.Cut(l, " ")
			if in = lib == soname; in {
				template = tmpl
			}
		}
	}
	if template == "" {
		return "", false
	}
	ver := ""
	if minver.Version != "" {
		ver = "(>= " + minver.String() + ")"
	}
	return strings.TrimSpace(strings.ReplaceAll(template, "#MINVER#", ver)), true
}

// fromShlibs reads the dependency on soname from the lines of shlibs files
// ("libz 1 zlib1g (>= 1:1.1.4)"), or is the bare package.
func fromShlibs(lines []string, soname, pkg string) string {
	m := sonameRE().FindStringSubmatch(soname)
	if m == nil {
		return pkg
	}
	for _, l := range lines {
		// a "udeb:" line is for the installer and does not match.
		f := strings.SplitN(strings.TrimSpace(l), " ", 3)
		if len(f) == 3 && f[0] == m[1] && f[1] == m[2] {
			return f[2]
		}
	}
	return pkg
}

// builtHere lists the venv's files (relative to it) that come from wheels
// built by this build: those tagged for plain linux_* platforms, which no
// repair tool has touched.
func (b *build) builtHere(wheels []WheelFile) (map[string]bool, error) {
	out := map[string]bool{}
	site := filepath.Join(b.staging, filepath.FromSlash(b.layout().site()))
	for _, w := range wheels {
		pw, err := python.ParseWheelName(w.File)
		if err != nil {
			return nil, err
		}
		local := !pw.IsPure()
		for _, t := range pw.Tags {
			if !strings.HasPrefix(t.Platform, "linux_") {
				local = false
			}
		}
		if !local {
			continue
		}
		info := python.FindDistInfo(site, pw.Name, pw.Version)
		if info == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(info, "RECORD"))
		if err != nil {
			return nil, fmt.Errorf("read the RECORD of %s: %w", pw.Name, err)
		}
		entries, err := python.ParseRecord(data)
		if err != nil {
			return nil, fmt.Errorf("the RECORD of %s: %w", pw.Name, err)
		}
		for _, e := range entries {
			rel, err := filepath.Rel(b.staging, filepath.Join(site, filepath.FromSlash(e.Path)))
			if err == nil && !strings.HasPrefix(rel, "..") {
				out[rel] = true
			}
		}
	}
	return out, nil
}
