package gitread

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// QuickClean tells whether the work tree's tracked files match HEAD: the
// index's cached root tree equals HEAD's tree, and every tracked file has the
// size, modification time and kind the index recorded, or, where it has not
// (or the entry is racy: changed in the second the index was written), the
// same content. sure is false whenever that cannot be told this way (a
// submodule, a conflict, an index format it does not read, more content to
// hash than is worth it): then ask git.
func (r *Repo) QuickClean() (clean, sure bool) {
	head, _, err := r.Head()
	if err != nil {
		return false, false
	}
	hc, err := r.Commit(head)
	if err != nil {
		return false, false
	}
	path := filepath.Join(r.GitDir, "index")
	data, err := readFile(path, maxIndexFile)
	if err != nil {
		return false, false
	}
	fi, err := os.Stat(path)
	if err != nil {
		return false, false
	}
	ix, err := parseIndex(data)
	if err != nil || !ix.rootValid {
		return false, false
	}
	if ix.root != hc.Tree {
		return false, true // staged changes
	}
	indexMtime := fi.ModTime()
	budget := int64(maxHashBytes)
	for _, e := range ix.entries {
		if e.skipWorktree {
			continue
		}
		if e.mode == 0o160000 || e.stage != 0 || e.intentToAdd {
			return false, false
		}
		path := filepath.Join(r.WorkTree, filepath.FromSlash(e.path))
		var st syscall.Stat_t
		if err := syscall.Lstat(path, &st); err != nil {
			return false, true // deleted
		}
		isLink := st.Mode&syscall.S_IFMT == syscall.S_IFLNK
		if isLink != (e.mode == 0o120000) || !isLink && st.Mode&syscall.S_IFMT != syscall.S_IFREG {
			return false, true
		}
		if !isLink && (st.Mode&0o100 != 0) != (e.mode == 0o100755) {
			return false, true
		}
		racy := e.mtimeSec > indexMtime.Unix() || e.mtimeSec == indexMtime.Unix() && int64(e.mtimeNsec) >= int64(indexMtime.Nanosecond())
		if !racy && uint32(st.Size) == e.size && st.Mtim.Sec == e.mtimeSec && uint32(st.Mtim.Nsec) == e.mtimeNsec {
			continue
		}
		if budget -= st.Size; budget < 0 {
			return false, false
		}
		h, err := blobHash(path, isLink)
		if err != nil {
			return false, false
		}
		if h != e.hash {
			return false, true
		}
	}
	return true, true
}

// maxHashBytes bounds the content QuickClean hashes before it leaves the
// question to git.
const maxHashBytes = 64 << 20

// blobHash is the id git gives a file's content (or a symlink's target).
func blobHash(path string, link bool) (Hash, error) {
	var data []byte
	var err error
	if link {
		var t string
		t, err = os.Readlink(path)
		data = []byte(t)
	} else {
		data, err = readFile(path, maxHashBytes)
	}
	if err != nil {
		return Hash{}, err
	}
	sum := sha1.New()
	fmt.Fprintf(sum, "blob %d\x00", len(data))
	sum.Write(data)
	var h Hash
	copy(h[:], sum.Sum(nil))
	return h, nil
}

type indexEntry struct {
	path                  string
	hash                  Hash
	mtimeSec              int64
	mtimeNsec, size, mode uint32
	stage                 int
	skipWorktree          bool
	intentToAdd           bool
}

type index struct {
	entries   []indexEntry
	root      Hash
	rootValid bool
}

var errIndex = errors.New("index not readable")

func parseIndex(b []byte) (*index, error) {
	if len(b) < 12+20 || !bytes.Equal(b[:4], []byte("DIRC")) {
		return nil, errIndex
	}
	ver := binary.BigEndian.Uint32(b[4:])
	if ver < 2 || ver > 4 {
		return nil, errIndex
	}
	n := binary.BigEndian.Uint32(b[8:])
	end := len(b) - 20
	pos := 12
	ix := &index{}
	prev := ""
	for i := uint32(0); i < n; i++ {
		start := pos
		if pos+62 > end {
			return nil, errIndex
		}
		e := indexEntry{
			mtimeSec:  int64(binary.BigEndian.Uint32(b[pos+8:])),
			mtimeNsec: binary.BigEndian.Uint32(b[pos+12:]),
			mode:      binary.BigEndian.Uint32(b[pos+24:]),
			size:      binary.BigEndian.Uint32(b[pos+36:]),
		}
		copy(e.hash[:], b[pos+40:pos+60])
		flags := binary.BigEndian.Uint16(b[pos+60:])
		e.stage = int(flags>>12) & 3
		pos += 62
		if flags&0x4000 != 0 { // extended flags, version 3 and later
			if ver < 3 || pos+2 > end {
				return nil, errIndex
			}
			ext := binary.BigEndian.Uint16(b[pos:])
			e.skipWorktree = ext&0x4000 != 0
			e.intentToAdd = ext&0x2000 != 0
			pos += 2
		}
		if ver == 4 {
			strip, k := binary.Uvarint(b[pos:end])
			if k <= 0 || strip > uint64(len(prev)) {
				return nil, errIndex
			}
			pos += k
			nul := bytes.IndexByte(b[pos:end], 0)
			if nul < 0 {
				return nil, errIndex
			}
			e.path = prev[:len(prev)-int(strip)] + string(b[pos:pos+nul])
			pos += nul + 1
		} else {
			nul := bytes.IndexByte(b[pos:end], 0)
			if nul < 0 {
				return nil, errIndex
			}
			e.path = string(b[pos : pos+nul])
			pos += nul + 1
			// Entries are padded with NULs to a multiple of 8 bytes.
			for (pos-start)%8 != 0 {
				pos++
			}
		}
		prev = e.path
		ix.entries = append(ix.entries, e)
	}
	for pos+8 <= end {
		sig := string(b[pos : pos+4])
		size := int(binary.BigEndian.Uint32(b[pos+4:]))
		pos += 8
		if pos+size > end {
			return nil, errIndex
		}
		body := b[pos : pos+size]
		pos += size
		switch {
		case sig == "TREE":
			ix.root, ix.rootValid = rootTree(body)
		case sig == "link" || sig == "sdir":
			return nil, errIndex // split or sparse indexes: let git read them
		}
	}
	return ix, nil
}

// rootTree reads the root entry of the cached tree extension: "\0" then
// "<entries> <subtrees>\n", then the tree id unless entries is -1 (invalid).
func rootTree(body []byte) (Hash, bool) {
	if len(body) == 0 || body[0] != 0 {
		return Hash{}, false
	}
	line, _, ok := bytes.Cut(body[1:], []byte("\n"))
	if !ok {
		return Hash{}, false
	}
	f := bytes.Fields(line)
	if len(f) != 2 {
		return Hash{}, false
	}
	if cnt, err := strconv.Atoi(string(f[0])); err != nil || cnt < 0 {
		return Hash{}, false
	}
	off := 1 + len(line) + 1
	if off+20 > len(body) {
		return Hash{}, false
	}
	var h Hash
	copy(h[:], body[off:off+20])
	return h, true
}
