package treesums_test

import (
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/gopythongo/gopythongo/internal/treesums"
)

// tick is longer than the coarse clock's tick of any kernel (10 ms at HZ=100),
// so that a record written after it is in a later tick than the files.
const tick = 30 * time.Millisecond

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// lstat is a file's stamp as the packer takes it, from its scan's os.Lstat.
func lstat(p string) (treesums.Stamp, bool) {
	fi, err := os.Lstat(p)
	if err != nil {
		return treesums.Stamp{}, false
	}
	return treesums.StampOfInfo(fi)
}

// TestStampOfInfoIsStampOf: the packer's stamp (os.Lstat's FileInfo) is the
// one gopythongo-build-venv records (unix.Stat_t), or no sum would ever be
// taken; a directory or a symlink has none.
func TestStampOfInfoIsStampOf(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(p, []byte("x"), 0o640))
	require.NoError(t, os.Symlink("f", filepath.Join(dir, "l")))
	var st unix.Stat_t
	require.NoError(t, unix.Lstat(p, &st))
	got, ok := lstat(p)
	require.True(t, ok)
	assert.Equal(t, treesums.StampOf(&st), got)
	for _, other := range []string{dir, filepath.Join(dir, "l")} {
		_, ok := lstat(other)
		assert.False(t, ok, other)
	}
}

// record writes files a and b below root with their record beside root, as
// gopythongo-build-venv leaves them, and returns the record's path.
func record(t *testing.T, root string) string {
	t.Helper()
	var files []treesums.File
	for _, name := range []string{"a", "b"} {
		p := filepath.Join(root, name)
		require.NoError(t, os.WriteFile(p, []byte("content of "+name), 0o644))
		st, ok := lstat(p)
		require.True(t, ok)
		files = append(files, treesums.File{Path: name, MD5: md5Hex([]byte("content of " + name)), Stamp: st})
	}
	time.Sleep(tick)
	rec := treesums.PathFor(root)
	require.NoError(t, treesums.Write(rec, files))
	return rec
}

// TestASumIsTakenOnlyWhileItsFileIsUnchanged: every change a program can
// make to a file (its content at the same size, its mode, a link to it, a
// new file in its place) makes the record's sum of it unusable.
func TestASumIsTakenOnlyWhileItsFileIsUnchanged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, p string)
		taken  bool
	}{
		{"unchanged", func(t *testing.T, p string) {}, true},
		{"read", func(t *testing.T, p string) { _, err := os.ReadFile(p); require.NoError(t, err) }, true},
		{"written, same size", func(t *testing.T, p string) { require.NoError(t, os.WriteFile(p, []byte("CONTENT OF a"), 0o644)) }, false},
		{"chmod", func(t *testing.T, p string) { require.NoError(t, os.Chmod(p, 0o755)) }, false},
		{"linked", func(t *testing.T, p string) { require.NoError(t, os.Link(p, p+".link")) }, false},
		{"replaced", func(t *testing.T, p string) {
			require.NoError(t, os.WriteFile(p+".new", []byte("CONTENT OF a"), 0o644))
			require.NoError(t, os.Rename(p+".new", p))
		}, false},
		{"times set back", func(t *testing.T, p string) { require.NoError(t, os.Chtimes(p, time.Unix(0, 0), time.Unix(0, 0))) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			require.NoError(t, os.Mkdir(root, 0o755))
			rec := record(t, root)
			p := filepath.Join(root, "a")
			tc.change(t, p)
			sums, err := treesums.Read(rec)
			require.NoError(t, err)
			assert.Equal(t, 2, sums.Len())
			st, ok := lstat(p)
			require.True(t, ok)
			sum, ok := sums.MD5("a", st)
			assert.Equal(t, tc.taken, ok)
			if ok {
				assert.Equal(t, md5Hex([]byte("content of a")), sum)
			}
			// The other file is untouched.
			st, _ = lstat(filepath.Join(root, "b"))
			_, ok = sums.MD5("b", st)
			assert.True(t, ok)
			// A sum is of its path only.
			_, ok = sums.MD5("c", st)
			assert.False(t, ok)
		})
	}
}

// TestARecordWrittenInItsFilesTickIsNotTrusted: a file whose change time is
// not before the record's could have been written again within the same
// tick of the clock, its stamp unchanged (git's racy files).
func TestARecordWrittenInItsFilesTickIsNotTrusted(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	require.NoError(t, os.Mkdir(root, 0o755))
	p := filepath.Join(root, "a")
	require.NoError(t, os.WriteFile(p, []byte("x"), 0o644))
	st, _ := lstat(p)
	rec := treesums.PathFor(root)
	require.NoError(t, treesums.Write(rec, []treesums.File{{Path: "a", MD5: md5Hex([]byte("x")), Stamp: st}}))
	// The record's time is the file's tick: as a coarse clock would leave it.
	ctime := time.Unix(0, st.Ctime)
	require.NoError(t, os.Chtimes(rec, ctime, ctime))
	sums, err := treesums.Read(rec)
	require.NoError(t, err)
	_, ok := sums.MD5("a", st)
	assert.False(t, ok, "a file changed in the record's tick")
	// A tick later it is.
	later := ctime.Add(time.Millisecond)
	require.NoError(t, os.Chtimes(rec, later, later))
	sums, err = treesums.Read(rec)
	require.NoError(t, err)
	_, ok = sums.MD5("a", st)
	assert.True(t, ok)
	// A file on another file system must be two seconds older.
	other := st
	other.Dev++
	_, ok = sums.MD5("a", other)
	assert.False(t, ok)
}

// TestARecordThatIsNoneIsAnError: what is not a whole record of this
// version is refused, and a missing record says so.
func TestARecordThatIsNoneIsAnError(t *testing.T) {
	good := "gopythongo treesums 1\x00a\x00" + md5Hex(nil) + "\x001\x002\x003\x004\x005\x00"
	for _, tc := range []struct{ name, data, want string }{
		{"another format", strings.Replace(good, "treesums 1", "treesums 2", 1), "not a record"},
		{"no header", "a\x00", "not a record"},
		{"cut short", good[:len(good)-3], "cut short"},
		{"no md5", strings.Replace(good, md5Hex(nil), "xyz", 1), "no md5"},
		{"stamp no number", strings.Replace(good, "\x003\x00", "\x00-3\x00", 1), "no number"},
		{"ctime no number", strings.Replace(good, "\x005\x00", "\x00five\x00", 1), "no number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "root.md5sums")
			require.NoError(t, os.WriteFile(p, []byte(tc.data), 0o644))
			_, err := treesums.Read(p)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	p := filepath.Join(t.TempDir(), "root.md5sums")
	require.NoError(t, os.WriteFile(p, []byte(good), 0o644))
	sums, err := treesums.Read(p)
	require.NoError(t, err)
	assert.Equal(t, 1, sums.Len())
	_, err = treesums.Read(p + ".missing")
	assert.ErrorIs(t, err, os.ErrNotExist)
	// A pipe in its place is refused, not waited on.
	fifo := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, unix.Mkfifo(fifo, 0o644))
	_, err = treesums.Read(fifo)
	assert.Error(t, err)
	var none *treesums.Sums
	_, ok := none.MD5("a", treesums.Stamp{})
	assert.False(t, ok)
}
