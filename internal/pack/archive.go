package pack

import (
	"archive/tar"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
	"github.com/ulikunitz/xz"
)

// Compression names a compressor.
type Compression string

// The compressions every format offers.
const (
	Gzip Compression = "gzip"
	Xz   Compression = "xz"
	Zstd Compression = "zstd"
	None Compression = "none"
)

// Ext is the file name extension of a compression.
func (c Compression) Ext() string {
	switch c {
	case Gzip:
		return ".gz"
	case Xz:
		return ".xz"
	case Zstd:
		return ".zst"
	}
	return ""
}

// nopCloser adds Close to a writer.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// compressor wraps w. Every compressor is deterministic: the output depends on
// the input alone, not on the number of cores (gzip and zstd compress blocks in
// parallel with fixed block sizes; the gzip header carries no name or time).
func compressor(c Compression, w io.Writer) (io.WriteCloser, error) {
	switch c {
	case Gzip:
		gz, err := pgzip.NewWriterLevel(w, 9)
		if err != nil {
			return nil, err
		}
		if err := gz.SetConcurrency(1<<20, 16); err != nil {
			return nil, err
		}
		return gz, nil
	case Zstd:
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(4))
	case Xz:
		return xz.WriterConfig{DictCap: 8 << 20}.NewWriter(w)
	case None:
		return nopCloser{w}, nil
	}
	return nil, fmt.Errorf("unknown compression %q (valid: gzip, xz, zstd, none)", c)
}

// tarOptions says how a tree is written as a tar stream.
type tarOptions struct {
	// Prefix goes before every name: "./" as dpkg-deb writes them, or "".
	Prefix string
	// Parents includes the directories above the deploy path (./opt/); a tar
	// to unpack with tar -C / leaves them out, so that /opt keeps its mode.
	Parents bool
	Epoch   time.Time
	// Keep selects entries; nil keeps all.
	Keep func(Entry) bool
	// Sums, when set, receives each regular file's md5 (for md5sums).
	Sums func(name, md5 string)
}

// writeTar writes the tree's entries: sorted, uid and gid 0 (root), no
// user-dependent fields, every time the epoch, symlinks and hard links kept.
func writeTar(w io.Writer, t *Tree, o tarOptions) error {
	tw := tar.NewWriter(w)
	buf := make([]byte, 256<<10)
	dep := strings.TrimPrefix(path.Clean(t.Deploy), "/")
	if o.Prefix == "./" && o.Parents {
		if err := tw.WriteHeader(dirHeader("./", o.Epoch)); err != nil {
			return err
		}
	}
	for _, e := range t.Entries {
		if o.Keep != nil && !o.Keep(e) {
			continue
		}
		if !o.Parents && e.IsDir() && e.Path != dep && !strings.HasPrefix(e.Path, dep+"/") {
			continue
		}
		h := &tar.Header{
			Name: o.Prefix + e.Path, Mode: int64(e.Mode.Perm()), ModTime: o.Epoch,
			Uname: "root", Gname: "root", Format: tar.FormatGNU,
		}
		switch {
		case e.IsDir():
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		case e.IsSymlink():
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.Link, 0o777
		case e.HardLink != "":
			h.Typeflag, h.Linkname = tar.TypeLink, o.Prefix+e.HardLink
		default:
			h.Typeflag, h.Size = tar.TypeReg, e.Size
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if err := copyFile(tw, e, buf, o); err != nil {
			return err
		}
	}
	return tw.Close()
}

func dirHeader(name string, epoch time.Time) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch, Uname: "root", Gname: "root", Format: tar.FormatGNU}
}

func copyFile(tw io.Writer, e Entry, buf []byte, o tarOptions) error {
	var src io.Reader
	if e.Source == "" {
		src = bytes.NewReader(e.Data)
	} else {
		f, err := os.Open(e.Source)
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
	}
	var dst io.Writer = tw
	h := md5.New()
	if o.Sums != nil {
		dst = io.MultiWriter(tw, h)
	}
	n, err := io.CopyBuffer(dst, io.LimitReader(src, e.Size), buf)
	if err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	if n != e.Size {
		return fmt.Errorf("%s changed while it was packed", e.Source)
	}
	if o.Sums != nil {
		o.Sums(e.Path, hex.EncodeToString(h.Sum(nil)))
	}
	return nil
}

// arWriter writes the ar archive of a .deb: fixed times, owner 0, mode 0644.
type arWriter struct {
	w     io.WriteSeeker
	epoch time.Time
}

func newAr(w io.WriteSeeker, epoch time.Time) (*arWriter, error) {
	if _, err := io.WriteString(w, "!<arch>\n"); err != nil {
		return nil, err
	}
	return &arWriter{w: w, epoch: epoch}, nil
}

func (a *arWriter) header(name string, size int64) error {
	h := fmt.Sprintf("%-16s%-12d%-6d%-6d%-8s%-10d`\n", name, a.epoch.Unix(), 0, 0, "100644", size)
	if len(h) != 60 {
		return fmt.Errorf("ar member %s: header too long", name)
	}
	_, err := io.WriteString(a.w, h)
	return err
}

// Add writes a member whose content is in memory.
func (a *arWriter) Add(name string, data []byte) error {
	if err := a.header(name, int64(len(data))); err != nil {
		return err
	}
	if _, err := a.w.Write(data); err != nil {
		return err
	}
	return a.pad(int64(len(data)))
}

// AddFrom writes a member from a file, copied in the kernel where it can be.
func (a *arWriter) AddFrom(name string, f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := a.header(name, fi.Size()); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := io.Copy(a.w, f); err != nil {
		return err
	}
	return a.pad(fi.Size())
}

func (a *arWriter) pad(n int64) error {
	if n%2 == 1 {
		_, err := a.w.Write([]byte{'\n'})
		return err
	}
	return nil
}
