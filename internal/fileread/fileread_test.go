package fileread

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestReadTakesRegularFilesWithinTheirBound: a regular file is read whole,
// an empty one too; a pipe (never waited on), a directory, a file over the
// bound (a sparse one, never read) and a missing file are errors that say
// which.
func TestReadTakesRegularFilesWithinTheirBound(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	require.NoError(t, os.WriteFile(p("small"), []byte("0123456789"), 0o644))
	require.NoError(t, os.WriteFile(p("empty"), nil, 0o644))
	require.NoError(t, os.WriteFile(p("huge"), nil, 0o644))
	require.NoError(t, os.Truncate(p("huge"), 1<<40))
	require.NoError(t, unix.Mkfifo(p("pipe"), 0o644))

	for _, tc := range []struct {
		name  string
		limit int64
		want  string
		err   error
	}{
		{"small", 10, "0123456789", nil},
		{"empty", 10, "", nil},
		{"small", 9, "", ErrTooLarge},
		{"huge", 1 << 20, "", ErrTooLarge},
		{"pipe", 10, "", ErrNotRegular},
		{".", 10, "", ErrNotRegular},
		{"missing", 10, "", fs.ErrNotExist},
	} {
		got, err := Read(p(tc.name), tc.limit)
		if tc.err != nil {
			assert.ErrorIs(t, err, tc.err, tc.name)
			assert.ErrorContains(t, err, p(tc.name), tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, string(got), tc.name)
	}
	_, err := Read(p("small"), 9)
	assert.ErrorContains(t, err, "holds 10 bytes, more than the 9 bytes allowed")
	assert.Equal(t, "64 KiB", SizeName(64<<10))
	assert.Equal(t, "512 MiB", SizeName(512<<20))
	assert.Equal(t, "512 bytes", SizeName(512))
}
