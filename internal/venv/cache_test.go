package venv

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestCheckedSumTrustsOnlyAnUnchangedStamp: a cached file hashed once is
// taken by its record while its stamp holds; the record vouches for one sum
// and one stamp, and any write to the file (even of the same bytes) has it
// hashed again. A file written less than a second before is hashed but not
// recorded: another write in the same tick of the clock would not change its
// stamp.
func TestCheckedSumTrustsOnlyAnUnchangedStamp(t *testing.T) {
	t.Parallel()
	sumOf := func(b string) string { s := sha256.Sum256([]byte(b)); return hex.EncodeToString(s[:]) }
	p := filepath.Join(t.TempDir(), "w-1.0-py3-none-any.whl")
	require.NoError(t, os.WriteFile(p, []byte("the wheel"), 0o644))
	real := sumOf("the wheel")

	got, err := checkedSum(p, real)
	require.NoError(t, err)
	assert.Equal(t, real, got)
	require.NoFileExists(t, p+".checked", "a file just written is not recorded")
	time.Sleep(1100 * time.Millisecond)
	got, err = checkedSum(p, real)
	require.NoError(t, err)
	assert.Equal(t, real, got)
	require.FileExists(t, p+".checked", "the check is recorded")

	// A record that vouches for another sum with the file's very stamp is
	// taken without reading the file: proof that it is not hashed again.
	var st unix.Stat_t
	require.NoError(t, unix.Lstat(p, &st))
	s := stampOfStat(&st)
	forged := sumOf("another wheel")
	require.NoError(t, os.WriteFile(p+".checked", []byte(fmt.Sprintf("%s %d %d %o %d %d\n", forged, s.Ino, s.Size, s.Mode, s.Ctime, st.Dev)), 0o644))
	got, err = checkedSum(p, forged)
	require.NoError(t, err)
	assert.Equal(t, forged, got, "an unchanged stamp is trusted")

	// The same record does not vouch for a third sum.
	got, err = checkedSum(p, sumOf("a third"))
	require.NoError(t, err)
	assert.Equal(t, real, got, "hashed again")

	// A write of the very same bytes changes the stamp: hashed again.
	require.NoError(t, os.WriteFile(p+".checked", []byte(fmt.Sprintf("%s %d %d %o %d %d\n", forged, s.Ino, s.Size, s.Mode, s.Ctime, st.Dev)), 0o644))
	require.NoError(t, os.WriteFile(p, []byte("the wheel"), 0o644))
	got, err = checkedSum(p, forged)
	require.NoError(t, err)
	assert.Equal(t, real, got, "a written file is hashed")

	// A link in the cache's place is no cached file.
	require.NoError(t, os.Remove(p))
	require.NoError(t, os.Symlink("/etc/passwd", p))
	_, err = checkedSum(p, real)
	require.Error(t, err)
}

// TestCopyIntoRefusesWhatChanged: a copy whose bytes are not the sha256 the
// caller took before (the file changed in between) is refused, and neither
// it nor its temporary file is left; a copy that is lands whole.
func TestCopyIntoRefusesWhatChanged(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "w.whl")
	require.NoError(t, os.WriteFile(src, []byte("wheel bytes"), 0o600))
	sum := sha256.Sum256([]byte("wheel bytes"))
	dst := filepath.Join(dir, "w.whl")

	err := copyInto(dir, src, dst, hex.EncodeToString(make([]byte, 32)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "changed while it was copied")
	left, _ := os.ReadDir(dir)
	assert.Empty(t, left, "no copy and no temporary file")

	require.NoError(t, copyInto(dir, src, dst, hex.EncodeToString(sum[:])))
	data, err := os.ReadFile(dst)
	require.NoError(t, err)
	assert.Equal(t, "wheel bytes", string(data))
	fi, err := os.Stat(dst)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
}

// TestPutHashesAFindLinksWheelOnceWhileItsStampHolds: a wheel of find_links
// is hashed once; the next Put takes its sum from the record while its stamp
// holds, a link to it shares the record, and a rewrite (same size, new bytes)
// is hashed again. A record that lies cannot put other bytes into the cache:
// the copy is hashed on its way in.
func TestPutHashesAFindLinksWheelOnceWhileItsStampHolds(t *testing.T) {
	t.Parallel()
	sumOf := func(b string) string { s := sha256.Sum256([]byte(b)); return hex.EncodeToString(s[:]) }
	links := t.TempDir()
	p := filepath.Join(links, "w-1.0-py3-none-any.whl")
	require.NoError(t, os.WriteFile(p, []byte("wheel one"), 0o644))
	time.Sleep(1100 * time.Millisecond)

	c := &Cache{Dir: t.TempDir()}
	w, err := c.Put(p)
	require.NoError(t, err)
	assert.Equal(t, sumOf("wheel one"), w.SHA256)
	memos, _ := filepath.Glob(filepath.Join(c.Dir, "sums", "*"))
	require.Len(t, memos, 1, "the sum is recorded with the wheel's stamp")

	require.NoError(t, os.Symlink(p, filepath.Join(links, "link-1.0-py3-none-any.whl")))
	w, err = c.Put(filepath.Join(links, "link-1.0-py3-none-any.whl"))
	require.NoError(t, err)
	assert.Equal(t, sumOf("wheel one"), w.SHA256)
	memos, _ = filepath.Glob(filepath.Join(c.Dir, "sums", "*"))
	assert.Len(t, memos, 1, "a link shares the record of what it points to")

	// A record of another sum with the wheel's very stamp is taken: the
	// file is not read. The cache lacks that sum, so the wheel is copied,
	// and the copy, hashed on the way, is refused.
	data, err := os.ReadFile(memos[0])
	require.NoError(t, err)
	forged := sumOf("wheel two") + string(data[64:])
	require.NoError(t, os.WriteFile(memos[0], []byte(forged), 0o644))
	_, err = c.Put(p)
	require.Error(t, err, "a lying record puts nothing into the cache")

	// New bytes of the same size: a new stamp, hashed again.
	require.NoError(t, os.WriteFile(p, []byte("wheel two"), 0o644))
	w, err = c.Put(p)
	require.NoError(t, err)
	assert.Equal(t, sumOf("wheel two"), w.SHA256)
	got, err := os.ReadFile(w.Path)
	require.NoError(t, err)
	assert.Equal(t, "wheel two", string(got))
}

// TestRecordNamingAPathOutsideTheCacheIsRefused: a record is input (a CI
// cache can be tampered with); one whose hash or file name would make a path
// outside the cache is no record, and nothing outside is read or removed.
func TestRecordNamingAPathOutsideTheCacheIsRefused(t *testing.T) {
	dir := t.TempDir()
	c := &Cache{Dir: filepath.Join(dir, "cache")}
	victim := filepath.Join(dir, "victim")
	require.NoError(t, os.MkdirAll(victim, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(victim, "x.whl"), []byte("not a wheel"), 0o644))
	good := strings.Repeat("ab", 32)
	for name, w := range map[string]WheelFile{
		"hash climbing out":  {SHA256: "../../victim", File: "x.whl"},
		"name climbing out":  {SHA256: good, File: "../../../victim/x.whl"},
		"upper-case hash":    {SHA256: strings.ToUpper(good), File: "x.whl"},
		"short hash":         {SHA256: good[:62], File: "x.whl"},
		"not a wheel's name": {SHA256: good, File: "x.tar.gz"},
	} {
		t.Run(name, func(t *testing.T) {
			data, err := json.Marshal([]WheelFile{w})
			require.NoError(t, err)
			require.NoError(t, os.MkdirAll(filepath.Join(c.Dir, "resolutions"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(c.Dir, "resolutions", "k.json"), data, 0o644))
			_, ok := c.Recorded("resolutions", "k")
			assert.False(t, ok)
			_, ok = c.Lookup("resolutions", "k")
			assert.False(t, ok)
			_, err = c.Get(w)
			assert.ErrorIs(t, err, ErrCorrupt)
			_, err = os.Stat(filepath.Join(victim, "x.whl"))
			assert.NoError(t, err, "nothing outside the cache is removed")
		})
	}
}
