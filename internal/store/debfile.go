package store

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/gopythongo/gopythongo/internal/deb822"
)

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
			var zr io.Reader = body
			switch strings.TrimPrefix(name, "control.tar") {
			case ".gz":
				gz, err := gzip.NewReader(body)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
				}
				zr = gz
			case ".xz":
				if zr, err = xz.NewReader(body); err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
				}
			case ".zst":
				d, err := zstd.NewReader(body)
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
