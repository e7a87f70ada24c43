package pack

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failingWriter takes n bytes, then fails.
type failingWriter struct{ n int }

var errFull = errors.New("the disk is full")

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, errFull
	}
	f.n -= len(p)
	return len(p), nil
}

// TestZstdIntoAFileAndThroughAPipeIsTheSameStream: zstd writes into a file
// itself, at the file's offset, and into any other writer through a pipe;
// both give the same bytes, which zstd -d turns back into the input, and a
// writer that fails is the error Close returns.
func TestZstdIntoAFileAndThroughAPipeIsTheSameStream(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	input := make([]byte, 5<<20) // more than a pipe holds
	for i := range input {
		input[i] = byte('a' + r.IntN(4)) // compressible, not trivially
	}
	compress := func(w io.Writer) error {
		zw, err := compressor(Zstd, 0, w)
		require.NoError(t, err)
		for p := input; len(p) > 0; p = p[min(len(p), 1000):] { // small writes, as a tar header's
			if _, err := zw.Write(p[:min(len(p), 1000)]); err != nil {
				zw.Close()
				return err
			}
		}
		return zw.Close()
	}

	var piped bytes.Buffer
	require.NoError(t, compress(&piped))

	p := filepath.Join(t.TempDir(), "out.zst")
	f, err := os.Create(p)
	require.NoError(t, err)
	_, err = f.WriteString("head") // zstd writes on from the file's offset
	require.NoError(t, err)
	require.NoError(t, compress(f))
	end, err := f.Seek(0, 1)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	direct, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, int64(len(direct)), end, "the offset this process sees is after zstd's output")
	assert.Equal(t, "head", string(direct[:4]))
	assert.Equal(t, piped.Bytes(), direct[4:])

	cmd := exec.Command("zstd", "-d", "-c")
	cmd.Stdin = bytes.NewReader(piped.Bytes())
	out, err := cmd.Output()
	require.NoError(t, err)
	assert.True(t, bytes.Equal(input, out), "zstd -d gives the input back")

	assert.ErrorIs(t, compress(&failingWriter{n: 1000}), errFull)
}
