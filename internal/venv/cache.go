package venv

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gopythongo/gopythongo/internal/fileread"
	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/state"
)

// WheelFile is a wheel on disk with its content hash.
type WheelFile struct {
	Path   string `json:"-"`
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// Cache is the content-addressed wheel cache: wheels stored by their sha256,
// and records that map the hash of a build's inputs to the wheels it used. CI
// persists the directory between runs; every entry is verified when read.
//
//	wheels/<sha256>/<file>.whl
//	sums/<sha256 of a path>  a wheel of find_links: its sha256 and stamp when it was hashed
//	projects/<key>.json      the project's wheel for a source hash
//	resolutions/<key>.json   every wheel of a build, for the hash of its inputs
type Cache struct {
	Dir string
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Put stores a wheel and returns its entry in the cache.
func (c *Cache) Put(path string) (WheelFile, error) {
	if _, err := python.ParseWheelName(path); err != nil {
		return WheelFile{}, err
	}
	// Streamed, never whole in memory (a wheel can be gigabytes): hashed
	// (unless it is as it was when hashed before: find_links are read by
	// every build whose project changed), and only when the cache lacks it
	// copied, hashed again on the way so that a file changed in between is
	// refused.
	real, err := filepath.EvalSymlinks(path)
	if err == nil {
		real, err = filepath.Abs(real)
	}
	if err != nil {
		return WheelFile{}, fmt.Errorf("hash %s: %w", path, err)
	}
	memo := sha256.Sum256([]byte(real))
	sum, err := stampedSum(real, filepath.Join(c.Dir, "sums", hex.EncodeToString(memo[:])), "")
	if err != nil {
		return WheelFile{}, fmt.Errorf("hash %s: %w", path, err)
	}
	name := filepath.Base(path)
	dst := c.wheelPath(WheelFile{File: name, SHA256: sum})
	if _, err := os.Stat(dst); err == nil {
		return WheelFile{Path: dst, File: name, SHA256: sum}, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return WheelFile{}, err
	}
	if err := copyInto(filepath.Dir(dst), path, dst, sum); err != nil {
		return WheelFile{}, fmt.Errorf("store %s in the wheel cache: %w", name, err)
	}
	return WheelFile{Path: dst, File: name, SHA256: sum}, nil
}

// copyInto copies src to dst through a temporary file in dir, renamed into
// place when whole and, unless want is "", when its sha256 is want.
func copyInto(dir, src, dst, want string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, ".copy-*")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name()) // a no-op after the rename
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), in); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(0o644); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if sum := hex.EncodeToString(h.Sum(nil)); want != "" && sum != want {
		return fmt.Errorf("%s changed while it was copied (sha256 %s, was %s)", src, sum, want)
	}
	return os.Rename(out.Name(), dst)
}

// ErrCorrupt means a cached wheel does not have the hash it is stored under.
var ErrCorrupt = errors.New("cached wheel does not match its sha256")

// cacheable reports whether a wheel's hash and name make a path of the
// cache: a sha256 in lower-case hex and a wheel's file name, no more.
func (w WheelFile) cacheable() bool {
	_, err := hex.DecodeString(w.SHA256)
	return err == nil && len(w.SHA256) == 2*sha256.Size && strings.ToLower(w.SHA256) == w.SHA256 &&
		filepath.Base(w.File) == w.File && strings.HasSuffix(w.File, ".whl")
}

// wheelPath is where the cache keeps a wheel (cacheable).
func (c *Cache) wheelPath(w WheelFile) string {
	return filepath.Join(c.Dir, "wheels", w.SHA256, w.File)
}

// Get finds a wheel by hash and name and verifies it.
func (c *Cache) Get(w WheelFile) (WheelFile, error) {
	if !w.cacheable() {
		return WheelFile{}, fmt.Errorf("%w: %q, %q is no sha256 and wheel name", ErrCorrupt, w.SHA256, w.File)
	}
	p := c.wheelPath(w)
	sum, err := checkedSum(p, w.SHA256)
	if err != nil {
		return WheelFile{}, err
	}
	if sum != w.SHA256 {
		os.RemoveAll(filepath.Dir(p))
		return WheelFile{}, fmt.Errorf("%w: %s is %s (removed from the cache)", ErrCorrupt, p, sum)
	}
	w.Path = p
	return w, nil
}

// checkedSum is the sha256 of the cached file p, which should be want, its
// record beside it (p.checked).
func checkedSum(p, want string) (string, error) {
	return stampedSum(p, p+".checked", want)
}

// stampedSum is the sha256 of the regular file p: taken from the record memo
// when an earlier call wrote one and p's stamp still holds (any write, chmod,
// rename over or link changes its change time, which no program sets), else
// hashed, and the record written when p did not change meanwhile. A file
// changed less than a second before is hashed but not recorded: a second
// write within the same tick of the clock would leave its stamp as it was
// (git's racy files). With want set, only a record of want is taken, and
// only want recorded.
func stampedSum(p, memo, want string) (string, error) {
	var before unix.Stat_t
	if err := unix.Lstat(p, &before); err != nil {
		return "", &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	if before.Mode&unix.S_IFMT != unix.S_IFREG {
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	now := time.Now()
	line := func(sum string, st *unix.Stat_t) string {
		s := stampOfStat(st)
		return fmt.Sprintf("%s %d %d %o %d %d\n", sum, s.Ino, s.Size, s.Mode, s.Ctime, st.Dev)
	}
	if data, err := fileread.Read(memo, 512); err == nil {
		if sum, _, ok := strings.Cut(string(data), " "); ok && len(sum) == 64 && (want == "" || sum == want) && string(data) == line(sum, &before) {
			return sum, nil
		}
	}
	sum, err := sha256File(p)
	if err != nil || (want != "" && sum != want) {
		return sum, err
	}
	var after unix.Stat_t
	if unix.Lstat(p, &after) == nil && stampOfStat(&after) == stampOfStat(&before) && now.Sub(time.Unix(0, after.Ctim.Nano())) > time.Second {
		// Best effort: without the record the next build hashes it again.
		if os.MkdirAll(filepath.Dir(memo), 0o755) == nil {
			state.WriteFileAtomic(memo, []byte(line(sum, &after)), 0o644)
		}
	}
	return sum, nil
}

// Lookup reads a record; ok is false when there is none or any wheel it names
// is missing or corrupt.
func (c *Cache) Lookup(kind, key string) ([]WheelFile, bool) {
	ws, ok := c.Recorded(kind, key)
	if !ok || c.Verify(ws) != nil {
		return nil, false
	}
	return ws, true
}

// Recorded reads a record whose wheels are all in the cache, not yet hashed:
// a build whose tree the tree cache holds reads none of them, and one that
// does read them Verifies them first. ok is false when there is no record,
// it names a wheel the cache lacks, or an entry is no sha256 and wheel name
// (a record that could name a path outside the cache).
func (c *Cache) Recorded(kind, key string) ([]WheelFile, bool) {
	data, err := fileread.Read(filepath.Join(c.Dir, kind, key+".json"), 64<<20)
	if err != nil {
		return nil, false
	}
	var ws []WheelFile
	if err := json.Unmarshal(data, &ws); err != nil || len(ws) == 0 {
		return nil, false
	}
	for i, w := range ws {
		if !w.cacheable() {
			return nil, false
		}
		p := c.wheelPath(w)
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			return nil, false
		}
		ws[i].Path = p
	}
	return ws, true
}

// Verify hashes every wheel, on every CPU (Get): a wheel that is not what its
// record says is removed, and its ErrCorrupt returned.
func (c *Cache) Verify(ws []WheelFile) error {
	return parallel(len(ws), func(i int) error {
		got, err := c.Get(ws[i])
		if err == nil {
			ws[i] = got
		}
		return err
	})
}

// Record stores a record of wheels already in the cache.
func (c *Cache) Record(kind, key string, ws []WheelFile) error {
	data, err := json.MarshalIndent(ws, "", "  ")
	if err != nil {
		return err
	}
	return state.WriteFileAtomic(filepath.Join(c.Dir, kind, key+".json"), data, 0o644)
}

// Key hashes the JSON of v: the key of a record.
func Key(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain data is hashed
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// unpackPip unpacks a pip wheel into the cache (pip/<sha256>/), once.
func (c *Cache) unpackPip(wheel string) (string, error) {
	sum, err := sha256File(wheel)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", wheel, err)
	}
	dir := filepath.Join(c.Dir, "pip", sum)
	if _, err := os.Stat(dir); err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return "", err
		}
		tmp, err := os.MkdirTemp(filepath.Dir(dir), ".unpack-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(tmp)
		if err := unzip(wheel, tmp); err != nil {
			return "", fmt.Errorf("unpack %s: %w", wheel, err)
		}
		// Another build may have won the race; its copy is as good.
		if err := os.Rename(tmp, dir); err != nil {
			if _, serr := os.Stat(dir); serr != nil {
				return "", err
			}
		}
	}
	return dir, nil
}

// compilePip compiles an unpacked pip for the interpreter, once.
func (c *Cache) compilePip(ctx context.Context, interp python.Interpreter, dir string) error {
	marker := filepath.Join(dir, ".compiled-"+strings.ReplaceAll(interp.Version, ".", "-"))
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	if _, err := python.LocalRunner(ctx, []string{interp.Path, "-m", "compileall", "-q", dir}); err != nil {
		return fmt.Errorf("compile pip: %w", err)
	}
	return os.WriteFile(marker, nil, 0o644)
}

// unzip extracts an archive, refusing entries that would land outside dir.
func unzip(archive, dir string) error {
	zr, err := zip.OpenReader(archive)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		dst, err := SafeJoin(dir, f.Name)
		if err != nil {
			return err
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err == nil {
			_, err = io.Copy(out, rc)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// SafeJoin joins an archive entry's name to dir, refusing absolute names and
// names that climb out with "..".
func SafeJoin(dir, name string) (string, error) {
	if filepath.IsAbs(name) || strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("archive entry %q is an absolute path", name)
	}
	p := filepath.Join(dir, name)
	if p != dir && !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
		return "", fmt.Errorf("archive entry %q points outside its destination", name)
	}
	return p, nil
}
