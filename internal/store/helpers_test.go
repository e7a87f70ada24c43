package store

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/pgp"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/version"
)

func sha256Of(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// makeDeb builds a small .deb with dpkg-deb: /usr/bin/<pkg> prints say.
func makeDeb(t testing.TB, dist, pkg, ver, arch, say string) Item {
	t.Helper()
	tree := t.TempDir()
	script := filepath.Join(tree, "usr", "bin", pkg)
	require.NoError(t, os.MkdirAll(filepath.Dir(script), 0o755))
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho '"+say+"'\n"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(tree, "DEBIAN"), 0o755))
	ctl := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Test <t@example.com>\nDescription: test package\n%s: c0ffee\n", pkg, ver, arch, state.DebCommitField)
	require.NoError(t, os.WriteFile(filepath.Join(tree, "DEBIAN", "control"), []byte(ctl), 0o644))
	name := fmt.Sprintf("%s_%s_%s.deb", pkg, ver, arch)
	out, err := exec.Command("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", tree, filepath.Join(dist, name)).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return fileItem(t, dist, name, "deb", pkg, ver)
}

// fileItem describes a file in dist as an artifact to publish.
func fileItem(t testing.TB, dist, name, format, pkg, ver string) Item {
	t.Helper()
	v, err := version.ParseTag(ver)
	if err != nil {
		v, err = version.ParseDebian(ver)
	}
	require.NoError(t, err)
	rd := v.Render()
	fi, err := os.Stat(filepath.Join(dist, name))
	require.NoError(t, err)
	return Item{
		Artifact: state.Artifact{Path: name, Format: state.Format(format), SHA256: sha256Of(t, filepath.Join(dist, name)), Size: fi.Size()},
		Dist:     dist, Name: pkg, Commit: "c0ffee",
		Version: state.Version{SemVer: rd.SemVer, PEP440: rd.PEP440, Debian: rd.Debian, OCITag: rd.OCITag, Channel: string(v.Channel())},
	}
}

// testImage is a base layer of baseSize random bytes (the same for every
// seed of a test) plus a small app layer that differs by app.
type testImage struct {
	base v1.Layer
}

func newTestImage(t testing.TB, baseSize int64) testImage {
	l, err := random.Layer(baseSize, types.OCILayer)
	require.NoError(t, err)
	return testImage{base: l}
}

// item writes the image with an app layer saying app into dist/<dir> as an
// OCI layout and returns it as an artifact of version ver.
func (ti testImage) item(t testing.TB, dist, dir, ver, app string) Item {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "app.txt", Mode: 0o644, Size: int64(len(app))}))
	tw.Write([]byte(app))
	tw.Close()
	zw.Close()
	appLayer := static.NewLayer(b.Bytes(), types.OCILayer)
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), ti.base, appLayer)
	require.NoError(t, err)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	lp, err := layout.Write(filepath.Join(dist, dir), empty.Index)
	require.NoError(t, err)
	require.NoError(t, lp.AppendImage(img))
	d, err := img.Digest()
	require.NoError(t, err)
	it := fileItemDir(t, dist, dir, ver)
	it.Artifact.Digest = d.String()
	return it
}

func fileItemDir(t testing.TB, dist, dir, ver string) Item {
	v, err := version.ParseTag(ver)
	require.NoError(t, err)
	rd := v.Render()
	return Item{Artifact: state.Artifact{Path: dir, Format: "oci"}, Dist: dist, Name: "hello",
		Version: state.Version{SemVer: rd.SemVer, PEP440: rd.PEP440, Debian: rd.Debian, OCITag: rd.OCITag, Channel: string(v.Channel())}}
}

// makeSdist writes a minimal sdist with PKG-INFO.
func makeSdist(t testing.TB, dist, name, ver, extra string) Item {
	t.Helper()
	file := fmt.Sprintf("%s-%s.tar.gz", name, ver)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	files := map[string]string{
		"PKG-INFO":       fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: a test\nRequires-Python: >=3.9\nClassifier: Programming Language :: Python :: 3\nClassifier: License :: OSI Approved :: MIT License\n\nLong text %s\n", name, ver, extra),
		"pyproject.toml": "[project]\nname = \"" + name + "\"\n",
	}
	for _, n := range []string{"PKG-INFO", "pyproject.toml"} {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name + "-" + ver + "/" + n, Mode: 0o644, Size: int64(len(files[n]))}))
		tw.Write([]byte(files[n]))
	}
	tw.Close()
	zw.Close()
	require.NoError(t, os.WriteFile(filepath.Join(dist, file), b.Bytes(), 0o644))
	return fileItem(t, dist, file, "sdist", name, ver)
}

func newStore(t testing.TB, sc config.StoreConfig, getenv map[string]string) Store {
	t.Helper()
	c := &config.Config{Dir: t.TempDir()}
	c.Project.Name = "hello"
	st, err := New(sc, Env{Config: c, Getenv: func(k string) string { return getenv[k] }, Log: t.Logf, NewSigner: Signers(pgp.NewSigner)})
	require.NoError(t, err)
	return st
}

// makeWheel writes a minimal pure-Python wheel; a comment makes other bytes
// under the same file name.
func makeWheel(t testing.TB, dist, name, ver string, comment ...string) Item {
	t.Helper()
	norm := strings.ReplaceAll(name, "-", "_")
	file := fmt.Sprintf("%s-%s-py3-none-any.whl", norm, ver)
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	info := norm + "-" + ver + ".dist-info/"
	files := [][2]string{
		{norm + "/__init__.py", "GREETING = 'hi'\n"},
		{info + "METADATA", fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: a test wheel\nRequires-Python: >=3.9\nClassifier: Programming Language :: Python :: 3\nClassifier: License :: OSI Approved :: MIT License\nDescription-Content-Type: text/markdown\n\n# %s\n", name, ver, name)},
		{info + "WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var record strings.Builder
	for _, f := range files {
		w, err := zw.Create(f[0])
		require.NoError(t, err)
		w.Write([]byte(f[1]))
		h := sha256.Sum256([]byte(f[1]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f[0], base64.RawURLEncoding.EncodeToString(h[:]), len(f[1]))
	}
	record.WriteString(info + "RECORD,,\n")
	w, err := zw.Create(info + "RECORD")
	require.NoError(t, err)
	w.Write([]byte(record.String()))
	require.NoError(t, zw.SetComment(strings.Join(comment, " ")))
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dist, file), b.Bytes(), 0o644))
	return fileItem(t, dist, file, "wheel", name, ver)
}
