package gitread

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/gopythongo/gopythongo/internal/fileread"
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
	return fileread.ReadOpen(f, fi.Size())
}

// openFile opens a file of the repository as fileread does; one that is no
// regular file or too large is ErrCorrupt, which is not handed to git
// either. A missing file's error is fs.ErrNotExist.
func openFile(path string, limit int64) (*os.File, fs.FileInfo, error) {
	f, fi, err := fileread.Open(path, limit)
	if errors.Is(err, fileread.ErrNotRegular) || errors.Is(err, fileread.ErrTooLarge) {
		err = fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return f, fi, err
}
