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

// readFile reads a file of the repository whole, as fileread does (corrupt).
func readFile(path string, limit int64) ([]byte, error) {
	b, err := fileread.Read(path, limit)
	return b, corrupt(err)
}

// openFile opens a file of the repository as fileread does (corrupt).
func openFile(path string, limit int64) (*os.File, fs.FileInfo, error) {
	f, fi, err := fileread.Open(path, limit)
	return f, fi, corrupt(err)
}

// corrupt makes fileread's refusal of a file that is no regular file or too
// large ErrCorrupt, which is not handed to git either. Other errors stay as
// they are: a missing file's is fs.ErrNotExist.
func corrupt(err error) error {
	if errors.Is(err, fileread.ErrNotRegular) || errors.Is(err, fileread.ErrTooLarge) {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return err
}
