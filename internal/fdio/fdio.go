// Package fdio reads and writes plain file descriptors. An *os.File costs
// five system calls more a file (the poller's registration, which a regular
// file refuses, and its blocking mode set and cleared), which the venv
// installer and the packers, at tens of thousands of files a tree, do not
// spend.
package fdio

import (
	"io"
	"io/fs"

	"golang.org/x/sys/unix"
)

// OpenRead opens the file at p to read it. A symlink at p is refused
// (ELOOP), not followed: the file a walk found regular may have been
// replaced by one since, pointing anywhere.
func OpenRead(p string) (int, error) {
	for {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &fs.PathError{Op: "open", Path: p, Err: err}
		}
		return fd, nil
	}
}

// Reader reads a descriptor; io.EOF at its end.
type Reader int

func (r Reader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(r), p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Writer writes a descriptor, all of each write.
type Writer int

func (w Writer) Write(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		n, err := unix.Write(int(w), p[written:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return written, err
		}
		written += n
	}
	return written, nil
}
