package venv

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gopythongo/gopythongo/internal/fdio"
	"github.com/gopythongo/gopythongo/internal/fileread"
	"github.com/gopythongo/gopythongo/internal/fsroot"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/treesums"
)

// The tree cache keeps finished trees, so that a build whose inputs are
// unchanged installs, compiles and checks nothing:
//
//	trees/<key>/record.json  what the build found in the tree (state.Venv, what its project made)
//	trees/<key>/entries      every entry: path, mode, size, sha256, md5 and link target, each ended by a NUL
//	trees/<key>/root/        the tree, hard-linked with the dist/root it was made in
//
// A restore links every file again (a copy across file systems), each one
// checked against its sha256 on the way. Times are not part of the cached
// tree: the restore sets SOURCE_DATE_EPOCH, so one tree serves every commit.
//
//	trees/<key>/stamps.json  each cached file's inode, size, mode and change time when the build that used it ended
//
// A file whose stamp still holds has not been written since a build checked
// it (any write, chmod or link changes its change time, which no program
// sets), so a restore links it without reading it again; every other file
// is hashed. A cache restored from elsewhere has new inodes: all is hashed.
const (
	treeCacheFormat = 3
	// keptTrees is how many trees the cache keeps, the most recently used.
	keptTrees = 3
	// maxTreeRecord bounds the record read from the cache.
	maxTreeRecord = 256 << 20
)

// treeRecord is a finished tree in the cache.
type treeRecord struct {
	Format   int        `json:"format"`
	Venv     state.Venv `json:"venv"`
	Stripped int        `json:"stripped"`
	Entries  []Entry    `json:"-"` // in the entries file: no JSON to decode for a large tree
	// Project is what of the tree the project made, for an app-only
	// change (fromBase); nil when it cannot be told.
	Project *projectPart `json:"project,omitempty"`
	// stamps are the stamps of its files (stamps.json), by entry; nil
	// when there are none that fit.
	stamps []stamp
}

func (c *Cache) treeDir(key string) string { return filepath.Join(c.Dir, "trees", key) }

// lookupTree reads the record of a tree; ok is false when there is none or
// it does not describe a tree that can be restored.
func (c *Cache) lookupTree(key string) (*treeRecord, bool) {
	data, err := fileread.Read(filepath.Join(c.treeDir(key), "record.json"), maxTreeRecord)
	if err != nil {
		return nil, false
	}
	// The stamps are read meanwhile, on another CPU: they and the entries
	// are megabytes for a large tree, and every use of the record needs both.
	stamps := aside(func() ([]stamp, error) { return c.treeStamps(key), nil })
	var rec treeRecord
	err = json.Unmarshal(data, &rec)
	if err == nil && rec.Format == treeCacheFormat {
		rec.Entries, err = readEntries(filepath.Join(c.treeDir(key), "entries"))
	}
	rec.stamps, _ = stamps()
	if err != nil || rec.Format != treeCacheFormat || validEntries(rec.Entries) != nil {
		return nil, false
	}
	if len(rec.stamps) != len(rec.Entries) {
		rec.stamps = nil // then every file is hashed
	}
	return &rec, true
}

// entryFields is how many fields an entry has in a tree's entries file.
const entryFields = 6

// appendEntries writes entries as the entries file holds them: path, mode,
// size, sha256, md5 and link target, each ended by a NUL, which no path or
// link holds.
func appendEntries(b []byte, entries []Entry) []byte {
	for _, e := range entries {
		b = append(b, e.Path...)
		b = append(b, 0)
		b = strconv.AppendUint(b, uint64(e.Mode), 10)
		b = append(b, 0)
		b = strconv.AppendInt(b, e.Size, 10)
		b = append(b, 0)
		b = append(b, e.SHA256...)
		b = append(b, 0)
		b = append(b, e.MD5...)
		b = append(b, 0)
		b = append(b, e.Link...)
		b = append(b, 0)
	}
	return b
}

// readEntries reads a tree's entries file; validEntries says whether they
// make a tree.
func readEntries(p string) ([]Entry, error) {
	data, err := fileread.Read(p, maxTreeRecord)
	if err != nil {
		return nil, err
	}
	fields := strings.Split(string(data), "\x00")
	if len(fields)%entryFields != 1 || fields[len(fields)-1] != "" {
		return nil, fmt.Errorf("%s is cut short", p)
	}
	entries := make([]Entry, len(fields)/entryFields)
	for i := range entries {
		f := fields[i*entryFields : (i+1)*entryFields]
		mode, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s: %s has the mode %q", p, f[0], f[1])
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("%s: %s has the size %q", p, f[0], f[2])
		}
		entries[i] = Entry{Path: f[0], Mode: fs.FileMode(mode), Size: size, SHA256: f[3], MD5: f[4], Link: f[5]}
	}
	return entries, nil
}

// validEntries checks that entries describe a tree that can be made beneath
// a root: the root first, clean paths, each once, every parent a directory
// listed before its children, only files, directories and links.
func validEntries(entries []Entry) error {
	if len(entries) == 0 || entries[0].Path != "." || !entries[0].Mode.IsDir() {
		return errors.New("the record does not start with the tree's root")
	}
	dirs := map[string]bool{".": true}
	seen := map[string]bool{".": true}
	for _, e := range entries[1:] {
		if _, err := fsroot.Clean(e.Path); err != nil {
			return err
		}
		if seen[e.Path] {
			return fmt.Errorf("%s is listed twice", e.Path)
		}
		seen[e.Path] = true
		if !dirs[path.Dir(e.Path)] {
			return fmt.Errorf("%s comes before its directory", e.Path)
		}
		switch {
		case e.Mode.IsDir():
			dirs[e.Path] = true
		case e.Mode.IsRegular():
			if b, err := hex.DecodeString(e.SHA256); err != nil || len(b) != sha256.Size {
				return fmt.Errorf("%s has no sha256", e.Path)
			}
			if b, err := hex.DecodeString(e.MD5); err != nil || len(b) != md5.Size {
				return fmt.Errorf("%s has no md5", e.Path)
			}
		case e.Mode.Type() == fs.ModeSymlink:
			if e.Link == "" {
				return fmt.Errorf("%s is a link to nothing", e.Path)
			}
		default:
			return fmt.Errorf("%s is neither a file, a directory nor a link", e.Path)
		}
	}
	return nil
}

// restoreTree makes the tree of entries at to (which may exist, empty but for
// the directories of the deploy path) from the cached tree at from: every
// file linked, or copied across file systems, after its content was checked
// (unless its stamp says it was checked and not changed since). It returns
// how many files were copied rather than linked. verify is off only for a
// tree this build has just hashed. A non-zero epoch is every entry's time; a
// linked file that has it already is not touched. after, when not nil, gets
// the stamp of each file linked (by entry), once linked and given its time.
func restoreTree(entries []Entry, from, to string, verify bool, epoch time.Time, stamps, after []stamp) (restored, error) {
	src, err := fsroot.Open(from)
	if err != nil {
		return restored{}, err
	}
	defer src.Close()
	var files []int
	for i, e := range entries {
		dst := filepath.Join(to, filepath.FromSlash(e.Path))
		switch {
		case e.Mode.IsDir():
			// 0700 while it is filled: a read-only directory gets its mode last.
			if err := os.Mkdir(dst, 0o700); err != nil && !(errors.Is(err, fs.ErrExist) && isDir(dst)) {
				return restored{}, err
			}
		case e.Mode.IsRegular():
			files = append(files, i)
		default:
			if err := os.Symlink(e.Link, dst); err != nil {
				return restored{}, err
			}
			if err := setTime(dst, epoch); err != nil {
				return restored{}, err
			}
		}
	}
	copied := make([]bool, len(files))
	var hashed atomic.Int64
	err = parallelWorkers(len(files), func() (func(i int) error, func()) {
		// A buffer a worker: thousands of files, each hashed or copied.
		w := &restoreWorker{hashed: &hashed, buf: make([]byte, 256<<10)}
		return func(i int) error {
			e := entries[files[i]]
			var err error
			var st *stamp
			if files[i] < len(stamps) {
				st = &stamps[files[i]]
			}
			var linked *stamp
			if after != nil {
				linked = &after[files[i]]
			}
			copied[i], err = restoreFile(src, e, filepath.Join(to, filepath.FromSlash(e.Path)), verify, epoch, st, linked, w)
			return err
		}, func() {}
	})
	if err != nil {
		return restored{}, err
	}
	if err := setDirModes(entries, to, epoch); err != nil {
		return restored{}, err
	}
	r := restored{files: len(files), hashed: int(hashed.Load())}
	for _, c := range copied {
		if c {
			r.copied++
		}
	}
	return r, nil
}

// restored counts what restoreTree did with the regular files: all of them,
// those copied rather than linked, those hashed.
type restored struct{ files, copied, hashed int }

// errTreeChanged means a cached file is not what the record says.
var errTreeChanged = errors.New("the cached tree was changed")

// restoreWorker is what a worker of restoreTree has of its own: a buffer,
// and the count of files hashed it adds to.
type restoreWorker struct {
	hashed *atomic.Int64
	buf    []byte
}

// restoreFile checks one cached file and links it to dst (copies it when the
// cache is on another file system); it reports whether it copied. The file
// is hashed unless its stamp holds, and the worker's count counts it.
// linked, when not nil, gets the stamp of the linked file.
func restoreFile(src *fsroot.Root, e Entry, dst string, verify bool, epoch time.Time, st, linked *stamp, w *restoreWorker) (bool, error) {
	fd, sys, err := src.OpenFD(e.Path)
	if err != nil {
		return false, err
	}
	// A plain descriptor: an *os.File costs three system calls more a file.
	defer unix.Close(fd)
	f := fdio.Reader(fd)
	perm := fs.FileMode(sys.Mode).Perm()
	if verify && (st == nil || *st != stampOfStat(&sys) || sys.Size != e.Size || perm != e.Mode.Perm()) {
		w.hashed.Add(1)
		h := sha256.New()
		n, err := io.CopyBuffer(h, f, w.buf)
		if err != nil {
			return false, err
		}
		if n != e.Size || hex.EncodeToString(h.Sum(nil)) != e.SHA256 || perm != e.Mode.Perm() {
			return false, fmt.Errorf("%w: %s is not the file it was", errTreeChanged, e.Path)
		}
	}
	// The very inode that was checked is linked, not a path looked up again.
	err = unix.Linkat(fd, "", unix.AT_FDCWD, dst, unix.AT_EMPTY_PATH)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOENT) { // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH
		err = unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", fd), unix.AT_FDCWD, dst, unix.AT_SYMLINK_FOLLOW)
	}
	if !errors.Is(err, unix.EXDEV) {
		if err == nil && sys.Mtim.Nano() != epoch.UnixNano() && !epoch.IsZero() {
			err = setTime(dst, epoch)
		}
		if err == nil && linked != nil {
			var now unix.Stat_t
			if err = unix.Fstat(fd, &now); err == nil {
				*linked = stampOfStat(&now)
			}
		}
		return false, err
	}
	if _, err := unix.Seek(fd, 0, io.SeekStart); err != nil {
		return false, err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, e.Mode.Perm())
	if err != nil {
		return false, err
	}
	if _, err := io.CopyBuffer(out, f, w.buf); err != nil {
		out.Close()
		return false, err
	}
	if err := out.Chmod(e.Mode.Perm()); err != nil {
		out.Close()
		return false, err
	}
	if err := out.Close(); err != nil {
		return false, err
	}
	return true, setTime(dst, epoch)
}

// setTime gives a path (a link itself, not what it names) the epoch, unless
// the epoch is zero.
func setTime(p string, epoch time.Time) error {
	if epoch.IsZero() {
		return nil
	}
	ts := unix.NsecToTimespec(epoch.UnixNano())
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set the time of %s: %w", p, err)
	}
	return nil
}

func isDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}

// setDirModes gives the directories of a tree their modes and the epoch,
// deepest first, once all they hold is made.
func setDirModes(entries []Entry, root string, epoch time.Time) error {
	for i := len(entries) - 1; i >= 0; i-- {
		if e := entries[i]; e.Mode.IsDir() {
			p := filepath.Join(root, filepath.FromSlash(e.Path))
			if err := os.Chmod(p, e.Mode.Perm()); err != nil {
				return err
			}
			if err := setTime(p, epoch); err != nil {
				return err
			}
		}
	}
	return nil
}

// keepTree links the finished tree at root into the cache under key, with
// its record (asked for once the files are linked, so that what it waits on
// runs meanwhile), and forgets the least recently used trees beyond keptTrees.
// linked says the cached tree is the one at root (not one kept before).
func (c *Cache) keepTree(key string, root string, entries []Entry, record func() (treeRecord, error)) (linked bool, err error) {
	if _, err := os.Stat(c.treeDir(key)); err == nil {
		return false, nil
	}
	trees := filepath.Join(c.Dir, "trees")
	if err := os.MkdirAll(trees, 0o755); err != nil {
		return false, err
	}
	tmp, err := os.MkdirTemp(trees, ".new-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	// Linked from the tree just made and hashed: its hashes are the record's.
	if err := os.Mkdir(filepath.Join(tmp, "root"), 0o700); err != nil {
		return false, err
	}
	if _, err := restoreTree(entries, root, filepath.Join(tmp, "root"), false, time.Time{}, nil, nil); err != nil {
		return false, err
	}
	rec, err := record()
	if err != nil {
		return false, err
	}
	return c.placeTree(tmp, key, rec, entries)
}

// placeTree writes the record of the tree made in tmp and renames it into
// the cache under key, then forgets the least recently used trees; false
// when another build kept the tree first.
func (c *Cache) placeTree(tmp, key string, rec treeRecord, entries []Entry) (bool, error) {
	rec.Format, rec.Entries = treeCacheFormat, entries
	data, err := json.Marshal(rec)
	if err != nil {
		return false, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "entries"), appendEntries(nil, entries), 0o644); err != nil {
		return false, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "record.json"), data, 0o644); err != nil {
		return false, err
	}
	if rec.Project != nil {
		// findBase reads this, not the whole record.
		if err := os.WriteFile(filepath.Join(tmp, "base"), []byte(rec.Project.Base), 0o644); err != nil {
			return false, err
		}
	}
	if err := os.Rename(tmp, c.treeDir(key)); err != nil {
		if errors.Is(err, fs.ErrExist) || errors.Is(err, unix.ENOTEMPTY) {
			return false, nil // another build kept it first
		}
		return false, err
	}
	return true, nil
}

// sameTree reports whether a tree as walkTree found it is the cached tree
// of entries as the last build left it, so that nothing need be linked
// again: the same names in the same order, each with its mode and the epoch
// as its time, each link with its target, each file with the stamp the
// cache recorded for it (the very inode, not written, chmod-ed or linked
// since). A zero epoch is the time of the tree's root, whatever it is.
func sameTree(found []walked, entries []Entry, stamps []stamp, epoch time.Time) bool {
	if len(stamps) != len(entries) || len(found) != len(entries) || len(found) == 0 {
		return false
	}
	at := epoch.UnixNano()
	if epoch.IsZero() {
		at = found[0].MTime
	}
	for i, f := range found {
		e, st := entries[i], stamps[i]
		if f.Path != e.Path || f.Mode != e.Mode || f.MTime != at {
			return false
		}
		switch {
		case f.Mode.IsRegular():
			if st == (stamp{}) || f.st != st {
				return false
			}
		case f.Mode&fs.ModeSymlink != 0:
			if f.Link != e.Link {
				return false
			}
		}
	}
	return true
}

// stamp is what a file's inode says of it: a file whose stamp is unchanged
// has not been written, truncated, chmod-ed or linked since. It is the
// stamp treesums hands to gopythongo-package.
type stamp = treesums.Stamp

func stampOfStat(st *unix.Stat_t) stamp { return treesums.StampOf(st) }

// statTree is the stamp of every regular file of entries below root, by
// entry (none for the others).
func statTree(root string, entries []Entry) ([]stamp, error) {
	stamps := make([]stamp, len(entries))
	err := parallel(len(entries), func(i int) error {
		if !entries[i].Mode.IsRegular() {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, filepath.FromSlash(entries[i].Path)), &st); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFREG {
			stamps[i] = stampOfStat(&st)
		}
		return nil
	})
	return stamps, err
}

// stampTree records the stamps of a cached tree's files, once the build that
// checked them (and linked them, which changes their change time) is done;
// the entries' order is the stamps'. Stamps taken of the same files through
// another link are given, else the cached tree is stat-ed.
func (c *Cache) stampTree(key string, entries []Entry, stamps []stamp) error {
	if stamps == nil {
		var err error
		if stamps, err = statTree(filepath.Join(c.treeDir(key), "root"), entries); err != nil {
			return err
		}
	}
	data, err := json.Marshal(stamps)
	if err != nil {
		return err
	}
	return state.WriteFileAtomic(filepath.Join(c.treeDir(key), "stamps.json"), data, 0o644)
}

// treeStamps reads the stamps of a cached tree; nil when there are none.
func (c *Cache) treeStamps(key string) []stamp {
	data, err := fileread.Read(filepath.Join(c.treeDir(key), "stamps.json"), maxTreeRecord)
	if err != nil {
		return nil
	}
	var stamps []stamp
	if err := json.Unmarshal(data, &stamps); err != nil {
		return nil
	}
	return stamps
}

// usedTree marks a tree as just used, for pruneTrees.
func (c *Cache) usedTree(key string) {
	now := time.Now()
	os.Chtimes(filepath.Join(c.treeDir(key), "record.json"), now, now)
}

// pruneTrees removes all but the keep most recently used trees. A build
// that adds a tree prunes to keptTrees-1 while it compiles
// (pruneTreesAside): the removal of a large tree takes seconds, most of them
// the file system's.
func (c *Cache) pruneTrees(keep int) (int, error) {
	ents, err := os.ReadDir(filepath.Join(c.Dir, "trees"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	type tree struct {
		dir  string
		used time.Time
	}
	var trees []tree
	for _, e := range ents {
		if !e.IsDir() || e.Name()[0] == '.' {
			continue
		}
		dir := filepath.Join(c.Dir, "trees", e.Name())
		fi, err := os.Stat(filepath.Join(dir, "record.json"))
		if err != nil {
			continue
		}
		trees = append(trees, tree{dir, fi.ModTime()})
	}
	slices.SortFunc(trees, func(a, b tree) int { return b.used.Compare(a.used) })
	removed := 0
	for _, t := range trees[min(keep, len(trees)):] {
		if err := forceRemoveAll(t.dir); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// pruneTreesAside runs pruneTrees on a goroutine of its own; wait returns
// what it did once it is done.
func (c *Cache) pruneTreesAside(keep int) (wait func() (int, error)) {
	return aside(func() (int, error) { return c.pruneTrees(keep) })
}

// forceRemoveAll removes a tree even where its directories are read-only,
// on every CPU (removeTree).
func forceRemoveAll(dir string) error {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return removeTree(dir)
}

// treeInputs are what the tree key names (Key of them): everything the
// finished tree is made of, the wheels, the interpreter and the system it
// runs on, the deploy path, the tool and every setting of the install,
// finish and check. With post_build they name the checkout and the time
// too, which a command may read. baseKey is made from the same inputs.
func (b *build) treeInputs(wheels []WheelFile) (map[string]any, error) {
	c := b.c
	var sums []string
	for _, w := range wheels {
		sums = append(sums, w.SHA256)
	}
	slices.Sort(sums)
	tool, err := sha256File(b.toolPath())
	if err != nil {
		return nil, fmt.Errorf("hash this program, for the tree cache: %w", err)
	}
	var extra []any
	for _, f := range c.Venv.ExtraFiles {
		entries, _, err := scanTree(c.Path(f.Src), nil, nil)
		if err != nil {
			return nil, fmt.Errorf("venv.extra_files %s: %w", f.Src, err)
		}
		for i := range entries {
			entries[i].MTime = 0 // copied with the content, not the time
		}
		extra = append(extra, []string{summarize(entries).Digest, f.Dst, f.Mode})
	}
	in := map[string]any{
		"format": treeCacheFormat, "tool": tool, "wheels": sums, "deploy": b.deploy,
		"python": []string{b.interp.Path, b.interp.Executable, b.interp.Implementation, b.interp.Version, firstTag(b.interp)},
		"target": b.target(), "system": b.systemKey(),
		"installer": c.Venv.Installer, "pip": c.Venv.Pip, "pip_identity": b.pipIdentity(), "uv": c.Venv.UV,
		"system_site": c.Venv.SystemSitePackages, "strip": c.Venv.Strip, "strip_debug": c.Venv.StripDebug, "compile": c.Venv.Compile,
		"extra_files": extra,
	}
	if len(c.Venv.PostBuild) > 0 {
		src, err := b.sourceHash(context.Background())
		if err != nil {
			return nil, err
		}
		in["post_build"] = []any{c.Venv.PostBuild, c.Venv.PostBuildDir, c.Venv.Env, src, b.o.Epoch.Unix()}
	}
	return in, nil
}

// toolPath is this program, whose bytes make the trees.
func (b *build) toolPath() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "/proc/self/exe"
}

// systemKey names the packages of this machine, for a build on it: the
// tree's library dependencies and the interpreter's package come from dpkg's
// database. An isolated builder's target names its own system.
func (b *build) systemKey() string {
	if _, ok := b.builder.(isolatedBuilder); ok {
		return ""
	}
	fi, err := os.Stat("/var/lib/dpkg/status")
	if err != nil {
		return ""
	}
	return fmt.Sprintf("dpkg %d %d", fi.Size(), fi.ModTime().UnixNano())
}

// moveTree keeps the tree of an app-only change (fromBase) by making the
// cached tree it was made from into it, instead of linking every file
// again: the entries that tree's project made (gone, in walk order) are
// removed, this tree's entries that are not in it (added, in walk order)
// are made, its files linked from root. Every other file of root is linked
// from that tree already: the very inodes. The tree it was made from is no
// longer in the cache. linked says the cached tree is the one at root; an
// error once that tree is taken leaves neither in the cache.
func (c *Cache) moveTree(from string, gone []string, key, root string, entries []Entry, added []string, record func() (treeRecord, error)) (linked bool, err error) {
	if _, err := os.Stat(c.treeDir(key)); err == nil {
		return false, nil
	}
	// Asked first: a tree that has no record is not worth the one it
	// would be made from.
	rec, err := record()
	if err != nil {
		return false, err
	}
	tmp, err := os.MkdirTemp(filepath.Join(c.Dir, "trees"), ".new-")
	if err != nil {
		return false, err
	}
	defer forceRemoveAll(tmp) // the tree once renamed into place, nothing
	// A unique name: os.Rename does not replace even an empty directory.
	if err := os.Remove(tmp); err != nil {
		return false, err
	}
	if err := os.Rename(c.treeDir(from), tmp); err != nil {
		return false, fmt.Errorf("take the cached tree %s: %w", from[:12], err)
	}
	for _, f := range []string{"record.json", "entries", "stamps.json", "base"} {
		if err := os.Remove(filepath.Join(tmp, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	cached, err := fsroot.Open(filepath.Join(tmp, "root"))
	if err != nil {
		return false, err
	}
	defer cached.Close()
	for i := len(gone) - 1; i >= 0; i-- {
		if err := cached.Remove(gone[i]); err != nil {
			return false, err
		}
	}
	src, err := fsroot.Open(root)
	if err != nil {
		return false, err
	}
	defer src.Close()
	byPath := make(map[string]*Entry, len(added))
	for i := range entries {
		byPath[entries[i].Path] = &entries[i]
	}
	for _, p := range added {
		e := byPath[p]
		switch {
		case e == nil:
			return false, fmt.Errorf("%s is not in the tree", p)
		case e.Mode.IsDir():
			// 0700 while it is filled, as restoreTree makes it.
			err = cached.Mkdir(p, 0o700)
		case e.Mode.IsRegular():
			var fd int
			if fd, _, err = src.OpenFD(p); err == nil {
				err = cached.Link(fd, p)
				unix.Close(fd)
			}
		default:
			err = fmt.Errorf("%s is neither a file nor a directory", p)
		}
		if err != nil {
			return false, err
		}
	}
	for i := len(added) - 1; i >= 0; i-- {
		if e := byPath[added[i]]; e.Mode.IsDir() {
			if err := cached.ChmodDir(added[i], e.Mode.Perm()); err != nil {
				return false, err
			}
		}
	}
	return c.placeTree(tmp, key, rec, entries)
}
