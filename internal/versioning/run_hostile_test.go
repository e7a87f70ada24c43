package versioning

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/testutil/steptest"
)

func deflate(t *testing.T, write func(w io.Writer)) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, err := zlib.NewWriterLevel(&b, zlib.BestSpeed)
	require.NoError(t, err)
	write(zw)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

// packObject is an entry of a crafted pack: a type, the size its header
// claims, and its zlib data (after the header and, for deltas, the base).
type packObject struct {
	id   [20]byte
	typ  byte
	size uint64
	pre  []byte // an ofs-delta's base offset, written before the data
	data []byte
}

// writePack writes a version 2 pack and its index into objects/pack.
func writePack(t *testing.T, gitDir string, objs []packObject) {
	t.Helper()
	var pack bytes.Buffer
	pack.WriteString("PACK")
	binary.Write(&pack, binary.BigEndian, uint32(2))
	binary.Write(&pack, binary.BigEndian, uint32(len(objs)))
	offsets := make([]uint32, len(objs))
	for i, o := range objs {
		offsets[i] = uint32(pack.Len())
		size := o.size
		c := o.typ<<4 | byte(size&15)
		size >>= 4
		for size > 0 {
			pack.WriteByte(c | 0x80)
			c = byte(size & 0x7f)
			size >>= 7
		}
		pack.WriteByte(c)
		pack.Write(o.pre)
		pack.Write(o.data)
	}
	sum := sha1.Sum(pack.Bytes())
	pack.Write(sum[:])
	order := make([]int, len(objs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return bytes.Compare(objs[order[a]].id[:], objs[order[b]].id[:]) < 0 })
	var idx bytes.Buffer
	idx.Write([]byte{0xff, 't', 'O', 'c', 0, 0, 0, 2})
	for b := 0; b < 256; b++ {
		n := 0
		for _, o := range objs {
			if int(o.id[0]) <= b {
				n++
			}
		}
		binary.Write(&idx, binary.BigEndian, uint32(n))
	}
	for _, i := range order {
		idx.Write(objs[i].id[:])
	}
	for _, i := range order {
		binary.Write(&idx, binary.BigEndian, crc32.ChecksumIEEE(objs[i].data))
	}
	for _, i := range order {
		binary.Write(&idx, binary.BigEndian, offsets[i])
	}
	idx.Write(sum[:])
	isum := sha1.Sum(idx.Bytes())
	idx.Write(isum[:])
	dir := filepath.Join(gitDir, "objects", "pack")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	name := fmt.Sprintf("pack-%x", sum)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".pack"), pack.Bytes(), 0o444))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".idx"), idx.Bytes(), 0o444))
}

func varint(v uint64) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

// TestHostileRepositoryFailsInBoundedTimeAndMemory gives gopythongo-version a
// repository whose HEAD commit is a loose object that inflates to 1 GiB, a
// pack delta claiming a 2 TiB result, and a pack object claiming 2 TiB: each
// run exits 1 naming the object, quickly and in little memory.
func TestHostileRepositoryFailsInBoundedTimeAndMemory(t *testing.T) {
	cases := map[string]func(t *testing.T, gitDir string, head [20]byte){
		"loose object bomb": func(t *testing.T, gitDir string, head [20]byte) {
			id := fmt.Sprintf("%x", head)
			data := deflate(t, func(w io.Writer) {
				fmt.Fprintf(w, "commit %d\x00tree %s\n", 1<<30, id)
				zero := make([]byte, 1<<20)
				for range 1 << 10 {
					w.Write(zero)
				}
			})
			t.Logf("loose object: %d bytes inflating to 1 GiB", len(data))
			p := filepath.Join(gitDir, "objects", id[:2], id[2:])
			require.NoError(t, os.Remove(p))
			require.NoError(t, os.WriteFile(p, data, 0o444))
		},
		"delta claiming 2 TiB": func(t *testing.T, gitDir string, head [20]byte) {
			base := []byte("tree 0000\n")
			delta := append(varint(uint64(len(base))), varint(2<<40)...)
			delta = append(delta, 0x91, 0, byte(len(base))) // copy the base
			baseID := sha1.Sum([]byte("base"))
			id := fmt.Sprintf("%x", head)
			require.NoError(t, os.Remove(filepath.Join(gitDir, "objects", id[:2], id[2:])))
			baseData := deflate(t, func(w io.Writer) { w.Write(base) })
			// The delta follows the base: its offset back is the base's entry length.
			back := 1 + len(baseData) // its one header byte and data
			writePack(t, gitDir, []packObject{
				{id: baseID, typ: 3, size: uint64(len(base)), data: baseData},
				{id: head, typ: 6, size: uint64(len(delta)), pre: varint(uint64(back)), data: deflate(t, func(w io.Writer) { w.Write(delta) })},
			})
		},
		"pack object claiming 2 TiB": func(t *testing.T, gitDir string, head [20]byte) {
			id := fmt.Sprintf("%x", head)
			require.NoError(t, os.Remove(filepath.Join(gitDir, "objects", id[:2], id[2:])))
			writePack(t, gitDir, []packObject{{id: head, typ: 1, size: 2 << 40, data: deflate(t, func(w io.Writer) { w.Write([]byte("tree ")) })}})
		},
	}
	bin := steptest.Binary(t, "gopythongo-version")
	for name, craft := range cases {
		t.Run(name, func(t *testing.T) {
			g := testutil.NewGitRepo(t)
			g.WriteFile("README", "hostile\n")
			g.Commit("one")
			g.Tag("v1.0.0")
			var head [20]byte
			raw, err := hex.DecodeString(g.Head())
			require.NoError(t, err)
			copy(head[:], raw)
			craft(t, filepath.Join(g.Dir, ".git"), head)

			cmd := exec.Command(bin)
			cmd.Dir = g.Dir
			cmd.Env = testutil.CleanEnv()
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			start := time.Now()
			err = cmd.Run()
			took := time.Since(start)
			peak := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
			t.Logf("exit %d in %v, peak RSS %d MiB: %s", cmd.ProcessState.ExitCode(), took, peak>>20, out.String())
			require.Error(t, err)
			assert.Equal(t, 1, cmd.ProcessState.ExitCode(), out.String())
			assert.Contains(t, out.String(), "damaged or hostile object")
			assert.Contains(t, out.String(), fmt.Sprintf("%x", head), "the message names the object")
			assert.NotContains(t, out.String(), "goroutine", "no Go runtime crash")
			assert.Less(t, peak, int64(300<<20))
			assert.Less(t, took, 20*time.Second)
		})
	}
}
