package pack_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/pack"
)

// entry of a test layer: a name, and a link target ("") or "dir" or "file".
type tarEntry struct{ name, what string }

func tarLayer(t *testing.T, entries ...tarEntry) v1.Layer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o755}
		switch e.what {
		case "dir":
			h.Typeflag = tar.TypeDir
		case "file":
			h.Typeflag, h.Size = tar.TypeReg, 3
		default:
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.what
		}
		require.NoError(t, tw.WriteHeader(h))
		if h.Size > 0 {
			_, err := tw.Write([]byte("abc"))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	data := b.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	require.NoError(t, err)
	return l
}

// extracted is the reference: mutate.Extract's file system, as path ->
// "file", "dir" or "-> target", with the directories it implies.
func extracted(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string]string{"/": "dir"}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		name := path.Clean("/" + h.Name)
		for d := path.Dir(name); d != "/"; d = path.Dir(d) {
			if _, ok := out[d]; ok {
				break
			}
			out[d] = "dir"
		}
		switch h.Typeflag {
		case tar.TypeSymlink:
			out[name] = "-> " + h.Linkname
		case tar.TypeReg, tar.TypeLink:
			out[name] = "file"
		default:
			out[name] = "dir"
		}
	}
	return out
}

// TestImageNodesMergeLayersAsExtractDoes holds the file system the image
// check reads (layers gunzipped in parallel, names only) against
// go-containerregistry's mutate.Extract on images with whiteouts, opaque
// directories and upper layers that replace lower entries.
func TestImageNodesMergeLayersAsExtractDoes(t *testing.T) {
	base := []tarEntry{{"usr/", "dir"}, {"usr/bin/", "dir"}, {"usr/bin/python3.11", "file"}, {"usr/bin/python3", "python3.11"},
		{"usr/lib/", "dir"}, {"usr/lib/libpython.so", "file"}, {"etc/passwd", "file"}, {"./opt/old/bin/python", "/usr/bin/python3"}}
	tests := []struct {
		name   string
		layers [][]tarEntry
		want   map[string]string // some paths and what they must be ("" absent)
	}{
		{"one layer", [][]tarEntry{base}, map[string]string{"/usr/bin/python3": "-> python3.11", "/usr/bin/python3.11": "file", "/opt/old": "dir"}},
		{"a whiteout", [][]tarEntry{base, {{"usr/bin/.wh.python3.11", "file"}}}, map[string]string{"/usr/bin/python3.11": "", "/usr/bin/python3": "-> python3.11"}},
		{"a whited-out directory", [][]tarEntry{base, {{"usr/.wh.bin", "file"}}}, map[string]string{"/usr/bin/python3.11": "", "/usr/bin": "", "/usr/lib/libpython.so": "file"}},
		{"an opaque directory", [][]tarEntry{base, {{"usr/bin/", "dir"}, {"usr/bin/.wh..wh..opq", "file"}, {"usr/bin/env", "file"}}},
			map[string]string{"/usr/bin/python3": "", "/usr/bin/env": "file", "/usr/lib/libpython.so": "file"}},
		{"an upper layer replaces", [][]tarEntry{base, {{"usr/bin/python3.11", "/usr/local/bin/python3.11"}, {"etc/passwd", "dir"}}},
			map[string]string{"/usr/bin/python3.11": "-> /usr/local/bin/python3.11", "/etc/passwd": "dir"}},
		{"three layers", [][]tarEntry{base, {{"usr/bin/.wh.python3", "file"}}, {{"usr/bin/python3", "python3.11"}}},
			map[string]string{"/usr/bin/python3": "-> python3.11"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var layers []v1.Layer
			for _, l := range tt.layers {
				layers = append(layers, tarLayer(t, l...))
			}
			img, err := mutate.AppendLayers(empty.Image, layers...)
			require.NoError(t, err)
			got, err := pack.ImageNodes(img)
			require.NoError(t, err)
			assert.Equal(t, extracted(t, img), got, "the file system mutate.Extract gives")
			for p, want := range tt.want {
				assert.Equal(t, want, got[p], p)
			}
		})
	}
}

// TestImageNodesCheckTheLayerDigest: a layer of a layout replaced by another
// valid gzip stream is refused by its digest.
func TestImageNodesCheckTheLayerDigest(t *testing.T) {
	img, err := mutate.AppendLayers(empty.Image, tarLayer(t, tarEntry{"usr/bin/python3", "file"}))
	require.NoError(t, err)
	dir := t.TempDir()
	lp, err := layout.Write(dir, empty.Index)
	require.NoError(t, err)
	require.NoError(t, lp.AppendImage(img))
	layers, err := img.Layers()
	require.NoError(t, err)
	d, err := layers[0].Digest()
	require.NoError(t, err)
	var other bytes.Buffer
	zw := gzip.NewWriter(&other)
	tw := tar.NewWriter(zw)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "usr/bin/python3", Typeflag: tar.TypeSymlink, Linkname: "/nowhere"}))
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	blob := filepath.Join(dir, "blobs", "sha256", d.Hex)
	require.NoError(t, os.Chmod(blob, 0o644))
	require.NoError(t, os.WriteFile(blob, other.Bytes(), 0o644))

	idx, err := layout.ImageIndexFromPath(dir)
	require.NoError(t, err)
	m, err := idx.IndexManifest()
	require.NoError(t, err)
	damaged, err := idx.Image(m.Manifests[0].Digest)
	require.NoError(t, err)
	_, err = pack.ImageNodes(damaged)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is not what its digest says")
}

// TestImageNodesOfTheDebianBase: on the real Debian base image (thousands of
// entries), the same file system as mutate.Extract.
func TestImageNodesOfTheDebianBase(t *testing.T) {
	img, err := pack.LoadBase(t.Context(), baseImage(t), t.TempDir())
	require.NoError(t, err)
	got, err := pack.ImageNodes(img)
	require.NoError(t, err)
	want := extracted(t, img)
	require.Greater(t, len(want), 5000)
	assert.Equal(t, want, got)
	assert.Equal(t, "file", got["/usr/bin/python3.11"])
}
