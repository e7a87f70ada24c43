package gitread

import (
	"bytes"
	"compress/zlib"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Hash is a SHA-1 object id.
type Hash [20]byte

// ParseHash reads 40 hex digits.
func ParseHash(s string) (Hash, error) { return parseHash([]byte(s)) }

func parseHash(b []byte) (Hash, error) {
	var h Hash
	if len(b) != 40 {
		return h, fmt.Errorf("%q is not an object id", b)
	}
	_, err := hex.Decode(h[:], b)
	return h, err
}

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is the null id.
func (h Hash) IsZero() bool { return h == Hash{} }

// ObjectType is a git object type.
type ObjectType int

// Object types as packs number them.
const (
	TypeCommit ObjectType = 1
	TypeTree   ObjectType = 2
	TypeBlob   ObjectType = 3
	TypeTag    ObjectType = 4
)

var typeNames = map[string]ObjectType{"commit": TypeCommit, "tree": TypeTree, "blob": TypeBlob, "tag": TypeTag}

// ErrNotFound means the object is not in the repository.
var ErrNotFound = errors.New("object not found")

// odb is the object database: loose objects, packs and alternates.
type odb struct {
	dirs  []string
	packs []*pack
}

func openODB(dir string) (*odb, error) {
	o := &odb{}
	if err := o.add(dir, 0); err != nil {
		o.close()
		return nil, err
	}
	return o, nil
}

func (o *odb) add(dir string, depth int) error {
	if depth > 5 {
		return fmt.Errorf("%w: alternates nested too deep", ErrUnsupported)
	}
	o.dirs = append(o.dirs, dir)
	idxs, _ := filepath.Glob(filepath.Join(dir, "pack", "pack-*.idx"))
	for _, idx := range idxs {
		p, err := openPack(idx)
		if err != nil {
			return err
		}
		o.packs = append(o.packs, p)
	}
	b, err := os.ReadFile(filepath.Join(dir, "info", "alternates"))
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if !filepath.IsAbs(line) {
			line = filepath.Join(dir, line)
		}
		if err := o.add(filepath.Clean(line), depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (o *odb) close() error {
	var first error
	for _, p := range o.packs {
		if err := p.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// has reports whether an object exists, without reading it.
func (o *odb) has(h Hash) bool {
	for _, p := range o.packs {
		if _, ok := p.find(h); ok {
			return true
		}
	}
	for _, d := range o.dirs {
		hs := h.String()
		if _, err := os.Stat(filepath.Join(d, hs[:2], hs[2:])); err == nil {
			return true
		}
	}
	return false
}

// read returns an object's type and content.
func (o *odb) read(h Hash) (ObjectType, []byte, error) {
	for _, p := range o.packs {
		if off, ok := p.find(h); ok {
			return p.readAt(off, o)
		}
	}
	hs := h.String()
	for _, d := range o.dirs {
		f, err := os.Open(filepath.Join(d, hs[:2], hs[2:]))
		if err != nil {
			continue
		}
		t, data, err := readLoose(f)
		f.Close()
		if err != nil {
			return 0, nil, fmt.Errorf("object %s: %w", hs, err)
		}
		return t, data, nil
	}
	return 0, nil, fmt.Errorf("%w: %s", ErrNotFound, hs)
}

func readLoose(r io.Reader) (ObjectType, []byte, error) {
	zr, err := zlib.NewReader(r)
	if err != nil {
		return 0, nil, err
	}
	defer zr.Close()
	data, err := io.ReadAll(zr)
	if err != nil {
		return 0, nil, err
	}
	nul := bytes.IndexByte(data, 0)
	if nul < 0 {
		return 0, nil, errors.New("no object header")
	}
	name, size, ok := strings.Cut(string(data[:nul]), " ")
	t, known := typeNames[name]
	n, err := strconv.Atoi(size)
	if !ok || !known || err != nil || n != len(data)-nul-1 {
		return 0, nil, fmt.Errorf("bad object header %q", data[:nul])
	}
	return t, data[nul+1:], nil
}
