package gitread

import (
	"bufio"
	"compress/zlib"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
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

// ErrCorrupt means the repository holds an object or a file that cannot be
// what it says: it is damaged or made to harm its reader (a pipe for HEAD,
// a delta that never ends).
var ErrCorrupt = errors.New("corrupt or hostile git data")

// odb is the object database: loose objects, packs and alternates.
type odb struct {
	dirs  []string
	packs []*pack
	// work counts the bytes inflated and patched for one object: a chain of
	// deltas, each within MaxObjectSize, could still make it take minutes.
	work uint64
}

// maxWork bounds the bytes one object read may inflate and patch.
const maxWork = 4 * MaxObjectSize

func (o *odb) charge(n uint64) error {
	o.work += n
	if o.work > maxWork {
		return fmt.Errorf("%w: its delta chain makes more than %d MiB of data", ErrCorrupt, maxWork>>20)
	}
	return nil
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
	b, err := readFile(filepath.Join(dir, "info", "alternates"), maxConfigFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
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
	o.work = 0
	return o.readDepth(h, 0)
}

// readDepth reads an object as the base of a delta chain depth deltas long.
func (o *odb) readDepth(h Hash, depth int) (ObjectType, []byte, error) {
	for _, p := range o.packs {
		if off, ok := p.find(h); ok {
			t, data, err := p.readDepth(off, o, depth)
			if err != nil {
				return 0, nil, fmt.Errorf("object %s: %w", h, err)
			}
			return t, data, nil
		}
	}
	hs := h.String()
	for _, d := range o.dirs {
		f, err := os.Open(filepath.Join(d, hs[:2], hs[2:]))
		if err != nil {
			continue
		}
		t, data, err := readLoose(io.LimitReader(f, MaxObjectSize+1<<20))
		f.Close()
		if err != nil {
			return 0, nil, fmt.Errorf("object %s: %w", hs, err)
		}
		return t, data, nil
	}
	return 0, nil, fmt.Errorf("%w: %s", ErrNotFound, hs)
}

// readLoose reads a loose object: its header first, then exactly the size it
// declares, bounded by MaxObjectSize, and nothing after.
func readLoose(r io.Reader) (ObjectType, []byte, error) {
	zr, err := zlib.NewReader(r)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer zr.Close()
	br := bufio.NewReaderSize(zr, 64)
	hdr, err := br.ReadSlice(0)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: no object header", ErrCorrupt)
	}
	name, size, ok := strings.Cut(string(hdr[:len(hdr)-1]), " ")
	t, known := typeNames[name]
	n, err := strconv.ParseUint(size, 10, 64)
	if !ok || !known || err != nil {
		return 0, nil, fmt.Errorf("%w: bad object header %q", ErrCorrupt, hdr[:len(hdr)-1])
	}
	if n > MaxObjectSize {
		return 0, nil, fmt.Errorf("%w: the object declares %d bytes, more than the %d an object may have", ErrCorrupt, n, MaxObjectSize)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(br, data); err != nil {
		return 0, nil, fmt.Errorf("%w: the object is shorter than its header says (%v)", ErrCorrupt, err)
	}
	if k, _ := br.Read(make([]byte, 1)); k > 0 {
		return 0, nil, fmt.Errorf("%w: the object is longer than its header says", ErrCorrupt)
	}
	return t, data, nil
}
