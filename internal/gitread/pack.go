package gitread

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

const (
	objOfsDelta = 6
	objRefDelta = 7
	// maxDeltaDepth guards against a corrupt pack whose deltas loop; git
	// writes chains of at most 4095 (pack.depth).
	maxDeltaDepth = 4095
	// MaxObjectSize bounds every object the reader inflates: the version step
	// reads commits and tags (and their delta bases), which are kilobytes; a
	// hostile repository's header may claim terabytes.
	MaxObjectSize = 64 << 20
	// maxInflateRatio is what zlib can reach at most (about 1032:1); a size
	// beyond it cannot come from the bytes the pack holds.
	maxInflateRatio = 1032
	// maxCachedBases bounds the bytes the delta-base cache holds.
	maxCachedBases = 64 << 20
)

// pack is a pack file and its version 2 index, both mapped into memory.
type pack struct {
	idx, data []byte
	n         uint32
	// bases caches resolved delta bases by offset; commits are rarely deltas,
	// but trees read for one commit often share bases.
	bases      map[uint64]cached
	basesBytes int
	mapped     bool
	zr         io.ReadCloser
	src        bytes.Reader
}

type cached struct {
	t    ObjectType
	data []byte
}

func mmap(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
}

func openPack(idxPath string) (*pack, error) {
	idx, err := mmap(idxPath)
	if err != nil {
		return nil, fmt.Errorf("pack index %s: %w", idxPath, err)
	}
	data, err := mmap(strings.TrimSuffix(idxPath, ".idx") + ".pack")
	if err != nil {
		syscall.Munmap(idx)
		return nil, fmt.Errorf("pack for %s: %w", idxPath, err)
	}
	p, err := newPack(idx, data)
	if err != nil {
		syscall.Munmap(idx)
		syscall.Munmap(data)
		return nil, fmt.Errorf("pack index %s: %w", idxPath, err)
	}
	p.mapped = true
	return p, nil
}

// newPack checks a version 2 index against its pack: the index must hold
// every table its object count implies, and the pack its header.
func newPack(idx, data []byte) (*pack, error) {
	if len(idx) < 8+256*4 || !bytes.Equal(idx[:4], []byte{0xff, 't', 'O', 'c'}) || binary.BigEndian.Uint32(idx[4:8]) != 2 {
		return nil, fmt.Errorf("%w: not a version 2 pack index", ErrUnsupported)
	}
	n := binary.BigEndian.Uint32(idx[8+255*4:])
	if uint64(len(idx)) < 8+256*4+uint64(n)*(20+4+4) {
		return nil, fmt.Errorf("%w: the pack index is truncated", ErrCorrupt)
	}
	if len(data) < 12 || string(data[:4]) != "PACK" {
		return nil, fmt.Errorf("%w: the pack has no PACK header", ErrCorrupt)
	}
	return &pack{idx: idx, data: data, n: n, bases: map[uint64]cached{}}, nil
}

func (p *pack) close() error {
	if !p.mapped {
		return nil
	}
	err1 := syscall.Munmap(p.idx)
	err2 := syscall.Munmap(p.data)
	return errors.Join(err1, err2)
}

// find looks an object up: the fan-out table narrows the range, then a binary
// search over the sorted ids.
func (p *pack) find(h Hash) (uint64, bool) {
	fan := func(i int) uint32 {
		if i < 0 {
			return 0
		}
		return binary.BigEndian.Uint32(p.idx[8+i*4:])
	}
	lo, hi := fan(int(h[0])-1), min(fan(int(h[0])), p.n) // a hostile fan-out may point past the ids
	ids := p.idx[8+256*4:]
	for lo < hi {
		mid := (lo + hi) / 2
		c := bytes.Compare(ids[mid*20:mid*20+20], h[:])
		switch {
		case c == 0:
			return p.offset(mid)
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return 0, false
}

// offset is the pack offset of the i-th object; false when the index points
// past its own large-offset table.
func (p *pack) offset(i uint32) (uint64, bool) {
	offs := p.idx[8+256*4+uint64(p.n)*24:]
	o := binary.BigEndian.Uint32(offs[uint64(i)*4:])
	if o&0x80000000 == 0 {
		return uint64(o), true
	}
	at := uint64(p.n)*4 + uint64(o&0x7fffffff)*8
	if at+8 > uint64(len(offs)) {
		return 0, false
	}
	return binary.BigEndian.Uint64(offs[at:]), true
}

// readAt reads the object at a pack offset, resolving deltas.
func (p *pack) readAt(off uint64, o *odb) (ObjectType, []byte, error) {
	o.work = 0
	return p.readDepth(off, o, 0)
}

func (p *pack) readDepth(off uint64, o *odb, depth int) (ObjectType, []byte, error) {
	if c, ok := p.bases[off]; ok {
		return c.t, c.data, nil
	}
	if depth > maxDeltaDepth {
		return 0, nil, fmt.Errorf("%w: a delta chain longer than %d", ErrCorrupt, maxDeltaDepth)
	}
	if off >= uint64(len(p.data)) {
		return 0, nil, fmt.Errorf("pack offset %d out of range", off)
	}
	pos := off
	c := p.data[pos]
	pos++
	t := ObjectType((c >> 4) & 7)
	size := uint64(c & 15)
	for shift := 4; c&0x80 != 0; shift += 7 {
		if pos >= uint64(len(p.data)) || shift > 63 {
			return 0, nil, errors.New("corrupt pack object header")
		}
		c = p.data[pos]
		pos++
		size |= uint64(c&0x7f) << shift
	}
	if err := p.checkSize(off, size, pos); err != nil {
		return 0, nil, err
	}
	if err := o.charge(size); err != nil {
		return 0, nil, err
	}
	switch t {
	case TypeCommit, TypeTree, TypeBlob, TypeTag:
		data, err := p.inflate(p.data[pos:], size)
		return t, data, err
	case objOfsDelta:
		if pos+1 >= uint64(len(p.data)) {
			return 0, nil, errors.New("corrupt pack delta offset")
		}
		c = p.data[pos]
		pos++
		back := uint64(c & 0x7f)
		for c&0x80 != 0 {
			if pos >= uint64(len(p.data)) || back > 1<<56 {
				return 0, nil, errors.New("corrupt pack delta offset")
			}
			c = p.data[pos]
			pos++
			back = ((back + 1) << 7) | uint64(c&0x7f)
		}
		if back == 0 || back > off {
			return 0, nil, fmt.Errorf("%w: the delta at offset %d has its base at %d back", ErrCorrupt, off, back)
		}
		bt, base, err := p.readDepth(off-back, o, depth+1)
		if err != nil {
			return 0, nil, err
		}
		return p.applyDelta(o, off, bt, base, pos, size)
	case objRefDelta:
		if pos+20 > uint64(len(p.data)) {
			return 0, nil, errors.New("corrupt pack delta base")
		}
		var bh Hash
		copy(bh[:], p.data[pos:pos+20])
		pos += 20
		// The depth goes along: a ref-delta chain can loop through its ids.
		bt, base, err := o.readDepth(bh, depth+1)
		if err != nil {
			return 0, nil, err
		}
		return p.applyDelta(o, off, bt, base, pos, size)
	}
	return 0, nil, fmt.Errorf("unknown pack object type %d", t)
}

func (p *pack) applyDelta(o *odb, off uint64, bt ObjectType, base []byte, pos, size uint64) (ObjectType, []byte, error) {
	delta, err := p.inflate(p.data[pos:], size)
	if err != nil {
		return 0, nil, err
	}
	out, err := patch(base, delta)
	if err != nil {
		return 0, nil, fmt.Errorf("pack object at offset %d: %w", off, err)
	}
	if err := o.charge(uint64(len(out))); err != nil {
		return 0, nil, err
	}
	if len(p.bases) > 256 || p.basesBytes+len(out) > maxCachedBases {
		clear(p.bases)
		p.basesBytes = 0
	}
	p.bases[off] = cached{bt, out}
	p.basesBytes += len(out)
	return bt, out, nil
}

// checkSize refuses an object whose declared size is past MaxObjectSize or
// more than the rest of the pack could inflate to, before anything is
// allocated for it.
func (p *pack) checkSize(off, size, pos uint64) error {
	if size > MaxObjectSize {
		return fmt.Errorf("%w: the pack object at offset %d declares %d bytes, more than the %d an object may have", ErrCorrupt, off, size, MaxObjectSize)
	}
	if size > (uint64(len(p.data))-pos)*maxInflateRatio+64 {
		return fmt.Errorf("%w: the pack object at offset %d declares %d bytes, more than the rest of the pack can hold", ErrCorrupt, off, size)
	}
	return nil
}

// inflate decompresses a pack entry of known size, reusing one zlib reader:
// a new one costs more than inflating a small commit.
func (p *pack) inflate(b []byte, size uint64) ([]byte, error) {
	p.src.Reset(b)
	if p.zr == nil {
		zr, err := zlib.NewReader(&p.src)
		if err != nil {
			return nil, err
		}
		p.zr = zr
	} else if err := p.zr.(zlib.Resetter).Reset(&p.src, nil); err != nil {
		return nil, err
	}
	out := make([]byte, size)
	if _, err := io.ReadFull(p.zr, out); err != nil {
		return nil, fmt.Errorf("%w: inflate pack object: %v", ErrCorrupt, err)
	}
	return out, nil
}

// patch applies a git delta to base.
func patch(base, delta []byte) ([]byte, error) {
	varint := func() (uint64, error) {
		var v uint64
		for shift := 0; ; shift += 7 {
			if len(delta) == 0 || shift > 63 {
				return 0, errors.New("corrupt delta header")
			}
			c := delta[0]
			delta = delta[1:]
			v |= uint64(c&0x7f) << shift
			if c&0x80 == 0 {
				return v, nil
			}
		}
	}
	srcSize, err := varint()
	if err != nil {
		return nil, err
	}
	dstSize, err := varint()
	if err != nil {
		return nil, err
	}
	if srcSize != uint64(len(base)) {
		return nil, errors.New("delta base size mismatch")
	}
	// Each copy takes at most 64 KiB for an opcode byte and each insert a
	// byte for a byte: a result past that, or past MaxObjectSize, is a lie.
	if dstSize > MaxObjectSize || dstSize > uint64(len(delta))*0x10000 {
		return nil, fmt.Errorf("%w: a delta claims a result of %d bytes", ErrCorrupt, dstSize)
	}
	// Grown as the copies come, not reserved from the claim: a hostile
	// header cannot make every read allocate MaxObjectSize.
	out := make([]byte, 0, min(dstSize, 1<<20))
	for len(delta) > 0 {
		op := delta[0]
		delta = delta[1:]
		if op&0x80 != 0 {
			var offset, n uint64
			for i := 0; i < 4; i++ {
				if op&(1<<i) != 0 {
					if len(delta) == 0 {
						return nil, errors.New("corrupt delta copy")
					}
					offset |= uint64(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			for i := 0; i < 3; i++ {
				if op&(0x10<<i) != 0 {
					if len(delta) == 0 {
						return nil, errors.New("corrupt delta copy")
					}
					n |= uint64(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			if n == 0 {
				n = 0x10000
			}
			if offset+n > uint64(len(base)) || uint64(len(out))+n > dstSize {
				return nil, errors.New("delta copy out of range")
			}
			out = append(out, base[offset:offset+n]...)
		} else if op != 0 {
			if int(op) > len(delta) || uint64(len(out))+uint64(op) > dstSize {
				return nil, errors.New("corrupt delta insert")
			}
			out = append(out, delta[:op]...)
			delta = delta[op:]
		} else {
			return nil, errors.New("delta opcode 0")
		}
	}
	if uint64(len(out)) != dstSize {
		return nil, errors.New("delta result size mismatch")
	}
	return out, nil
}
