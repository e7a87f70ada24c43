package store

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/gopythongo/gopythongo/internal/deb822"
)

// maxControl bounds the control member of a .deb: its control file, scripts
// and md5sums are kilobytes.
const maxControl = 16 << 20

// DebControl reads the control paragraph of a .deb: the ar archive's
// control.tar (gz, xz, zst or plain), its ./control file.
func DebControl(path string) (deb822.Paragraph, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	magic := make([]byte, 8)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != "!<arch>\n" {
		return nil, fmt.Errorf("%s is not a .deb (no ar archive)", path)
	}
	for {
		hdr := make([]byte, 60)
		if _, err := io.ReadFull(r, hdr); err != nil {
			return nil, fmt.Errorf("%s has no control.tar member", path)
		}
		name := strings.TrimRight(strings.TrimSpace(string(hdr[:16])), "/")
		size, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("%s: bad ar member header", path)
		}
		body := io.LimitReader(r, size)
		if strings.HasPrefix(name, "control.tar") {
			if size > maxControl {
				return nil, fmt.Errorf("%s: its %s is %d bytes, more than a control member may be (%d MiB)", path, name, size, maxControl>>20)
			}
			var zr io.Reader = body
			switch strings.TrimPrefix(name, "control.tar") {
			case ".gz":
				gz, err := gzip.NewReader(body)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
				}
				zr = gz
			case ".xz":
				// An xz header names the dictionary to allocate, up to 4 GiB,
				// block by block: the xz program bounds it, the Go reader
				// cannot.
				data, err := io.ReadAll(io.LimitReader(body, maxControl+1))
				if err != nil || len(data) > maxControl {
					return nil, fmt.Errorf("%s: control.tar.xz is larger than %d MiB", path, maxControl>>20)
				}
				cmd := exec.Command("xz", "--decompress", "--stdout", "--single-stream", "--memlimit-decompress=64MiB", "--quiet")
				cmd.Stdin = bytes.NewReader(data)
				out, err := cmd.Output()
				if err != nil {
					return nil, fmt.Errorf("%s: control.tar.xz cannot be read within 64 MiB by xz (apt-get install xz-utils): %w", path, err)
				}
				zr = io.LimitReader(bytes.NewReader(out), maxControl)
			case ".zst":
				d, err := zstd.NewReader(body, zstd.WithDecoderMaxMemory(64<<20), zstd.WithDecoderConcurrency(1))
				if err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
				}
				defer d.Close()
				zr = d
			case "":
			default:
				return nil, fmt.Errorf("%s: unknown member %s", path, name)
			}
			tr := tar.NewReader(zr)
			for {
				h, err := tr.Next()
				if err != nil {
					return nil, fmt.Errorf("%s: no control file in %s", path, name)
				}
				if strings.TrimPrefix(h.Name, "./") == "control" {
					paras, err := deb822.Parse(io.LimitReader(tr, 1<<20))
					if err != nil || len(paras) != 1 {
						return nil, fmt.Errorf("%s: the control file is not one paragraph", path)
					}
					return paras[0], nil
				}
			}
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return nil, err
		}
		if size%2 == 1 {
			r.ReadByte()
		}
	}
}
