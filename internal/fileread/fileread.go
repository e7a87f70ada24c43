// Package fileread reads whole a file that comes from input (a cache, a
// repository): a regular file only, a pipe or a device in its place refused
// rather than waited on, no larger than a bound checked before the read,
// and read at its size rather than through a buffer grown again and again.
package fileread

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ProjectLimit bounds a file of the project that a person wrote and a step
// reads whole: the configuration, pyproject.toml, a requirements file, a
// maintainer script, a unit file, a key.
const ProjectLimit = 16 << 20

var (
	// ErrNotRegular means a pipe, a device, a socket or a directory.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge means more bytes than the reader's bound.
	ErrTooLarge = errors.New("larger than allowed")
)

// Read reads path whole: a regular file of at most limit bytes. A missing
// file's error is fs.ErrNotExist.
func Read(path string, limit int64) ([]byte, error) {
	f, fi, err := Open(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadOpen(f, fi.Size())
}

// Open opens path to read it whole: a regular file of at most limit bytes,
// opened without blocking, so that a pipe in its place is refused, not
// waited on.
func Open(path string, limit int64) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
	case !fi.Mode().IsRegular():
		err = fmt.Errorf("%s is not a regular file (%s): %w", path, fi.Mode().Type(), ErrNotRegular)
	case fi.Size() > limit:
		err = fmt.Errorf("%s holds %d bytes, more than the %s allowed: %w", path, fi.Size(), SizeName(limit), ErrTooLarge)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// ReadOpen reads a file Open opened, of size bytes then, into a buffer of
// that size and a byte more, to tell whether it grew since.
func ReadOpen(f *os.File, size int64) ([]byte, error) {
	buf := make([]byte, size+1)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if int64(n) > size {
		return nil, fmt.Errorf("%s changed while it was read (written meanwhile): run again", f.Name())
	}
	return buf[:n], nil
}

// SizeName names a bound: "512 bytes", "64 KiB", "16 MiB".
func SizeName(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
