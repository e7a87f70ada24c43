package fdio_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/gopythongo/gopythongo/internal/fdio"
)

// TestWriteThenReadBack: what Writer writes, Reader reads back whole, to
// io.EOF; a missing file is fs.ErrNotExist with its path.
func TestWriteThenReadBack(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	data := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // more than one read
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
	require.NoError(t, err)
	n, err := fdio.Writer(fd).Write(data)
	require.NoError(t, err)
	assert.Equal(t, len(data), n)
	require.NoError(t, unix.Close(fd))

	fd, err = fdio.OpenRead(p)
	require.NoError(t, err)
	defer unix.Close(fd)
	back, err := io.ReadAll(fdio.Reader(fd))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, back))
	k, err := fdio.Reader(fd).Read(make([]byte, 1))
	assert.Equal(t, 0, k)
	assert.ErrorIs(t, err, io.EOF)

	_, err = fdio.OpenRead(p + ".missing")
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.ErrorContains(t, err, p+".missing")
	_, err = fdio.Writer(-1).Write([]byte("x"))
	assert.Error(t, err)

	// A symlink is refused, not followed, though it names a readable file.
	link := p + ".link"
	require.NoError(t, os.Symlink(p, link))
	_, err = fdio.OpenRead(link)
	assert.ErrorIs(t, err, unix.ELOOP)
	assert.ErrorContains(t, err, link)
}
