// Package fsroot writes files beneath a directory without ever resolving a path
// through a symbolic link. Whatever an archive, a wheel or a post_build command
// left in a tree (a link to the build machine's interpreter, to /etc, to ..), a
// write through a Root lands inside the directory or fails.
//
// Paths are opened with openat2(2) and RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS where
// the kernel has it (Linux 5.6), and component by component with O_NOFOLLOW
// elsewhere. New files are created with O_EXCL: a Root never replaces what is
// already there.
package fsroot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// ErrSymlink means a path runs through, or ends in, a symbolic link.
var ErrSymlink = errors.New("the path runs through a symbolic link, and nothing is written through one")

// ErrOutside means a path is absolute or climbs out of the root.
var ErrOutside = errors.New("the path is not beneath the root")

// Root is an open directory that writes stay beneath.
type Root struct {
	dir string
	fd  int
	// walk forces the component-by-component fallback (for tests, and on
	// kernels without openat2). Atomic: Open may be called from several
	// goroutines.
	walk atomic.Bool
	// made are the directories Create has made or found: it makes them
	// once. Safety does not rest on it: every open still resolves the
	// whole path beneath the root through no link.
	made map[string]bool
}

// Open opens dir as a root. It must be a directory, and not a symbolic link.
func Open(dir string) (*Root, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if fi, lerr := os.Lstat(dir); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			err = unix.ELOOP
		}
		return nil, fmt.Errorf("open %s as a root: %w", dir, mapErr(err))
	}
	return &Root{dir: dir, fd: fd, made: map[string]bool{}}, nil
}

// OpenWalking is Open with the O_NOFOLLOW walk instead of openat2, as on a
// kernel without it.
func OpenWalking(dir string) (*Root, error) {
	r, err := Open(dir)
	if r != nil {
		r.walk.Store(true)
	}
	return r, err
}

// Close releases the root's directory.
func (r *Root) Close() error { return unix.Close(r.fd) }

// Dir is the root's directory as it was opened.
func (r *Root) Dir() string { return r.dir }

// Clean checks that rel is a relative path with neither empty, "." nor ".."
// components, and returns its components.
func Clean(rel string) ([]string, error) {
	if rel == "" || strings.HasPrefix(rel, "/") {
		return nil, fmt.Errorf("%q: %w", rel, ErrOutside)
	}
	parts := strings.Split(rel, "/")
	for _, p := range parts {
		if p == "" || p == "." || p == ".." || strings.IndexByte(p, 0) >= 0 {
			return nil, fmt.Errorf("%q: %w (it must be a clean relative path)", rel, ErrOutside)
		}
	}
	return parts, nil
}

func mapErr(err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return ErrSymlink
	case errors.Is(err, unix.EXDEV):
		return ErrOutside
	}
	return err
}

// openDir opens the directory of the components parts, creating missing ones
// when create is set. It returns a descriptor the caller closes.
func (r *Root) openDir(parts []string, create bool, perm fs.FileMode) (int, error) {
	fd, err := unix.Dup(r.fd)
	if err != nil {
		return -1, err
	}
	for i, p := range parts {
		next, err := unix.Openat(fd, p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) && create {
			if err = unix.Mkdirat(fd, p, uint32(perm.Perm())); err == nil || errors.Is(err, unix.EEXIST) {
				next, err = unix.Openat(fd, p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			}
		}
		unix.Close(fd)
		if err != nil {
			if errors.Is(err, unix.ENOTDIR) && r.isLink(parts[:i+1]) {
				err = unix.ELOOP
			}
			return -1, &fs.PathError{Op: "open", Path: path.Join(parts[:i+1]...), Err: mapErr(err)}
		}
		fd = next
	}
	return fd, nil
}

// isLink reports whether the path of parts is a symbolic link (O_NOFOLLOW with
// O_DIRECTORY says ENOTDIR for a link on some kernels).
func (r *Root) isLink(parts []string) bool {
	var st unix.Stat_t
	dir, err := r.openDir(parts[:len(parts)-1], false, 0)
	if err != nil {
		return false
	}
	defer unix.Close(dir)
	return unix.Fstatat(dir, parts[len(parts)-1], &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// MkdirAll creates the directory rel and its parents, none through a link.
func (r *Root) MkdirAll(rel string, perm fs.FileMode) error {
	parts, err := Clean(rel)
	if err != nil {
		return err
	}
	fd, err := r.openDir(parts, true, perm)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

// open opens rel beneath the root without following any link.
func (r *Root) open(rel string, parts []string, flags int, perm fs.FileMode) (*os.File, error) {
	fd, err := r.openFD(rel, parts, flags, perm)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path.Join(r.dir, rel)), nil
}

// openFD is open's descriptor, for callers that need no *os.File (which
// costs three system calls more).
func (r *Root) openFD(rel string, parts []string, flags int, perm fs.FileMode) (int, error) {
	flags |= unix.O_CLOEXEC | unix.O_NOFOLLOW
	if !r.walk.Load() {
		how := &unix.OpenHow{Flags: uint64(flags), Mode: uint64(perm.Perm()),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
		for range 8 { // EAGAIN: a rename raced the lookup
			fd, err := unix.Openat2(r.fd, rel, how)
			if err == nil {
				return fd, nil
			}
			if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
				r.walk.Store(true) // no openat2 here (or a seccomp filter refuses it)
				break
			}
			if !errors.Is(err, unix.EAGAIN) {
				return -1, &fs.PathError{Op: "open", Path: rel, Err: mapErr(err)}
			}
		}
	}
	dir, err := r.openDir(parts[:len(parts)-1], false, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(dir)
	fd, err := unix.Openat(dir, parts[len(parts)-1], flags, uint32(perm.Perm()))
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: rel, Err: mapErr(err)}
	}
	return fd, nil
}

// OpenFD is Open's descriptor and what fstat says of it, for callers that
// read many files and need no *os.File. The caller closes fd.
func (r *Root) OpenFD(rel string) (fd int, st unix.Stat_t, err error) {
	parts, err := Clean(rel)
	if err != nil {
		return -1, st, err
	}
	fd, err = r.openFD(rel, parts, unix.O_RDONLY|unix.O_NONBLOCK, 0) // a FIFO must not block the open
	if err != nil {
		return -1, st, err
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, st, &fs.PathError{Op: "stat", Path: rel, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return -1, st, &fs.PathError{Op: "open", Path: rel, Err: errors.New("not a regular file")}
	}
	return fd, st, nil
}

// Create makes the new file rel, and its missing parent directories (0755),
// for writing with mode perm. An existing file, directory or link at rel is
// an error that wraps fs.ErrExist: a Root never replaces anything.
func (r *Root) Create(rel string, perm fs.FileMode) (*os.File, error) {
	fd, err := r.CreateFD(rel, perm)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path.Join(r.dir, rel)), nil
}

// CreateFD is Create's descriptor, for callers that write many files and
// need no *os.File. The caller closes fd.
func (r *Root) CreateFD(rel string, perm fs.FileMode) (int, error) {
	parts, err := Clean(rel)
	if err != nil {
		return -1, err
	}
	if parent := path.Join(parts[:len(parts)-1]...); len(parts) > 1 && !r.made[parent] {
		if err := r.MkdirAll(parent, 0o755); err != nil {
			return -1, err
		}
		r.made[parent] = true
	}
	fd, err := r.openFD(rel, parts, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, perm)
	if err != nil {
		return -1, err
	}
	// The umask must not decide the mode.
	if err := unix.Fchmod(fd, uint32(perm.Perm())); err != nil {
		unix.Close(fd)
		return -1, &fs.PathError{Op: "chmod", Path: rel, Err: err}
	}
	return fd, nil
}

// Open opens the regular file rel for reading, beneath the root and through
// no link. Unlike Create it may be called from several goroutines at once.
func (r *Root) Open(rel string) (*os.File, error) {
	parts, err := Clean(rel)
	if err != nil {
		return nil, err
	}
	f, err := r.open(rel, parts, unix.O_RDONLY|unix.O_NONBLOCK, 0) // a FIFO must not block the open
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &fs.PathError{Op: "open", Path: rel, Err: errors.New("not a regular file")}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// WriteFile creates the new file rel with data.
func (r *Root) WriteFile(rel string, data []byte, perm fs.FileMode) error {
	f, err := r.Create(rel, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Lstat describes rel itself (a link is not followed), its parents opened
// without following links.
func (r *Root) Lstat(rel string) (fs.FileMode, error) {
	parts, err := Clean(rel)
	if err != nil {
		return 0, err
	}
	dir, err := r.openDir(parts[:len(parts)-1], false, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(dir)
	var st unix.Stat_t
	if err := unix.Fstatat(dir, parts[len(parts)-1], &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return 0, &fs.PathError{Op: "lstat", Path: rel, Err: err}
	}
	mode := fs.FileMode(st.Mode & 0o777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFREG:
	default:
		mode |= fs.ModeIrregular
	}
	return mode, nil
}

// inParent runs f with the directory of rel (opened through no link) and
// rel's last component.
func (r *Root) inParent(rel string, f func(dir int, name string) error) error {
	parts, err := Clean(rel)
	if err != nil {
		return err
	}
	dir, err := r.openDir(parts[:len(parts)-1], false, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	if err := f(dir, parts[len(parts)-1]); err != nil {
		return &fs.PathError{Op: "write", Path: rel, Err: mapErr(err)}
	}
	return nil
}

// Remove removes the file, link or empty directory rel (a link itself, not
// what it names).
func (r *Root) Remove(rel string) error {
	return r.inParent(rel, func(dir int, name string) error {
		err := unix.Unlinkat(dir, name, 0)
		if errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EPERM) {
			err = unix.Unlinkat(dir, name, unix.AT_REMOVEDIR)
		}
		return err
	})
}

// Mkdir makes the new directory rel; its parent must exist.
func (r *Root) Mkdir(rel string, perm fs.FileMode) error {
	return r.inParent(rel, func(dir int, name string) error { return unix.Mkdirat(dir, name, uint32(perm.Perm())) })
}

// Link makes rel a new name of the open file fd; its parent must exist.
func (r *Root) Link(fd int, rel string) error {
	return r.inParent(rel, func(dir int, name string) error {
		err := unix.Linkat(fd, "", dir, name, unix.AT_EMPTY_PATH)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOENT) { // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH
			err = unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", fd), dir, name, unix.AT_SYMLINK_FOLLOW)
		}
		return err
	})
}

// ChmodDir sets the mode of the directory rel (not a link to one).
func (r *Root) ChmodDir(rel string, perm fs.FileMode) error {
	return r.inParent(rel, func(dir int, name string) error {
		fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		var st unix.Stat_t
		if errors.Is(err, unix.ENOTDIR) && unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			err = unix.ELOOP
		}
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Fchmod(fd, uint32(perm.Perm()))
	})
}
