package venv

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// neededLibraries lists the shared libraries (sonames) that the ELF files of
// a tree need and that the tree does not bring itself (as the .libs
// directories of manylinux wheels do).
func neededLibraries(root string) ([]string, error) {
	own := map[string]bool{}
	var needed []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		own[d.Name()] = true
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		magic := make([]byte, 4)
		if _, err := io.ReadFull(f, magic); err != nil || !bytes.Equal(magic, []byte(elf.ELFMAG)) {
			return nil
		}
		ef, err := elf.NewFile(f)
		if err != nil {
			return nil // not an ELF file after all
		}
		libs, err := ef.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		needed = append(needed, libs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(needed)
	needed = slices.Compact(needed)
	return slices.DeleteFunc(needed, func(s string) bool { return own[s] }), nil
}

var sonameRE = regexp.MustCompile(`^(.+)\.so\.([0-9.]+)$`)

// libraryDepends maps sonames to the dependencies of the package, in the
// target environment, as dpkg-shlibdeps does: ldconfig finds the library,
// dpkg-query its package, and the package's shlibs file the dependency with
// its minimum version (the bare package name where there is none). Four
// commands in all, whatever the number of libraries: each one in an
// isolated builder costs a namespace or an exec.
func (b *build) libraryDepends(ctx context.Context, sonames []string) ([]string, error) {
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
	for _, so := range sonames {
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
		return nil, fmt.Errorf("find the packages of %s: %w (the chroot and container builders compute dependencies on Debian and Ubuntu systems)", strings.Join(sonames, ", "), err)
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
	files := []string{"sh", "-c", `for f; do [ -r "$f" ] && cat "$f"; done; exit 0`, "sh"}
	for _, so := range sonames {
		if pkg := owner[strings.TrimPrefix(paths[so], "/usr")]; pkg != "" {
			files = append(files, "/var/lib/dpkg/info/"+pkg+".shlibs", "/var/lib/dpkg/info/"+pkg+":"+arch+".shlibs")
		}
	}
	shlibs, err := run(files...)
	if err != nil {
		return nil, fmt.Errorf("read the shlibs files of the build system: %w", err)
	}
	var deps []string
	for _, so := range sonames {
		pkg := owner[strings.TrimPrefix(paths[so], "/usr")]
		if pkg == "" {
			return nil, fmt.Errorf("%s (%s) belongs to no package of the build system", so, paths[so])
		}
		dep := pkg
		if m := sonameRE.FindStringSubmatch(so); m != nil {
			for _, l := range strings.Split(shlibs, "\n") {
				// "libz 1 zlib1g (>= 1:1.1.4)"; a "udeb:" line is for the installer.
				f := strings.SplitN(strings.TrimSpace(l), " ", 3)
				if len(f) == 3 && f[0] == m[1] && f[1] == m[2] {
					dep = f[2]
					break
				}
			}
		}
		if !slices.Contains(deps, dep) {
			deps = append(deps, dep)
		}
	}
	slices.Sort(deps)
	return deps, nil
}
