package pack

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/pgzip"
	"github.com/ulikunitz/xz"
	"golang.org/x/sys/unix"

	"github.com/gopythongo/gopythongo/internal/fdio"
	"github.com/gopythongo/gopythongo/internal/ui"
)

// The gzip levels: dpkg-deb's for a .deb, gzip's default elsewhere.
const (
	debGzipLevel     = 9
	defaultGzipLevel = 6
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
//
// gzipLevel is gzip's level: 9 where dpkg-deb uses 9 (the .deb's members),
// gzip's own default 6 for tar.gz and OCI layers, as tar -z and pigz give.
func compressor(c Compression, gzipLevel int, w io.Writer) (io.WriteCloser, error) {
	switch c {
	case Gzip:
		gz, err := pgzip.NewWriterLevel(w, gzipLevel)
		if err != nil {
			return nil, err
		}
		if err := gz.SetConcurrency(1<<20, 4); err != nil {
			return nil, err
		}
		return gz, nil
	case Zstd:
		return newZstdProgram(w)
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
	// Ctx stops the writing between two entries when it is cancelled.
	Ctx context.Context
}

// writeTar writes the tree's entries: sorted, uid and gid 0 (root), no
// user-dependent fields, every time the epoch, symlinks and hard links kept.
// The headers are archive/tar's; a file's content goes around its writer,
// into a fileSink without passing through this process where w is one.
func writeTar(w io.Writer, t *Tree, o tarOptions) error {
	var hb bytes.Buffer
	header := func(h *tar.Header) error {
		// A tar.Writer a header, which expects no content of it.
		hb.Reset()
		if err := tar.NewWriter(&hb).WriteHeader(h); err != nil {
			return err
		}
		_, err := w.Write(hb.Bytes())
		return err
	}
	dep := strings.TrimPrefix(path.Clean(t.Deploy), "/")
	if o.Prefix == "./" && o.Parents {
		if err := header(dirHeader("./", o.Epoch)); err != nil {
			return err
		}
	}
	buf := copyBuffers.Get().([]byte)
	defer copyBuffers.Put(buf)
	var written int64
	for i, e := range t.Entries {
		if o.Ctx != nil && o.Ctx.Err() != nil {
			return context.Cause(o.Ctx)
		}
		if o.Ctx != nil && i%512 == 0 {
			ui.Progress(o.Ctx, "%d of %d entries, %s", i, len(t.Entries), ui.Size(written))
		}
		written += e.Size
		if o.Keep != nil && !o.Keep(e) {
			continue
		}
		if !o.Parents && e.IsDir() && e.Path != dep && !strings.HasPrefix(e.Path, dep+"/") {
			continue
		}
		h := tarHeader(e, o)
		if err := header(h); err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if err := copyEntry(w, e, buf); err != nil {
			return err
		}
		if _, err := w.Write(zeroBlocks[:-e.Size&(blockSize-1)]); err != nil {
			return err
		}
	}
	// The end: two zero blocks, as tar.Writer's Close writes them.
	_, err := w.Write(zeroBlocks[:])
	return err
}

// tarHeader is an entry's header: owner root, the epoch's time.
func tarHeader(e Entry, o tarOptions) *tar.Header {
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
	return h
}

const blockSize = 512

var zeroBlocks [2 * blockSize]byte

func dirHeader(name string, epoch time.Time) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch, Uname: "root", Gname: "root", Format: tar.FormatGNU}
}

// fileSink is a writer that takes a file's content from its descriptor (the
// zstd program's pipe, by splice), as Write would take it.
type fileSink interface {
	io.Writer
	WriteFile(fd int, n int64) (int64, error)
}

// spliceMin is the smallest file spliced: a spliced page fills a slot of
// the pipe however few bytes it holds, so that small files, most of a
// venv's, would leave the pipe nearly empty and zstd waiting; they are
// copied, into the pipe's buffers together.
const spliceMin = 16 << 10

// copyEntry writes a file's content (on disk, or generated) into w,
// refusing a file whose size is not the one scanned. A file of spliceMin
// or more goes into a fileSink by its descriptor, without passing through
// this process; any other is copied through buf.
func copyEntry(w io.Writer, e Entry, buf []byte) error {
	if e.Source == "" {
		if int64(len(e.Data)) != e.Size {
			return fmt.Errorf("%s: %d bytes generated, %d announced", e.Path, len(e.Data), e.Size)
		}
		_, err := w.Write(e.Data)
		return err
	}
	fd, err := fdio.OpenRead(e.Source)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var n int64
	if sink, ok := w.(fileSink); ok && e.Size >= spliceMin {
		n, err = sink.WriteFile(fd, e.Size)
	} else {
		n, err = io.CopyBuffer(w, io.LimitReader(fdio.Reader(fd), e.Size), buf)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	if k, _ := fdio.Reader(fd).Read(buf[:1]); n != e.Size || k > 0 {
		return fmt.Errorf("%s changed while it was packed", e.Source)
	}
	return nil
}

// copyBuffers keeps the copy buffers: one per file would be gigabytes of
// garbage for a large tree.
var copyBuffers = sync.Pool{New: func() any { return make([]byte, 256<<10) }}

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

// Stream writes a member of unknown size: a header with size 0, the content,
// then the header again with the size the content took.
func (a *arWriter) Stream(name string, write func(io.Writer) error) error {
	at, err := a.w.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if err := a.header(name, 0); err != nil {
		return err
	}
	if err := write(a.w); err != nil {
		return err
	}
	end, err := a.w.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	size := end - at - 60
	if _, err := a.w.Seek(at, io.SeekStart); err != nil {
		return err
	}
	if err := a.header(name, size); err != nil {
		return err
	}
	if _, err := a.w.Seek(end, io.SeekStart); err != nil {
		return err
	}
	return a.pad(size)
}

func (a *arWriter) pad(n int64) error {
	if n%2 == 1 {
		_, err := a.w.Write([]byte{'\n'})
		return err
	}
	return nil
}

// zstdProgram compresses with the zstd program, multithreaded into a single
// frame: dpkg (1.21) reads only the first frame of a data.tar.zst, and the Go
// encoder uses one core for a stream, at half the speed of dpkg-deb. zstd's
// multithreaded output does not depend on the number of threads.
type zstdProgram struct {
	cmd  *exec.Cmd
	in   *os.File
	fd   int           // in's, blocking, for splice
	buf  *bufio.Writer // a tar header is 512 bytes: a write each would be a system call each
	done chan error
}

// bigPipe is a pipe that holds pipeSize bytes (where the system lets it),
// not 64 KiB: a stream of hundreds of megabytes through a small pipe costs
// both ends a switch every 64 KiB.
func bigPipe() (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err == nil {
		unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, pipeSize) // a smaller pipe is slower, not wrong
	}
	return r, w, err
}

const pipeSize = 1 << 20

func newZstdProgram(w io.Writer) (io.WriteCloser, error) {
	path, err := exec.LookPath("zstd")
	if err != nil {
		return nil, fmt.Errorf("zstd compression runs the zstd program, which is not installed (apt-get install zstd), or use gzip or xz")
	}
	cmd := exec.Command(path, "-3", "-T0", "-q", "-c", "--no-progress")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	inR, inW, err := bigPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdin = inR
	// Into a file, zstd writes itself, at the file's offset (which it
	// shares with this process): no pipe, no copy.
	copied := make(chan error, 1)
	out, direct := w.(*os.File)
	var outR *os.File
	if direct {
		cmd.Stdout = out
		copied <- nil
	} else {
		var outW *os.File
		if outR, outW, err = bigPipe(); err != nil {
			inR.Close()
			inW.Close()
			return nil, err
		}
		cmd.Stdout = outW
		defer outW.Close() // the child's once started, or no one's
	}
	err = cmd.Start()
	inR.Close()
	if err != nil {
		inW.Close()
		if outR != nil {
			outR.Close()
		}
		return nil, err
	}
	if !direct {
		go func() {
			defer outR.Close()
			_, err := io.CopyBuffer(w, outR, make([]byte, pipeSize))
			copied <- err
		}()
	}
	z := &zstdProgram{cmd: cmd, in: inW, fd: int(inW.Fd()), buf: bufio.NewWriterSize(inW, pipeSize), done: make(chan error, 1)}
	go func() {
		cerr := <-copied
		err := cmd.Wait()
		switch {
		case cerr != nil: // then zstd was stopped by its closed pipe
			err = fmt.Errorf("write zstd's output: %w", cerr)
		case err != nil:
			err = fmt.Errorf("zstd: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
		z.done <- err
	}()
	return z, nil
}

func (z *zstdProgram) Write(p []byte) (int, error) { return z.buf.Write(p) }

// WriteFile splices n bytes of the file at fd into zstd's pipe: the pages
// go from the page cache into the pipe, neither read into this process nor
// written out of it. It returns less than n when the file ends first.
func (z *zstdProgram) WriteFile(fd int, n int64) (int64, error) {
	if err := z.buf.Flush(); err != nil {
		return 0, err
	}
	var done int64
	for done < n {
		k, err := unix.Splice(fd, nil, z.fd, nil, int(min(n-done, 1<<30)), unix.SPLICE_F_MORE)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return done, err
		case k == 0:
			return done, nil
		}
		done += k
	}
	return done, nil
}

func (z *zstdProgram) Close() error {
	err := z.buf.Flush()
	if cerr := z.in.Close(); err == nil {
		err = cerr
	}
	if werr := <-z.done; werr != nil {
		return werr // why the flush failed, when zstd stopped
	}
	return err
}
