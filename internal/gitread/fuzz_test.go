package gitread

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Every parser of repository bytes is fuzzed: none may panic, allocate from
// an unchecked number or loop; what each accepts stays within the bounds.

func zlibBytes(b []byte) []byte {
	var out bytes.Buffer
	zw := zlib.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func FuzzReadLoose(f *testing.F) {
	f.Add(zlibBytes([]byte("commit 5\x00tree ")))
	f.Add(zlibBytes([]byte("blob 0\x00")))
	f.Add(zlibBytes([]byte("tag 99999999999999999999\x00")))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, body, err := readLoose(bytes.NewReader(data))
		if err == nil && len(body) > MaxObjectSize {
			t.Fatalf("an object of %d bytes was accepted", len(body))
		}
	})
}

func FuzzPatch(f *testing.F) {
	f.Add([]byte("hello world"), []byte{11, 5, 0x91, 0, 5})
	f.Add([]byte("abc"), []byte{3, 6, 0x90, 3, 3, 'x', 'y', 'z'})
	f.Add([]byte{}, []byte{0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 1, 'a'})
	f.Fuzz(func(t *testing.T, base, delta []byte) {
		out, err := patch(base, delta)
		if err == nil && len(out) > MaxObjectSize {
			t.Fatalf("a delta result of %d bytes was accepted", len(out))
		}
	})
}

// FuzzPack reads every object of a pack and index given as bytes.
func FuzzPack(f *testing.F) {
	if idx, pk, err := seedPack(); err == nil {
		f.Add(idx, pk)
	}
	f.Fuzz(func(t *testing.T, idx, data []byte) {
		tm := time.AfterFunc(3*time.Second, func() { panic(fmt.Sprintf("a pack takes more than 3s:\nidx %x\ndata %x", idx, data)) })
		defer tm.Stop()
		if len(idx)+len(data) > 64<<10 {
			return // the mutator grows inputs; bounds are what matter, not size
		}
		p, err := newPack(idx, data)
		if err != nil {
			return
		}
		o := &odb{packs: []*pack{p}}
		for i := uint32(0); i < p.n && i < 64; i++ {
			if off, ok := p.offset(i); ok {
				if _, body, err := p.readAt(off, o); err == nil && len(body) > MaxObjectSize {
					t.Fatalf("an object of %d bytes was accepted", len(body))
				}
			}
			var h Hash
			copy(h[:], idx[min(len(idx), 8+256*4+int(i)*20):])
			p.find(h)
		}
	})
}

// seedPack is a real pack: what git writes for a small history.
func seedPack() (idx, data []byte, err error) {
	files, _ := filepath.Glob(filepath.Join("testdata", "seed.git", "objects", "pack", "*.idx"))
	if len(files) == 0 {
		return nil, nil, os.ErrNotExist
	}
	if idx, err = os.ReadFile(files[0]); err != nil {
		return nil, nil, err
	}
	data, err = os.ReadFile(files[0][:len(files[0])-4] + ".pack")
	return idx, data, err
}

func FuzzParseIndex(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "seed.index")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("DIRC\x00\x00\x00\x02\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseIndex(b)
	})
}

// FuzzRefs reads HEAD, a loose ref and packed-refs as a repository holds them.
func FuzzRefs(f *testing.F) {
	f.Add([]byte("ref: refs/heads/main\n"), []byte("0123456789012345678901234567890123456789\n"),
		[]byte("# pack-refs with: peeled fully-peeled sorted \n0123456789012345678901234567890123456789 refs/tags/v1.0.0\n^0123456789012345678901234567890123456789\n"))
	f.Add([]byte("0123456789012345678901234567890123456789"), []byte("ref: refs/heads/main"), []byte("^x\n"))
	f.Fuzz(func(t *testing.T, head, ref, packed []byte) {
		dir := t.TempDir()
		for name, b := range map[string][]byte{"HEAD": head, "refs/heads/main": ref, "packed-refs": packed} {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		os.MkdirAll(filepath.Join(dir, "objects"), 0o755)
		o, err := openODB(filepath.Join(dir, "objects"))
		if err != nil {
			return
		}
		defer o.close()
		r := &Repo{GitDir: dir, CommonDir: dir, odb: o}
		r.Head()
		r.Refs("refs/tags/", "refs/heads/")
		r.Resolve("refs/heads/main")
	})
}

// TestMutatedPacks reads 3000 copies of a real pack and index with bytes
// changed at random: no panic, every object bounded, each read quick. (Go's
// fuzzer makes few executions of FuzzPack per second here; this covers the
// same ground deterministically.)
func TestMutatedPacks(t *testing.T) {
	idx0, data0, err := seedPack()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for k := 0; k < 3000; k++ {
		idx, data := bytes.Clone(idx0), bytes.Clone(data0)
		for j := 0; j < 1+rng.IntN(4); j++ {
			if rng.IntN(2) == 0 {
				idx[rng.IntN(len(idx))] = byte(rng.IntN(256))
			} else {
				data[rng.IntN(len(data))] = byte(rng.IntN(256))
			}
		}
		start := time.Now()
		p, err := newPack(idx, data)
		if err != nil {
			continue
		}
		o := &odb{packs: []*pack{p}}
		for i := uint32(0); i < p.n && i < 64; i++ {
			if off, ok := p.offset(i); ok {
				if _, body, err := p.readAt(off, o); err == nil && len(body) > MaxObjectSize {
					t.Fatalf("mutation %d: an object of %d bytes", k, len(body))
				}
			}
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("mutation %d took %v", k, d)
		}
	}
}
