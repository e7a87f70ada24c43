package pack

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCopyEntryRefusesAFileChangedSinceTheScan: a file that grew or shrank
// after the tree was scanned is refused, by the tar writer and the md5sums
// alike (both copy through copyEntry); one of the scanned size is copied
// whole, and a generated entry must be the size it announces.
func TestCopyEntryRefusesAFileChangedSinceTheScan(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	for _, tc := range []struct {
		name    string
		content string
		ok      bool
	}{
		{"unchanged", "0123456789", true},
		{"grew", "0123456789a", false},
		{"shrank", "012345678", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(p, []byte(tc.content), 0o644))
			e := Entry{Path: "opt/app/f", Source: p, Size: 10, Mode: 0o644}
			var out bytes.Buffer
			err := copyEntry(&out, e, make([]byte, 4))
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, tc.content, out.String())
				return
			}
			assert.ErrorContains(t, err, "changed while it was packed")
			_, err = md5sums(t.Context(), &Tree{Entries: []Entry{e}})
			assert.ErrorContains(t, err, "changed while it was packed")
		})
	}
	err := copyEntry(io.Discard, Entry{Path: "usr/share/doc/x/copyright", Data: []byte("abc"), Size: 4}, make([]byte, 4))
	assert.ErrorContains(t, err, "3 bytes generated, 4 announced")
}
