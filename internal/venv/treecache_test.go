package venv

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/treesums"
)

// cachedTrees lists the trees kept in a cache, by key.
func cachedTrees(t *testing.T, cache string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(cache, "trees"))
	require.NoError(t, err)
	var keys []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			keys = append(keys, e.Name())
		}
	}
	return keys
}

// TestWarmBuildRestoresTheTree: unchanged inputs give the very tree of the
// build before from the tree cache, installing, compiling and checking
// requireSumsRecorded holds the md5 sums a build recorded for dist/root
// (treesums) to md5 over every file of it, each with the stamp the file has
// now: what gopythongo-package takes instead of reading the tree again.
func requireSumsRecorded(t *testing.T, root string) {
	t.Helper()
	data, err := os.ReadFile(treesums.PathFor(root))
	require.NoError(t, err, "the build records the sums")
	files := 0
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		files++
		rel, _ := filepath.Rel(root, p)
		content, err := os.ReadFile(p)
		require.NoError(t, err)
		var st unix.Stat_t
		require.NoError(t, unix.Lstat(p, &st))
		sum := md5.Sum(content)
		want := fmt.Sprintf("\x00%s\x00%x\x00%d\x00%d\x00%d\x00%d\x00%d\x00", rel, sum, st.Dev, st.Ino, st.Size, st.Mode, st.Ctim.Nano())
		assert.Contains(t, string(data), want, "the record of %s", rel)
		return nil
	}))
	assert.Equal(t, files, strings.Count(string(data), "\x00")/7, "a record a file")
}

// nothing, and the tree runs.
func TestWarmBuildRestoresTheTree(t *testing.T) {
	t.Parallel()
	p := testutil.HelloProject(t, helloConfig)
	cache := t.TempDir()
	cold := buildIn(t, p.Dir, cache)
	require.NoError(t, cold.err, cold.log)
	assert.False(t, cold.res.TreeCached)
	assert.Contains(t, cold.log, "kept in the cache")
	require.Len(t, cachedTrees(t, cache), 1)
	requireSumsRecorded(t, cold.res.Root)

	warm := buildIn(t, p.Dir, cache)
	require.NoError(t, warm.err, warm.log)
	assert.True(t, warm.res.TreeCached, warm.log)
	for _, phase := range []string{"install ", "compile", "no build paths"} {
		assert.NotContains(t, warm.log, phase, "a restored tree is not made again")
	}
	// dist/root is the cached tree as the cold build left it: nothing is
	// linked again.
	assert.Contains(t, warm.log, "dist/root is the cached tree, unchanged")
	requireSumsRecorded(t, warm.res.Root)
	assert.Equal(t, cold.res.Venv, warm.res.Venv, "the same tree, the same record")
	info, err := Inspect(warm.res.Root)
	require.NoError(t, err)
	assert.Equal(t, warm.res.Venv.Digest, info.Digest, "the digest of what is on disk")

	// A file added, or a directory's mode changed, in dist/root: the tree
	// is linked again, and the files the cold build hashed and nothing
	// wrote since are not read again.
	extra := filepath.Join(warm.res.Root, "opt", "hello", "extra")
	require.NoError(t, os.WriteFile(extra, []byte("x"), 0o644))
	added := buildIn(t, p.Dir, cache)
	require.NoError(t, added.err, added.log)
	assert.Contains(t, added.log, "25 of them unchanged since a build checked them, 0 checked against their sha256")
	assert.NoFileExists(t, extra)
	requireSumsRecorded(t, added.res.Root)
	require.NoError(t, os.Chmod(filepath.Join(warm.res.Root, "opt", "hello", "bin"), 0o700))
	chmodded := buildIn(t, p.Dir, cache)
	require.NoError(t, chmodded.err, chmodded.log)
	assert.Contains(t, chmodded.log, "25 of them unchanged since a build checked them, 0 checked against their sha256")
	fi, err := os.Stat(filepath.Join(warm.res.Root, "opt", "hello", "bin"))
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o755), fi.Mode().Perm())

	// A file written (even with the same bytes and times) or touched is
	// hashed again; so is every file once dist/ is removed, which unlinks
	// them (their change time moves).
	script := filepath.Join(warm.res.Root, "opt", "hello", "bin", "hello")
	data, err := os.ReadFile(script)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(script, data, 0o755))
	require.NoError(t, os.Chtimes(script, epoch, epoch))
	touched := buildIn(t, p.Dir, cache)
	require.NoError(t, touched.err, touched.log)
	assert.True(t, touched.res.TreeCached, touched.log)
	assert.Contains(t, touched.log, "24 of them unchanged since a build checked them, 1 checked against their sha256")
	requireSumsRecorded(t, touched.res.Root)
	require.NoError(t, os.RemoveAll(filepath.Join(p.Dir, "dist", "root")))
	removed := buildIn(t, p.Dir, cache)
	require.NoError(t, removed.err, removed.log)
	assert.Contains(t, removed.log, "each checked against its sha256", "dist/root was removed")
	requireSumsRecorded(t, removed.res.Root)
	assert.Equal(t, "Hello, world!\n", inNamespace(t, warm.res.Root, "/opt/hello", "/opt/hello/bin/hello"))

	fi, err = os.Stat(filepath.Join(warm.res.Root, "opt", "hello", "bin", "hello"))
	require.NoError(t, err)
	assert.Equal(t, epoch.Unix(), fi.ModTime().Unix(), "the times are the commit's")

	// Another commit time is another project wheel (its times are the
	// commit's), so another tree.
	later := buildWith(t, p.Dir, cache, epoch.Add(3600e9), false)
	require.NoError(t, later.err, later.log)
	assert.False(t, later.res.TreeCached)
	assert.NotEqual(t, cold.res.Venv.Digest, later.res.Venv.Digest)

	// --no-cache makes it again.
	fresh := buildWith(t, p.Dir, cache, epoch, true)
	require.NoError(t, fresh.err, fresh.log)
	assert.False(t, fresh.res.TreeCached)
	assert.Equal(t, cold.res.Venv.Digest, fresh.res.Venv.Digest)
	requireSumsRecorded(t, fresh.res.Root)
}

// TestChangedCachedTreeIsMadeAgain: a cached file changed in place (it is
// linked with dist/root, which anything may write), made read-only,
// replaced by a link or removed is found, the tree is dropped, the build
// makes it again and keeps the good one.
func TestChangedCachedTreeIsMadeAgain(t *testing.T) {
	t.Parallel()
	p := testutil.HelloProject(t, helloConfig)
	cache := t.TempDir()
	cold := buildIn(t, p.Dir, cache)
	require.NoError(t, cold.err, cold.log)
	script := filepath.Join("opt", "hello", "lib", "python3.11", "site-packages", "hello", "__init__.py")
	for _, tc := range []struct {
		name   string
		change func(string) error
	}{
		{"changed in place", func(f string) error { return os.WriteFile(f, []byte("import os; os.system('evil')\n"), 0o644) }},
		{"mode", func(f string) error { return os.Chmod(f, 0o755) }},
		{"a link", func(f string) error {
			if err := os.Remove(f); err != nil {
				return err
			}
			return os.Symlink("/etc/passwd", f)
		}},
		{"removed", os.Remove},
	} {
		keys := cachedTrees(t, cache)
		require.Len(t, keys, 1, tc.name)
		cached := filepath.Join(cache, "trees", keys[0], "root", script)
		require.FileExists(t, cached, tc.name)
		require.NoError(t, os.Chmod(filepath.Dir(cached), 0o755))
		require.NoError(t, tc.change(cached), tc.name)

		run := buildIn(t, p.Dir, cache)
		require.NoError(t, run.err, run.log)
		assert.False(t, run.res.TreeCached, tc.name)
		assert.Contains(t, run.log, "cannot be used, so the venv is built again", tc.name)
		assert.Equal(t, cold.res.Venv.Digest, run.res.Venv.Digest, "%s: the tree is made again, right", tc.name)
		data, err := os.ReadFile(filepath.Join(run.res.Root, script))
		require.NoError(t, err)
		assert.NotContains(t, string(data), "evil")

		again := buildIn(t, p.Dir, cache)
		require.NoError(t, again.err, again.log)
		assert.True(t, again.res.TreeCached, "%s: the tree kept in its place is good:\n%s", tc.name, again.log)
		assert.Equal(t, cold.res.Venv.Digest, again.res.Venv.Digest)
	}
}

// TestTreeKeyFollowsEveryInput: what changes the tree, other than the
// wheels, makes a new one: a file copied in, a command run in it.
func TestTreeKeyFollowsEveryInput(t *testing.T) {
	t.Parallel()
	p := testutil.HelloProject(t, helloConfig+"  extra_files: [{src: extra.txt, dst: share/extra.txt}]\n")
	p.WriteFile("extra.txt", "one\n")
	cache := t.TempDir()
	first := buildIn(t, p.Dir, cache)
	require.NoError(t, first.err, first.log)

	p.WriteFile("extra.txt", "two\n")
	second := buildIn(t, p.Dir, cache)
	require.NoError(t, second.err, second.log)
	assert.False(t, second.res.TreeCached, "a changed extra file makes the tree again")
	data, err := os.ReadFile(filepath.Join(second.res.Root, "opt", "hello", "share", "extra.txt"))
	require.NoError(t, err)
	assert.Equal(t, "two\n", string(data))

	// post_build may read the checkout: a changed checkout runs it again.
	q := testutil.HelloProject(t, helloConfig+"  post_build:\n    - [-c, \"import shutil; shutil.copy('CHECKOUT/note.txt', 'note.txt')\"]\n")
	cfgFile := filepath.Join(q.Dir, ".gopythongo.yaml")
	cfg, err := os.ReadFile(cfgFile)
	require.NoError(t, err)
	q.WriteFile(".gopythongo.yaml", strings.ReplaceAll(string(cfg), "CHECKOUT", q.Dir))
	q.WriteFile("note.txt", "one\n")
	q.Git("add", "-A")
	q.Commit("a note")
	one := buildIn(t, q.Dir, cache)
	require.NoError(t, one.err, one.log)
	q.WriteFile("note.txt", "two\n")
	two := buildIn(t, q.Dir, cache)
	require.NoError(t, two.err, two.log)
	assert.False(t, two.res.TreeCached, "post_build with a changed checkout runs again")
	data, err = os.ReadFile(filepath.Join(two.res.Root, "opt", "hello", "note.txt"))
	require.NoError(t, err)
	assert.Equal(t, "two\n", string(data))
	same := buildIn(t, q.Dir, cache)
	require.NoError(t, same.err, same.log)
	assert.True(t, same.res.TreeCached, "post_build with the same checkout and time does not")
	later := buildWith(t, q.Dir, cache, epoch.Add(1e9), false)
	require.NoError(t, later.err, later.log)
	assert.False(t, later.res.TreeCached, "nor at another time, which a command may read")
}

// TestHostileTreeRecords: a record that could make anything but a tree
// beneath its root is not used.
func TestHostileTreeRecords(t *testing.T) {
	root := Entry{Path: ".", Mode: fs.ModeDir | 0o755}
	dir := Entry{Path: "opt", Mode: fs.ModeDir | 0o755}
	file := func(p string) Entry {
		return Entry{Path: p, Mode: 0o644, SHA256: strings.Repeat("ab", 32), MD5: strings.Repeat("cd", 16)}
	}
	for _, tc := range []struct {
		name    string
		entries []Entry
		want    string
	}{
		{"empty", nil, "root"},
		{"no root", []Entry{dir}, "root"},
		{"root a file", []Entry{file(".")}, "root"},
		{"parent", []Entry{root, file("../etc/passwd")}, ".."},
		{"absolute", []Entry{root, file("/etc/passwd")}, "beneath"},
		{"unclean", []Entry{root, dir, file("opt//x")}, ""},
		{"twice", []Entry{root, dir, dir}, "twice"},
		{"child first", []Entry{root, file("opt/x"), dir}, "before its directory"},
		{"under a link", []Entry{root, {Path: "opt", Mode: fs.ModeSymlink | 0o777, Link: "/etc"}, file("opt/passwd")}, "before its directory"},
		{"under a file", []Entry{root, file("opt"), file("opt/x")}, "before its directory"},
		{"no hash", []Entry{root, {Path: "x", Mode: 0o644}}, "sha256"},
		{"short hash", []Entry{root, {Path: "x", Mode: 0o644, SHA256: "abcd"}}, "sha256"},
		{"no md5", []Entry{root, {Path: "x", Mode: 0o644, SHA256: strings.Repeat("ab", 32)}}, "md5"},
		{"short md5", []Entry{root, {Path: "x", Mode: 0o644, SHA256: strings.Repeat("ab", 32), MD5: "cd"}}, "md5"},
		{"empty link", []Entry{root, {Path: "x", Mode: fs.ModeSymlink}}, "link to nothing"},
		{"device", []Entry{root, {Path: "x", Mode: fs.ModeDevice}}, "neither"},
		{"fifo", []Entry{root, {Path: "x", Mode: fs.ModeNamedPipe}}, "neither"},
	} {
		err := validEntries(tc.entries)
		require.Error(t, err, tc.name)
		assert.Contains(t, err.Error(), tc.want, tc.name)
	}
	require.NoError(t, validEntries([]Entry{root, dir, file("opt/x"), {Path: "opt/python", Mode: fs.ModeSymlink | 0o777, Link: "/usr/bin/python3"}}))

	// A record that is not JSON or too old, entries that are cut short,
	// not numbers or hostile are no tree at all; the same entries beneath
	// the tree are one.
	c := &Cache{Dir: t.TempDir()}
	rootOnly := string(appendEntries(nil, []Entry{root}))
	sum, md5sum := strings.Repeat("ab", 32), strings.Repeat("cd", 16)
	for _, tc := range []struct {
		name, record, entries string
		ok                    bool
	}{
		{"garbage", "{", rootOnly, false},
		{"format", `{"format": 2}`, rootOnly, false},
		{"no entries", `{"format": 3}`, "", false},
		{"cut short", `{"format": 3}`, rootOnly[:len(rootOnly)-1], false},
		{"mode", `{"format": 3}`, ".\x00dir\x000\x00\x00\x00\x00", false},
		{"size", `{"format": 3}`, rootOnly + "x\x00420\x00-1\x00" + sum + "\x00" + md5sum + "\x00\x00", false},
		{"hostile", `{"format": 3}`, rootOnly + "../x\x00420\x001\x00" + sum + "\x00" + md5sum + "\x00\x00", false},
		{"beneath", `{"format": 3}`, rootOnly + "x\x00420\x001\x00" + sum + "\x00" + md5sum + "\x00\x00", true},
	} {
		require.NoError(t, os.MkdirAll(c.treeDir(tc.name), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(c.treeDir(tc.name), "record.json"), []byte(tc.record), 0o644))
		if tc.entries != "" {
			require.NoError(t, os.WriteFile(filepath.Join(c.treeDir(tc.name), "entries"), []byte(tc.entries), 0o644))
		}
		rec, ok := c.lookupTree(tc.name)
		require.Equal(t, tc.ok, ok, tc.name)
		if ok {
			assert.Equal(t, []Entry{root, {Path: "x", Mode: 0o644, Size: 1, SHA256: sum, MD5: md5sum}}, rec.Entries)
		}
	}

	// A pipe in place of one of the record's files is no record (or, for
	// the stamps, none), never waited on: a lookup returns.
	good := rootOnly + "x\x00420\x001\x00" + sum + "\x00" + md5sum + "\x00\x00"
	for _, pipe := range []string{"record.json", "entries", "stamps.json"} {
		key := "pipe-" + pipe
		require.NoError(t, os.MkdirAll(c.treeDir(key), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(c.treeDir(key), "record.json"), []byte(`{"format": 3}`), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(c.treeDir(key), "entries"), []byte(good), 0o644))
		require.NoError(t, os.RemoveAll(filepath.Join(c.treeDir(key), pipe)))
		require.NoError(t, unix.Mkfifo(filepath.Join(c.treeDir(key), pipe), 0o644))
		done := make(chan bool, 1)
		go func() { _, ok := c.lookupTree(key); done <- ok }()
		select {
		case ok := <-done:
			assert.Equal(t, pipe == "stamps.json", ok, "%s: only the stamps may be missing", pipe)
		case <-time.After(20 * time.Second):
			t.Fatalf("a pipe for %s holds the lookup", pipe)
		}
	}
}

// TestTreeEntriesRoundTrip: what appendEntries writes, readEntries reads
// back as it was, links and odd names included.
func TestTreeEntriesRoundTrip(t *testing.T) {
	entries := []Entry{
		{Path: ".", Mode: fs.ModeDir | 0o755},
		{Path: "bin", Mode: fs.ModeDir | fs.ModeSetgid | 0o2755},
		{Path: "bin/python", Mode: fs.ModeSymlink | 0o777, Size: 16, Link: "/usr/bin/python3"},
		{Path: "bin/a b\nc,é", Mode: 0o755, Size: 1 << 40, SHA256: strings.Repeat("0f", 32), MD5: strings.Repeat("1e", 16)},
		{Path: "empty", Mode: 0o644, SHA256: strings.Repeat("e3", 32), MD5: strings.Repeat("d4", 16)},
	}
	p := filepath.Join(t.TempDir(), "entries")
	require.NoError(t, os.WriteFile(p, appendEntries(nil, entries), 0o644))
	got, err := readEntries(p)
	require.NoError(t, err)
	assert.Equal(t, entries, got)
}

// TestTreeCacheKeepsTheRecentTrees: the cache holds keptTrees trees, the
// ones used last; a build that adds one removes the least recently used
// while it compiles, and says so in its clean-up phase.
func TestTreeCacheKeepsTheRecentTrees(t *testing.T) {
	t.Parallel()
	p := testutil.HelloProject(t, helloConfig+"  extra_files: [{src: extra.txt, dst: share/extra.txt}]\n")
	cache := t.TempDir()
	for i := range keptTrees + 2 {
		p.WriteFile("extra.txt", strings.Repeat("x", i)+"\n")
		run := buildIn(t, p.Dir, cache)
		require.NoError(t, run.err, run.log)
		assert.LessOrEqual(t, len(cachedTrees(t, cache)), keptTrees)
		if i >= keptTrees {
			assert.Contains(t, run.log, "1 least recently used tree(s) removed from the cache")
		} else {
			assert.NotContains(t, run.log, "removed from the cache")
		}
		if i > 0 {
			assert.Contains(t, run.log, "the tree dist/root held before removed")
		}
	}
	assert.Len(t, cachedTrees(t, cache), keptTrees)
	// The last one is among them.
	run := buildIn(t, p.Dir, cache)
	require.NoError(t, run.err, run.log)
	assert.True(t, run.res.TreeCached)
}

var compiledRe = regexp.MustCompile(`bytecode \(unchecked-hash\): (\d+) file\(s\) compiled`)

func compiledFiles(t *testing.T, log string) int {
	t.Helper()
	m := compiledRe.FindStringSubmatch(log)
	require.NotNil(t, m, "no compile line in:\n%s", log)
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

// TestBytecodeCache: after an app-only change only the app's files are
// compiled, the rest comes from the bytecode cache, and the tree is the one
// compileall makes with no cache at all; a cached file that is no .pyc of
// its source is compiled again.
func TestBytecodeCache(t *testing.T) {
	t.Parallel()
	for _, builder := range []string{"host", "chroot"} {
		t.Run(builder, func(t *testing.T) { testBytecodeCache(t, testutil.BuilderEnv(t, builder)) })
	}
}

func testBytecodeCache(t *testing.T, env []string) {
	p := testutil.HelloProject(t, helloConfig)
	cache := t.TempDir()
	cold := buildIn(t, p.Dir, cache, env...)
	require.NoError(t, cold.err, cold.log)
	all := compiledFiles(t, cold.log)
	require.GreaterOrEqual(t, all, 3, "the app's and hello-lib's files are compiled")

	// Without the cached trees, which would spare the dependencies' files
	// the install and compile (an app-only change, fromBase).
	noTrees := func() { require.NoError(t, forceRemoveAll(filepath.Join(cache, "trees"))) }
	p.WriteFile("src/hello/__init__.py", "\"\"\"Changed.\"\"\"\n\n__version__ = \"1.0.0\"\n")
	noTrees()
	changed := buildIn(t, p.Dir, cache, env...)
	require.NoError(t, changed.err, changed.log)
	assert.False(t, changed.res.TreeCached)
	assert.Equal(t, 1, compiledFiles(t, changed.log), "only the changed file is compiled:\n%s", changed.log)

	fresh := buildIn(t, p.Dir, t.TempDir(), env...)
	require.NoError(t, fresh.err, fresh.log)
	assert.Equal(t, all, compiledFiles(t, fresh.log))
	assert.Equal(t, fresh.res.Venv.Digest, changed.res.Venv.Digest, "cached bytecode is compileall's own")

	for i, spoil := range []struct {
		name  string
		files string
		with  func(data []byte) []byte
	}{
		// The indexes whole, the bytes they point at garbage of the
		// same length: each .pyc must be checked against its source.
		{"every pack's bytes", "*.pack", func(data []byte) []byte { return bytes.Repeat([]byte{0x42}, len(data)) }},
		{"every pack cut short", "*.pack", func(data []byte) []byte { return data[:len(data)/2] }},
		// Each key pointing at the .pyc of the key after it: whole
		// bytecode, of another source; a key alone at its .pyc cut short.
		{"every index's places rotated", "*.idx", func(data []byte) []byte {
			out := slices.Clone(data)
			for i := 0; i < len(data); i += packIndexEntry {
				next := (i + packIndexEntry) % len(data)
				copy(out[i+32:i+packIndexEntry], data[next+32:next+packIndexEntry])
			}
			if len(data) == packIndexEntry {
				out[40]--
			}
			return out
		}},
		{"every index", "*.idx", func([]byte) []byte { return []byte("\x00garbage") }},
	} {
		packs, err := filepath.Glob(filepath.Join(cache, "pyc", spoil.files))
		require.NoError(t, err)
		require.NotEmpty(t, packs)
		for _, f := range packs {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(f, spoil.with(data), 0o644))
		}
		p.WriteFile("src/hello/__init__.py", fmt.Sprintf("\"\"\"Changed, %d.\"\"\"\n\n__version__ = \"1.0.0\"\n", i))
		noTrees()
		again := buildIn(t, p.Dir, cache, env...)
		require.NoError(t, again.err, again.log)
		assert.Equal(t, all, compiledFiles(t, again.log), "%s: nothing spoiled is used", spoil.name)
		clean := buildIn(t, p.Dir, t.TempDir(), env...)
		require.NoError(t, clean.err, clean.log)
		assert.Equal(t, clean.res.Venv.Digest, again.res.Venv.Digest, spoil.name)
	}
}

// TestCompactPacksKeepsEveryKeyOnce: past maxPacks the store's packs are
// merged into one that holds each key's bytes once; an index that is not
// whole and the layout before packs are dropped.
func TestCompactPacksKeepsEveryKeyOnce(t *testing.T) {
	store := t.TempDir()
	scratch := t.TempDir()
	want := map[[32]byte][]byte{}
	for p := range maxPacks + 3 {
		pack := filepath.Join(scratch, fmt.Sprintf("%d.pack", p))
		var data []byte
		var entries []pycEntry
		for k := range 5 {
			var e pycEntry
			e.key[0] = byte(p + k) // a pack shares four keys with the next
			body := []byte(fmt.Sprintf("pyc %d", e.key[0]))
			e.sha = sha256.Sum256(body)
			e.off, e.n = int64(len(data)), int64(len(body))
			data = append(data, body...)
			entries = append(entries, e)
			want[e.key] = body
		}
		require.NoError(t, os.WriteFile(pack, data, 0o644))
		require.NoError(t, filePack(store, pack, entries))
	}
	require.NoError(t, os.WriteFile(filepath.Join(store, "cut.idx"), []byte("short"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(store, "ab"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(store, "ab", "0123"), []byte("old"), 0o644))

	require.NoError(t, compactPacks(store))
	idxs, _ := filepath.Glob(filepath.Join(store, "*.idx"))
	require.Len(t, idxs, 1)
	packs, _ := filepath.Glob(filepath.Join(store, "*.pack"))
	require.Len(t, packs, 1)
	assert.NoDirExists(t, filepath.Join(store, "ab"))
	idx, err := os.ReadFile(idxs[0])
	require.NoError(t, err)
	pack, err := os.ReadFile(packs[0])
	require.NoError(t, err)
	got := map[[32]byte][]byte{}
	for i := 0; i < len(idx); i += packIndexEntry {
		var key [32]byte
		copy(key[:], idx[i:])
		require.NotContains(t, got, key, "each key once")
		off, n := binary.LittleEndian.Uint64(idx[i+32:]), binary.LittleEndian.Uint32(idx[i+40:])
		got[key] = pack[off : off+uint64(n)]
		assert.Equal(t, sha256.Sum256(got[key]), [32]byte(idx[i+44:i+packIndexEntry]), "each entry keeps its hash")
	}
	assert.Equal(t, want, got)
	// Under maxPacks nothing is merged.
	require.NoError(t, compactPacks(store))
	again, _ := filepath.Glob(filepath.Join(store, "*.idx"))
	assert.Equal(t, idxs, again)
}

// TestRestoredTreeTakesTheCommitsTime: without a project wheel the tree does
// not follow the commit, so another commit time restores it, every entry
// at the new time (the linked files too, which the cache shares).
func TestRestoredTreeTakesTheCommitsTime(t *testing.T) {
	t.Parallel()
	p := testutil.HelloProject(t, helloConfig+"  project: false\n  packages: [hello-lib]\n")
	cache := t.TempDir()
	first := buildIn(t, p.Dir, cache)
	require.NoError(t, first.err, first.log)
	later := epoch.Add(86400e9)
	again := buildWith(t, p.Dir, cache, later, false)
	require.NoError(t, again.err, again.log)
	require.True(t, again.res.TreeCached, again.log)
	assert.NotEqual(t, first.res.Venv.Digest, again.res.Venv.Digest, "the digest names the times")
	n := 0
	require.NoError(t, filepath.WalkDir(again.res.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		n++
		assert.Equal(t, later.Unix(), fi.ModTime().Unix(), p)
		return nil
	}))
	assert.Greater(t, n, 20)
	info, err := Inspect(again.res.Root)
	require.NoError(t, err)
	assert.Equal(t, again.res.Venv.Digest, info.Digest, "the recorded digest is the tree's")
	// Back at the first time: the first tree, to the byte and the time.
	back := buildIn(t, p.Dir, cache)
	require.NoError(t, back.err, back.log)
	assert.True(t, back.res.TreeCached)
	assert.Equal(t, first.res.Venv.Digest, back.res.Venv.Digest)
}

// FuzzReadEntries: a tree's entries file is the cache's, which a restored
// CI cache may have made hostile: whatever it holds, readEntries returns an
// error or entries that write back to a file it reads as the same.
func FuzzReadEntries(f *testing.F) {
	sum := strings.Repeat("ab", 32)
	f.Add(string(appendEntries(nil, []Entry{{Path: ".", Mode: fs.ModeDir | 0o755}, {Path: "x", Mode: 0o644, Size: 1, SHA256: sum, MD5: strings.Repeat("cd", 16)}})))
	f.Add(".\x00dir\x000\x00\x00\x00\x00")
	f.Add("x\x00420\x00-1\x00" + sum + "\x00\x00\x00")
	f.Add("")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data string) {
		p := filepath.Join(dir, "entries")
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
		entries, err := readEntries(p)
		if err != nil {
			return
		}
		_ = validEntries(entries) // must not panic either
		require.NoError(t, os.WriteFile(p, appendEntries(nil, entries), 0o644))
		again, err := readEntries(p)
		require.NoError(t, err)
		assert.Equal(t, entries, again)
	})
}
