package gitread

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Bounds of the repository's own small files: none of them is near these
// sizes in a real repository, and a hostile one is refused before it is read.
const (
	maxRefFile    = 64 << 10  // HEAD, a loose ref, commondir, a .git file
	maxConfigFile = 16 << 20  // config, info/alternates
	maxListFile   = 256 << 20 // shallow (a line a commit)
	maxIndexFile  = 512 << 20 // the index of a million files is about 100 MiB
)

// readFile reads a file of the repository whole (openFile, readOpen).
func readFile(path string, limit int64) ([]byte, error) {
	f, fi, err := openFile(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readOpen(f, fi.Size())
}

// openFile opens a file of the repository: a regular file of at most limit
// bytes. A pipe, a device or a socket in its place is refused, not waited
// on (it is opened without blocking), and one too large is refused before
// it is read. A missing file's error is fs.ErrNotExist.
func openFile(path string, limit int64) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
	case !fi.Mode().IsRegular():
		err = fmt.Errorf("%w: %s is not a regular file (%s)", ErrCorrupt, path, fi.Mode().Type())
	case fi.Size() > limit:
		err = fmt.Errorf("%w: %s holds %d bytes, more than the %s a repository needs", ErrCorrupt, path, fi.Size(), sizeName(limit))
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// readOpen reads a file opened by openFile, of size bytes when it was
// opened, straight into a buffer of that size and a byte more, to tell
// whether it grew since.
func readOpen(f *os.File, size int64) ([]byte, error) {
	buf := make([]byte, size+1)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if int64(n) > size {
		return nil, fmt.Errorf("%s changed while it was read (git wrote it meanwhile): run again", f.Name())
	}
	return buf[:n], nil
}

// sizeName names a bound: "64 KiB", "16 MiB".
func sizeName(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
