package venv

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gopythongo/gopythongo/internal/fileread"
	"github.com/gopythongo/gopythongo/internal/state"
)

// The bytecode cache: an unchecked-hash .pyc is a function of its source's
// bytes, the path it is compiled at and the interpreter, so a build that
// installs a file compiled before (every dependency, after an app-only
// change) takes its .pyc from the cache instead of compiling it again.
//
//	pyc/<id>.pack   .pyc files end to end
//	pyc/<id>.idx    76 bytes each: key (32), offset (8), length (4), sha256 (32),
//	                little-endian; a .pyc is taken only whole and with its hash
//	key = sha256(interpreter and target, path, source)
//
// Packs, not a file a .pyc: a cold build compiles thousands, and a file
// each cost the cache as many creates and renames again, then the check a
// read of each. The index is renamed into place last, so a pack is whole
// before anyone looks for it; an index that is not whole is ignored.
//
// compileall's compile_file still decides what it compiles, and writes
// every .pyc the way it always does (its mode from the source's, through
// the umask of the target): the script below only hands it the cached bytes
// for a source it has seen, after checking that they are a .pyc of exactly
// that source. Each worker appends what it compiled to a pack of its own in
// the build's scratch directory, since the isolated builders see the cache
// read-only, and lists every .pyc it wrote with where its bytes are; this
// side files the packs and takes each .pyc's hash and leak check from them.
//
// It runs in one process per CPU (compileall's own -j hands each file to a
// pool worker, which costs more CPU than it saves), each going through the
// list of sources this side wrote and compiling the ones it claims. A worker
// claims the next source nobody has by appending a byte to a file it opened
// for itself: the append is atomic, and the offset after it is the number of
// the source claimed. Every n-th source a worker, as before, left one CPU
// idle for 0.4-1.2 s at the end of a cold build of the corpus.
//
// The list names every *.py beneath lib, outside __pycache__, found by
// walkTree: what compileall's own walk would hand to compile_file, which
// each worker did for itself.
const compileScript = `import compileall, hashlib, importlib.util, os, py_compile, struct, sys
import importlib._bootstrap_external as bootstrap
unchecked = py_compile.PycInvalidationMode.UNCHECKED_HASH
store, prefix, out = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
with open(os.path.join(out, "sources"), "rb") as f:
    sources = [os.fsdecode(name) for name in f.read().split(b"\0")[:-1]]
workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
index = {}
for name in sorted(os.listdir(store)):
    if not name.endswith(".idx"):
        continue
    try:
        with open(os.path.join(store, name), "rb") as f:
            data = f.read()
    except OSError:
        continue
    if len(data) % 76 == 0:
        pack = os.path.join(store, name[:-4] + ".pack")
        for key, off, n, digest in struct.iter_unpack("<32sQI32s", data):
            index.setdefault(key, (pack, off, n, digest))
share, seen = 0, [0]
claims = os.path.join(out, "claims")
open(claims, "wb").close()
sys.stdout.flush()
sys.stderr.flush()
for k in range(1, workers):
    if os.fork() == 0:
        share = k
        break
claimfd = os.open(claims, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
def claim():
    os.write(claimfd, b"\0")
    return os.lseek(claimfd, 0, os.SEEK_CUR)
mine = [claim()]
packfile = open(os.path.join(out, "%d.pack" % os.getpid()), "wb")
listfile = open(os.path.join(out, "%d.list" % os.getpid()), "w", encoding="utf-8", errors="surrogateescape")
packs, written = {}, {}
write_atomic = bootstrap._write_atomic
def capture(path, data, mode=0o666):
    write_atomic(path, data, mode)
    written[os.fspath(path)] = data
bootstrap._write_atomic = capture
def cached(key):
    pack, off, n, digest = index.get(key, ("", 0, 0, b""))
    if not pack:
        return b"", pack, off
    if pack not in packs:
        try:
            packs[pack] = os.open(pack, os.O_RDONLY)
        except OSError:
            packs[pack] = -1
    try:
        data = os.pread(packs[pack], n, off)
    except OSError:
        return b"", pack, off
    if len(data) != n or hashlib.sha256(data).digest() != digest:
        return b"", pack, off
    return data, pack, off
compile_uncached = compileall.compile_file
def compile_file(fullname, *args, **kwargs):
    seen[0] += 1
    if seen[0] != mine[0]:
        return True
    mine[0] = claim()
    fullname = os.fspath(fullname)
    if not fullname.endswith(".py") or os.path.islink(fullname) or not os.path.isfile(fullname):
        return compile_uncached(fullname, *args, **kwargs)
    with open(fullname, "rb") as f:
        src = f.read()
    key = hashlib.sha256(prefix + b"\0" + os.fsencode(fullname) + b"\0" + src).digest()
    cfile = importlib.util.cache_from_source(fullname)
    data, pack, off = cached(key)
    if data[:4] == importlib.util.MAGIC_NUMBER and data[4:8] == b"\1\0\0\0" and data[8:16] == importlib.util.source_hash(src):
        os.makedirs(os.path.dirname(cfile), exist_ok=True)
        write_atomic(cfile, data, bootstrap._calc_mode(fullname))
        listfile.write("H\0%s\0%s\0%s\0%d\0%d\0%s\0" % (key.hex(), cfile, pack, off, len(data), index[key][3].hex()))
        return True
    written.clear()
    ok = compile_uncached(fullname, *args, **kwargs)
    data = written.pop(cfile, None)
    if ok and data is not None:
        listfile.write("C\0%s\0%s\0\0%d\0%d\0%s\0" % (key.hex(), cfile, packfile.tell(), len(data), hashlib.sha256(data).hexdigest()))
        packfile.write(data)
    return ok
ok = True
for name in sources:
    ok &= bool(compile_file(name, quiet=1, force=True, invalidation_mode=unchecked))
packfile.close()
listfile.close()
sys.stdout.flush()
sys.stderr.flush()
if share:
    os._exit(int(not ok))
failed = not ok
for _ in range(workers - 1):
    failed |= os.waitstatus_to_exitcode(os.wait()[1]) != 0
sys.exit(int(failed))
`

// maxPyc bounds a compiled file taken into the cache.
const maxPyc = 64 << 20

// compile compiles the venv's lib directory with compileall, unchecked-hash,
// every file whose .pyc is in the bytecode cache taken from it; only the
// given files (at the deploy path) when there are any.
func (b *build) compile(ctx context.Context, only []string) (string, error) {
	store := filepath.Join(b.cache.Dir, "pyc")
	if err := os.MkdirAll(store, 0o755); err != nil {
		return "", fmt.Errorf("create the bytecode cache: %w", err)
	}
	out := b.scratch("compiled")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	sources := only
	if sources == nil {
		var err error
		if sources, err = pythonSources(filepath.Join(b.stagingVenv(), "lib"), path.Join(b.deploy, "lib")); err != nil {
			return "", fmt.Errorf("list the sources to compile: %w", err)
		}
	}
	var list []byte
	for _, s := range sources {
		list = append(append(list, s...), 0)
	}
	if err := os.WriteFile(filepath.Join(out, "sources"), list, 0o644); err != nil {
		return "", err
	}
	prefix := Key(map[string]any{"format": 1, "python": []string{b.interp.Executable, b.interp.Implementation, b.interp.Version},
		"target": b.target(), "mode": "unchecked-hash", "hashseed": "0"})
	argv := []string{b.venvPython(), "-c", compileScript, store, prefix, out}
	var log strings.Builder
	if err := b.builder.Run(ctx, Command{Argv: argv, Env: b.pip.Env, Dir: "/", Stdout: &log, Stderr: &log}); err != nil {
		// Packages ship files that are no valid Python 3 (templates,
		// test data); pip ignores them too.
		b.o.Log.Warnf("compileall could not compile everything:\n%s", tail(log.String(), 10))
	}
	n, err := b.keepBytecode(store, out)
	if err != nil {
		// The tree is right; the next build compiles again.
		b.o.Log.Warnf("the compiled files were not kept in the bytecode cache: %v", err)
	}
	return fmt.Sprintf("bytecode (unchecked-hash): %d file(s) compiled and kept in the cache, any other from it", n), nil
}

// pythonSources lists what compileall's walk of dir would hand to
// compile_file that it compiles, as paths below as: every name ending in
// .py that is no directory, outside __pycache__, in no directory reached
// through a link (compile_file itself passes over a link to no file).
func pythonSources(dir, as string) ([]string, error) {
	found, err := walkTree(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, f := range found {
		if f.Mode.IsDir() || !strings.HasSuffix(f.Path, ".py") || slices.Contains(strings.Split(f.Path, "/"), "__pycache__") {
			continue
		}
		out = append(out, path.Join(as, f.Path))
	}
	return out, nil
}

// pycEntry is a .pyc the compile script wrote, as it listed it: its key,
// its path below the venv, and where its bytes are.
type pycEntry struct {
	compiled bool // by this build, into the worker's pack; else from the store's
	key      [32]byte
	rel      string
	pack     string
	off, n   int64
	sha      [32]byte // of the .pyc, as the script took it
}

// packIndexEntry is the size of an entry of a pack's index.
const packIndexEntry = 76

// keepBytecode files the packs the compile script's workers wrote into the
// store, and records each .pyc's hash, size and leak check for the check
// phase, from the bytes in the packs. It returns how many were compiled.
func (b *build) keepBytecode(store, out string) (int, error) {
	lists, err := filepath.Glob(filepath.Join(out, "*.list"))
	if err != nil {
		return 0, err
	}
	var entries []pycEntry
	compiled := map[string][]pycEntry{} // by the worker's pack
	for _, l := range lists {
		own := strings.TrimSuffix(l, ".list") + ".pack"
		es, err := b.readPycList(l, own, store)
		if err != nil {
			return 0, err
		}
		for _, e := range es {
			if e.compiled {
				compiled[own] = append(compiled[own], e)
			}
		}
		entries = append(entries, es...)
	}
	b.learnBytecode(entries)
	n := 0
	for _, own := range slices.Sorted(maps.Keys(compiled)) {
		if err := filePack(store, own, compiled[own]); err != nil {
			return 0, err
		}
		n += len(compiled[own])
	}
	return n, compactPacks(store)
}

// readPycList reads a worker's list: records of seven fields, each ended by
// a NUL: C or H, the key, the .pyc's path at the deploy path, the store's
// pack it came from (H), its offset, length and sha256.
func (b *build) readPycList(list, own, store string) ([]pycEntry, error) {
	data, err := fileread.Read(list, 256<<20)
	if err != nil {
		return nil, err
	}
	fields := strings.Split(string(data), "\x00")
	if len(fields)%7 != 1 || fields[len(fields)-1] != "" {
		return nil, fmt.Errorf("the compile script's list %s is cut short", list)
	}
	var out []pycEntry
	for i := 0; i+7 <= len(fields); i += 7 {
		f := fields[i : i+7]
		e := pycEntry{compiled: f[0] == "C", pack: f[3]}
		k, err := hex.DecodeString(f[1])
		if (f[0] != "C" && f[0] != "H") || err != nil || len(k) != len(e.key) {
			return nil, fmt.Errorf("the compile script listed %q %q, not a kind and a key", f[0], f[1])
		}
		copy(e.key[:], k)
		var ok bool
		if e.rel, ok = strings.CutPrefix(f[2], b.deploy+"/"); !ok {
			return nil, fmt.Errorf("the compile script listed %s, outside %s", f[2], b.deploy)
		}
		if e.compiled {
			e.pack = own
		} else if filepath.Dir(e.pack) != store || !strings.HasSuffix(e.pack, ".pack") {
			return nil, fmt.Errorf("the compile script listed %s, not a pack of %s", e.pack, store)
		}
		e.off, err = strconv.ParseInt(f[4], 10, 64)
		if err == nil {
			e.n, err = strconv.ParseInt(f[5], 10, 64)
		}
		if err != nil || e.off < 0 || e.n < 0 || e.n > maxPyc {
			return nil, fmt.Errorf("the compile script listed %s at %q, %q bytes", f[2], f[4], f[5])
		}
		sum, err := hex.DecodeString(f[6])
		if err != nil || len(sum) != len(e.sha) {
			return nil, fmt.Errorf("the compile script listed %s with %q, not a sha256", f[2], f[6])
		}
		copy(e.sha[:], sum)
		out = append(out, e)
	}
	return out, nil
}

// learnBytecode records what the check phase would read each .pyc for,
// from the packs, with the file's stamp now: the script wrote it with
// exactly these bytes. A .pyc whose pack cannot be read (another build
// compacted the store meanwhile), is not as long or not the bytes the
// script hashed is left to the check.
func (b *build) learnBytecode(entries []pycEntry) {
	// Read with pread, not mapped: a pack cut short under a mapping would
	// stop the process with SIGBUS instead of leaving the file to the check.
	packs := map[string]*os.File{}
	for _, e := range entries {
		if _, ok := packs[e.pack]; !ok {
			f, err := os.Open(e.pack)
			if err != nil {
				f = nil
			}
			packs[e.pack] = f
		}
	}
	defer func() {
		for _, f := range packs {
			if f != nil {
				f.Close()
			}
		}
	}()
	// The venv's directory, opened once: a stat through it follows a link
	// in a parent, which is harmless here, since the check only takes a
	// file by the path its walk found it at, which goes through none.
	dir, err := unix.Open(b.stagingVenv(), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(dir)
	needles := newNeedleSet(b.needles())
	learned := make([]*knownFile, len(entries))
	parallelWorkers(len(entries), func() (func(i int) error, func()) {
		var buf []byte
		return func(i int) error {
			e := entries[i]
			f := packs[e.pack]
			var st unix.Stat_t
			if f == nil || unix.Fstatat(dir, e.rel, &st, unix.AT_SYMLINK_NOFOLLOW) != nil ||
				st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != e.n {
				return nil
			}
			buf = slices.Grow(buf[:0], int(e.n))[:e.n]
			if _, err := f.ReadAt(buf, e.off); err != nil {
				return nil
			}
			sum := sha256.Sum256(buf)
			if sum != e.sha {
				return nil
			}
			m := md5.Sum(buf)
			learned[i] = &knownFile{sha256: hex.EncodeToString(sum[:]), md5: hex.EncodeToString(m[:]), size: e.n, leak: needles.find(buf), st: stampOfStat(&st)}
			return nil
		}, func() {}
	})
	if b.known == nil {
		b.known = map[string]knownFile{}
	}
	for i, k := range learned {
		if k != nil {
			b.known[entries[i].rel] = *k
		}
	}
}

// filePack moves a worker's pack into the store (copies it, from another
// file system) and writes its index last, under a name of its contents.
func filePack(store, pack string, entries []pycEntry) error {
	idx := make([]byte, 0, len(entries)*packIndexEntry)
	for _, e := range entries {
		idx = append(idx, e.key[:]...)
		idx = binary.LittleEndian.AppendUint64(idx, uint64(e.off))
		idx = binary.LittleEndian.AppendUint32(idx, uint32(e.n))
		idx = append(idx, e.sha[:]...)
	}
	sum := sha256.Sum256(idx)
	name := filepath.Join(store, hex.EncodeToString(sum[:16]))
	if err := os.Rename(pack, name+".pack"); err != nil {
		if err := copyInto(store, pack, name+".pack", ""); err != nil {
			return err
		}
	}
	return state.WriteFileAtomic(name+".idx", idx, 0o644)
}

// maxPacks is how many packs the store holds before they are merged into
// one, so that a compile reads few indexes: each cold build adds one a CPU,
// each app-only change one with the app's files.
const maxPacks = 32

// compactPacks merges the store's packs into one once there are more than
// maxPacks, each key once, and removes what an earlier layout or an
// interrupted build left.
func compactPacks(store string) error {
	des, err := os.ReadDir(store)
	if err != nil {
		return err
	}
	var idxs []string
	for _, de := range des {
		name := de.Name()
		switch {
		case strings.HasSuffix(name, ".idx"):
			idxs = append(idxs, filepath.Join(store, name))
		case de.IsDir() && len(name) == 2: // pyc/<ab>/<key>, the layout before packs
			os.RemoveAll(filepath.Join(store, name))
		}
	}
	if len(idxs) <= maxPacks {
		return nil
	}
	tmp, err := os.CreateTemp(store, ".merge-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	w := bufio.NewWriterSize(tmp, 1<<20)
	var idx []byte
	seen := map[[32]byte]bool{}
	var off int64
	for _, p := range idxs {
		data, err := fileread.Read(p, 64<<20)
		if err != nil || len(data)%packIndexEntry != 0 {
			continue
		}
		if err := mergePack(w, strings.TrimSuffix(p, ".idx")+".pack", data, seen, &idx, &off); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	sum := sha256.Sum256(idx)
	name := filepath.Join(store, hex.EncodeToString(sum[:16]))
	if err := os.Rename(tmp.Name(), name+".pack"); err != nil {
		return err
	}
	if err := state.WriteFileAtomic(name+".idx", idx, 0o644); err != nil {
		return err
	}
	// The old indexes go first: a pack without one is never read.
	for _, p := range idxs {
		if p != name+".idx" {
			os.Remove(p)
			os.Remove(strings.TrimSuffix(p, ".idx") + ".pack")
		}
	}
	return nil
}

// mergePack appends the entries of one pack's index, each key not seen
// yet, to the merged pack w and its index idx; an entry beyond its pack is
// dropped.
func mergePack(w io.Writer, pack string, index []byte, seen map[[32]byte]bool, idx *[]byte, off *int64) error {
	f, err := os.Open(pack)
	if err != nil {
		return nil // an index without its pack: nothing of it is kept
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	for i := 0; i < len(index); i += packIndexEntry {
		var key [32]byte
		copy(key[:], index[i:])
		o, n := int64(binary.LittleEndian.Uint64(index[i+32:])), int64(binary.LittleEndian.Uint32(index[i+40:]))
		if seen[key] || o < 0 || n > maxPyc || o+n > fi.Size() {
			continue
		}
		if _, err := io.Copy(w, io.NewSectionReader(f, o, n)); err != nil {
			return err
		}
		seen[key] = true
		start := len(*idx)
		*idx = append(append(*idx, key[:]...), index[i+32:i+packIndexEntry]...)
		binary.LittleEndian.PutUint64((*idx)[start+32:], uint64(*off))
		*off += n
	}
	return nil
}
