package venv

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gopythongo/gopythongo/internal/fsroot"
)

// The bytecode cache: an unchecked-hash .pyc is a function of its source's
// bytes, the path it is compiled at and the interpreter, so a build that
// installs a file compiled before (every dependency, after an app-only
// change) takes its .pyc from the cache instead of compiling it again:
//
//	pyc/<ab>/<key>   key = sha256(interpreter and target, path, source)
//
// compileall still walks the tree and decides what it compiles, and writes
// every .pyc the way it always does (its mode from the source's, through
// the umask of the target): the script below only hands it the cached bytes
// for a source it has seen, after checking that they are a .pyc of exactly
// that source. What it compiled is stored by this side afterwards, since the
// isolated builders see the cache read-only.
//
// It runs compileall in one process per CPU, each walking the whole tree
// (compileall sorts it) and compiling every n-th file: compileall's own
// -j hands each file to a pool worker, which costs more CPU than it saves.
const compileScript = `import compileall, hashlib, importlib.util, os, sys
from importlib._bootstrap_external import _calc_mode, _write_atomic
store, prefix, out = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
sys.argv = [sys.argv[0]] + sys.argv[4:]
workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
share, seen = 0, [0]
sys.stdout.flush()
sys.stderr.flush()
for k in range(1, workers):
    if os.fork() == 0:
        share = k
        break
compile_uncached = compileall.compile_file
def compile_file(fullname, *args, **kwargs):
    seen[0] += 1
    if seen[0] % workers != share:
        return True
    fullname = os.fspath(fullname)
    if not fullname.endswith(".py") or os.path.islink(fullname) or not os.path.isfile(fullname):
        return compile_uncached(fullname, *args, **kwargs)
    with open(fullname, "rb") as f:
        src = f.read()
    key = hashlib.sha256(prefix + b"\0" + os.fsencode(fullname) + b"\0" + src).hexdigest()
    cfile = importlib.util.cache_from_source(fullname)
    try:
        with open(os.path.join(store, key[:2], key), "rb") as f:
            data = f.read()
    except OSError:
        data = b""
    if data[:4] == importlib.util.MAGIC_NUMBER and data[4:8] == b"\1\0\0\0" and data[8:16] == importlib.util.source_hash(src):
        os.makedirs(os.path.dirname(cfile), exist_ok=True)
        _write_atomic(cfile, data, _calc_mode(fullname))
        return True
    ok = compile_uncached(fullname, *args, **kwargs)
    if ok and os.path.isfile(cfile):
        with open("%s.%d" % (out, os.getpid()), "a") as f:
            f.write(key + "\0" + cfile + "\0")
    return ok
compileall.compile_file = compile_file
ok = compileall.main()
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
// every file whose .pyc is in the bytecode cache taken from it.
func (b *build) compile(ctx context.Context) (string, error) {
	store := filepath.Join(b.cache.Dir, "pyc")
	if err := os.MkdirAll(store, 0o755); err != nil {
		return "", fmt.Errorf("create the bytecode cache: %w", err)
	}
	out := b.scratch("compiled")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	prefix := Key(map[string]any{"format": 1, "python": []string{b.interp.Executable, b.interp.Implementation, b.interp.Version},
		"target": b.target(), "mode": "unchecked-hash", "hashseed": "0"})
	argv := []string{b.venvPython(), "-c", compileScript, store, prefix, filepath.Join(out, "list"),
		"-q", "-f", "--invalidation-mode", "unchecked-hash", path.Join(b.deploy, "lib")}
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

// keepBytecode stores the .pyc files the script compiled, as it listed them
// (key, path at the deploy path) in out/list.<pid>.
func (b *build) keepBytecode(store, out string) (int, error) {
	lists, err := filepath.Glob(filepath.Join(out, "list.*"))
	if err != nil {
		return 0, err
	}
	root, err := fsroot.Open(b.staging)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	type compiled struct{ key, rel string }
	var todo []compiled
	for _, l := range lists {
		data, err := os.ReadFile(l)
		if err != nil {
			return 0, err
		}
		fields := strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
		for i := 0; i+1 < len(fields); i += 2 {
			key, cfile := fields[i], fields[i+1]
			if k, err := hex.DecodeString(key); err != nil || len(k) != 32 {
				return 0, fmt.Errorf("the compile script listed %q, not a key", key)
			}
			rel, ok := strings.CutPrefix(cfile, b.deploy+"/")
			if !ok {
				return 0, fmt.Errorf("the compile script listed %s, outside %s", cfile, b.deploy)
			}
			todo = append(todo, compiled{key, rel})
		}
	}
	// The store's 256 directories are made once, not once a file.
	dirs := map[string]bool{}
	for _, c := range todo {
		if d := c.key[:2]; !dirs[d] {
			dirs[d] = true
			if err := os.MkdirAll(filepath.Join(store, d), 0o755); err != nil {
				return 0, err
			}
		}
	}
	suffix := fmt.Sprintf(".tmp-%d", os.Getpid())
	return len(todo), parallel(len(todo), func(i int) error {
		return keepPyc(root, todo[i].rel, filepath.Join(store, todo[i].key[:2], todo[i].key), suffix)
	})
}

// keepPyc copies one compiled file of the tree into the cache, in the place
// of one the script found wanting; only regular files beneath the tree are
// read.
//
// It runs for thousands of files, so it makes plain system calls: a read
// through a descriptor, then a temporary file (the key and suffix name it:
// unique to this process) renamed into place, so that a reader sees the
// whole file or none.
func keepPyc(root *fsroot.Root, rel, dst, suffix string) error {
	fd, st, err := root.OpenFD(rel)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if st.Size > maxPyc {
		return fmt.Errorf("%s is larger than %d MiB", rel, maxPyc>>20)
	}
	data := make([]byte, st.Size)
	if _, err := io.ReadFull(fdReader(fd), data); err != nil {
		return fmt.Errorf("read %s: %w", rel, err)
	}
	tmp := dst + suffix
	out, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("store %s: %w", rel, err)
	}
	_, err = fdWriter(out).Write(data)
	if cerr := unix.Close(out); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Rename(tmp, dst)
	}
	if err != nil {
		unix.Unlink(tmp)
		return fmt.Errorf("store %s: %w", rel, err)
	}
	return nil
}
