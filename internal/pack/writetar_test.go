package pack

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tarTree is a tree with every kind of entry and the sizes around a tar
// block's: empty files, 511, 512 and 513 bytes, a file larger than the zstd
// pipe, a name longer than a header holds, links, generated content.
func tarTree(t *testing.T) *Tree {
	t.Helper()
	root := t.TempDir()
	tr := &Tree{Root: root, Deploy: "/opt/app"}
	add := func(e Entry) { tr.Entries = append(tr.Entries, e) }
	add(Entry{Path: "opt", Mode: os.ModeDir | 0o755})
	add(Entry{Path: "opt/app", Mode: os.ModeDir | 0o755})
	long := "opt/app/" + strings.Repeat("long-directory-name/", 6) + "module.py"
	for i, size := range []int{0, 1, 511, 512, 513, 4096, 3<<20 + 7} {
		name := filepath.Join(root, "f", string(rune('a'+i)))
		require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
		data := bytes.Repeat([]byte{byte('a' + i), '\n', 0, 0xff}, size/4+1)[:size]
		require.NoError(t, os.WriteFile(name, data, 0o644))
		p := "opt/app/" + string(rune('a'+i))
		if i == 3 {
			p = long
		}
		add(Entry{Path: p, Mode: 0o644, Size: int64(size), Source: name})
	}
	add(Entry{Path: "opt/app/bin", Mode: os.ModeDir | 0o755})
	add(Entry{Path: "opt/app/bin/python", Mode: os.ModeSymlink | 0o777, Link: "/usr/bin/python3"})
	add(Entry{Path: "opt/app/bin/same", Mode: 0o755, Size: 1, HardLink: "opt/app/b"})
	add(Entry{Path: "usr/share/doc/app/copyright", Mode: 0o644, Size: 3, Data: []byte("abc")})
	return tr
}

// referenceTar is the tree as archive/tar's writer puts it together whole,
// content, padding and end and all, from the same headers.
func referenceTar(t *testing.T, tr *Tree, o tarOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if o.Prefix == "./" && o.Parents {
		require.NoError(t, tw.WriteHeader(dirHeader("./", o.Epoch)))
	}
	for _, e := range tr.Entries {
		h := tarHeader(e, o)
		require.NoError(t, tw.WriteHeader(h))
		if h.Typeflag == tar.TypeReg {
			require.NoError(t, copyEntry(tw, e, make([]byte, 1000)))
		}
	}
	require.NoError(t, tw.Close())
	return b.Bytes()
}

// TestWriteTarIsArchiveTarsStream: the tar stream, headers from archive/tar
// and content around it, spliced into zstd's pipe or copied into any other
// writer, is byte for byte what archive/tar writes whole, and GNU tar lists
// and unpacks it.
func TestWriteTarIsArchiveTarsStream(t *testing.T) {
	tr := tarTree(t)
	o := tarOptions{Prefix: "./", Parents: true, Epoch: time.Unix(1700000000, 0)}
	want := referenceTar(t, tr, o)

	var copied bytes.Buffer
	require.NoError(t, writeTar(&copied, tr, o))
	assert.True(t, bytes.Equal(want, copied.Bytes()), "copied: %d bytes, archive/tar %d", copied.Len(), len(want))

	var compressed bytes.Buffer
	zw, err := compressor(Zstd, 0, &compressed)
	require.NoError(t, err)
	_, spliced := zw.(fileSink)
	require.True(t, spliced, "the zstd program takes files by splice")
	require.NoError(t, writeTar(zw, tr, o))
	require.NoError(t, zw.Close())
	cmd := exec.Command("zstd", "-d", "-c")
	cmd.Stdin = &compressed
	out, err := cmd.Output()
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, out), "spliced: %d bytes, archive/tar %d", len(out), len(want))

	x := t.TempDir()
	cmd = exec.Command("tar", "-x", "-C", x)
	cmd.Stdin = bytes.NewReader(out)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	for _, e := range tr.Entries {
		if e.Mode.IsRegular() && e.HardLink == "" {
			got, err := os.ReadFile(filepath.Join(x, e.Path))
			require.NoError(t, err)
			var content bytes.Buffer
			require.NoError(t, copyEntry(&content, e, make([]byte, 1000)))
			assert.True(t, bytes.Equal(content.Bytes(), got), e.Path)
		}
	}
}

// TestWriteTarRefusesAFileChangedSinceTheScanOnBothPaths: a file that grew
// or shrank since the scan fails the spliced stream as it fails the copied
// one.
func TestWriteTarRefusesAFileChangedSinceTheScanOnBothPaths(t *testing.T) {
	const scanned = spliceMin + 10 // large enough to be spliced
	for _, size := range []int{scanned + 1, scanned - 1} {
		p := filepath.Join(t.TempDir(), "f")
		require.NoError(t, os.WriteFile(p, bytes.Repeat([]byte("x"), size), 0o644))
		tr := &Tree{Deploy: "/opt/app", Entries: []Entry{{Path: "opt/app/f", Source: p, Size: scanned, Mode: 0o644}}}
		zw, err := compressor(Zstd, 0, io.Discard)
		require.NoError(t, err)
		assert.ErrorContains(t, writeTar(zw, tr, tarOptions{Parents: true}), "changed while it was packed")
		zw.Close()
		assert.ErrorContains(t, writeTar(io.Discard, tr, tarOptions{Parents: true}), "changed while it was packed")
	}
}

// TestWriteTarRefusesAFileReplacedByASymlink: a file the scan found regular,
// replaced since by a symlink of the same size to a file outside the tree,
// is refused on both paths, not read through the link.
func TestWriteTarRefusesAFileReplacedByASymlink(t *testing.T) {
	const scanned = spliceMin + 10
	dir := t.TempDir()
	outside := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(outside, bytes.Repeat([]byte("s"), scanned), 0o600))
	p := filepath.Join(dir, "f")
	require.NoError(t, os.Symlink(outside, p))
	for _, size := range []int64{scanned, 10} {
		tr := &Tree{Deploy: "/opt/app", Entries: []Entry{{Path: "opt/app/f", Source: p, Size: size, Mode: 0o644}}}
		require.NoError(t, os.Truncate(outside, size))
		zw, err := compressor(Zstd, 0, io.Discard)
		require.NoError(t, err)
		assert.ErrorContains(t, writeTar(zw, tr, tarOptions{Parents: true}), "too many levels of symbolic links")
		zw.Close()
		assert.ErrorContains(t, writeTar(io.Discard, tr, tarOptions{Parents: true}), "too many levels of symbolic links")
	}
}
