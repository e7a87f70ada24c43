package python

import (
	"archive/zip"
	"context"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseWheelName(t *testing.T) {
	w, err := ParseWheelName("/x/hello_lib-1.2.0-py3-none-any.whl")
	require.NoError(t, err)
	assert.Equal(t, "hello_lib", w.Name)
	assert.Equal(t, "1.2.0", w.Version)
	assert.True(t, w.IsPure())
	assert.Equal(t, []Tag{{"py3", "none", "any"}}, w.Tags)

	w, err = ParseWheelName("numpy-1.26.0-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
	require.NoError(t, err)
	assert.Equal(t, "1", w.Build)
	assert.Len(t, w.Tags, 2)
	assert.False(t, w.IsPure())

	for _, bad := range []string{"x.tar.gz", "a-1.whl", "-1-py3-none-any.whl"} {
		_, err := ParseWheelName(bad)
		assert.Error(t, err, bad)
	}
}

func TestNormalize(t *testing.T) {
	assert.Equal(t, "hello-lib", Normalize("Hello_Lib"))
	assert.Equal(t, "a-b-c", Normalize("a.-_b__c"))
}

func TestParseMetadata(t *testing.T) {
	m, err := ParseMetadata(strings.NewReader("Metadata-Version: 2.1\nName: hello\nVersion: 1.0\nClassifier: License :: OSI Approved :: MIT License\nRequires-Dist: hello-lib>=1.0\nRequires-Dist: x; extra == 'a'\n\nLong description\n"))
	require.NoError(t, err)
	assert.Equal(t, "MIT License", m.License)
	assert.Equal(t, []string{"hello-lib>=1.0", "x; extra == 'a'"}, m.RequiresDist)
	m, err = ParseMetadata(strings.NewReader("Name: a\nVersion: 1\nLicense-Expression: Apache-2.0\nLicense: ignored\n\n"))
	require.NoError(t, err)
	assert.Equal(t, "Apache-2.0", m.License)
	_, err = ParseMetadata(strings.NewReader("Name: a\n\n"))
	assert.ErrorContains(t, err, "lacks Name or Version")
}

func TestProbeDebianPython(t *testing.T) {
	in, err := Probe(context.Background(), nil, "/usr/bin/python3")
	require.NoError(t, err, "make test installs python3")
	assert.Equal(t, "cpython", in.Implementation)
	assert.Equal(t, 3, in.Major)
	assert.Equal(t, "/usr/bin/python3.11", in.Executable)
	_, ok := in.Supports([]Tag{{"py3", "none", "any"}})
	assert.True(t, ok)
	_, ok = in.Supports([]Tag{{"cp27", "cp27mu", "linux_x86_64"}})
	assert.False(t, ok)
	rank, ok := in.Supports([]Tag{{"cp311", "cp311", "manylinux_2_17_x86_64"}})
	assert.True(t, ok)
	assert.Less(t, rank, 100)

	_, err = Probe(context.Background(), nil, "/nonexistent/python")
	assert.ErrorIs(t, err, ErrNoInterpreter)
	_, err = Probe(context.Background(), nil, "/bin/true")
	assert.Error(t, err)
}

// TestFormatRecordReadsBack: what the installer writes, the RECORD reader
// (Go's encoding/csv, as Python's csv module) reads back.
func TestFormatRecordReadsBack(t *testing.T) {
	in := []RecordEntry{{Path: "a,b", Hash: "sha256=x", Size: 3}, {Path: `say "hi"`, Size: -1}, {Path: "plain/RECORD", Size: -1}}
	out := FormatRecord(in)
	assert.Equal(t, "\"a,b\",sha256=x,3\r\n\"say \"\"hi\"\"\",,\r\nplain/RECORD,,\r\n", string(out))
	back, err := ParseRecord(out)
	require.NoError(t, err)
	assert.Equal(t, in, back)
}

// TestWheelMetadataIsBounded: a METADATA that says it unpacks to more than
// 64 MiB is refused before it is read (the local resolver reads the
// METADATA of any wheel in find_links).
func TestWheelMetadataIsBounded(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big-1.0-py3-none-any.whl")
	f, err := os.Create(p)
	require.NoError(t, err)
	zw := zip.NewWriter(f)
	body := []byte("Metadata-Version: 2.1\nName: big\nVersion: 1.0\n")
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "big-1.0.dist-info/METADATA", Method: zip.Store,
		CRC32: crc32.ChecksumIEEE(body), CompressedSize64: uint64(len(body)), UncompressedSize64: 65 << 20})
	require.NoError(t, err)
	_, err = w.Write(body)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	_, err = WheelMetadata(p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "METADATA is larger than 64 MiB")
}
