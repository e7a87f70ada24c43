package gitread

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/gopythongo/gopythongo/internal/testutil"
)

// history makes a repository with merges, annotated and lightweight tags, remote
// branches and files, so that packs hold trees and blobs as well as commits.
func history(t *testing.T) *testutil.GitRepo {
	t.Helper()
	r := testutil.NewGitRepo(t)
	rng := rand.New(rand.NewPCG(1, 2))
	r.Commit("root")
	branches := []string{"main"}
	for i := 0; i < 120; i++ {
		b := branches[rng.IntN(len(branches))]
		r.Checkout(b, false)
		switch x := rng.IntN(10); {
		case x == 0 && len(branches) < 6:
			nb := fmt.Sprintf("topic/%d", i)
			r.Checkout(nb, true)
			branches = append(branches, nb)
		case x == 1 && len(branches) > 1:
			other := branches[rng.IntN(len(branches))]
			if other != b {
				r.Git("merge", "-q", "--no-ff", "-s", "ours", "-m", "merge "+other, other)
			}
		default:
			r.WriteFile(fmt.Sprintf("f%d.txt", rng.IntN(5)), strings.Repeat(fmt.Sprintf("line %d\n", i), 50+rng.IntN(50)))
			r.Git("add", "-A")
			r.Git("commit", "-q", "-m", fmt.Sprintf("c%d", i))
		}
		if i%9 == 0 {
			r.Git("tag", "-a", "-m", "t", fmt.Sprintf("v0.%d.0", i))
		}
		if i%13 == 0 {
			r.Git("tag", fmt.Sprintf("light-%d", i))
		}
	}
	r.Git("update-ref", "refs/remotes/origin/main", "main")
	// A tag of a tag, and a tag of a tree: peeled to a commit, and to nothing.
	r.Git("tag", "-a", "-m", "nested", "nested", "v0.9.0")
	r.Git("tag", "-a", "-m", "tree", "tree-tag", "HEAD^{tree}")
	return r
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	require.NoError(t, err, "git %v", args)
	return strings.TrimSpace(string(out))
}

func gitRefs(t *testing.T, dir string) map[string]string {
	out := gitOut(t, dir, "for-each-ref", "--format=%(refname) %(objectname) %(objecttype) %(*objectname) %(*objecttype)", "refs/tags", "refs/heads", "refs/remotes")
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 3 && f[2] == "commit":
			m[f[0]] = f[1]
		case len(f) == 5 && f[4] == "commit":
			m[f[0]] = f[3]
		case len(f) == 5 && f[4] == "tag":
			// A tag of a tag: git peels fully where it matters (describe).
			m[f[0]] = gitOut(t, dir, "rev-parse", f[0]+"^{commit}")
		default:
			m[f[0]] = ""
		}
	}
	delete(m, "refs/remotes/origin/HEAD") // symbolic: not read, not needed
	return m
}

// compare holds the native reader against git on refs, commits, counts and
// ancestry, for many random pairs of commits.
func compare(t *testing.T, dir string, pairs int) {
	t.Helper()
	r, err := Open(dir)
	require.NoError(t, err)
	defer r.Close()

	refs, err := r.Refs("refs/tags/", "refs/heads/", "refs/remotes/")
	require.NoError(t, err)
	want := gitRefs(t, dir)
	got := map[string]string{}
	for _, ref := range refs {
		got[ref.Name] = ref.Commit
		// packed-refs' ^ lines are trusted unread: a tag of a tree may show
		// the tree, which no commit lookup accepts.
		if want[ref.Name] == "" && ref.Commit != "" {
			assert.NotEqual(t, "commit", gitOut(t, dir, "cat-file", "-t", ref.Commit), ref.Name)
			_, err := r.Commit(mustHash(t, ref.Commit))
			assert.Error(t, err)
			got[ref.Name] = ""
		}
	}
	require.Equal(t, want, got, "refs")

	all := strings.Fields(gitOut(t, dir, "rev-list", "--all"))
	require.NotEmpty(t, all)
	for _, line := range strings.Split(gitOut(t, dir, "rev-list", "--all", "--parents", "--timestamp"), "\n") {
		f := strings.Fields(line)
		c, err := r.Commit(mustHash(t, f[1]))
		require.NoError(t, err)
		var parents []string
		for _, p := range c.Parents {
			parents = append(parents, p.String())
		}
		assert.Equal(t, f[2:], append([]string{}, parents...), "parents of %s", f[1])
		assert.Equal(t, f[0], strconv.FormatInt(c.Time, 10))
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for i := 0; i < pairs; i++ {
		a, b := all[rng.IntN(len(all))], all[rng.IntN(len(all))]
		n, err := r.Count(mustHash(t, a), []Hash{mustHash(t, b)}, 1<<20)
		require.NoError(t, err)
		assert.Equal(t, gitOut(t, dir, "rev-list", "--count", a, "^"+b), strconv.Itoa(n), "count %s ^%s", a, b)
		yes, err := r.IsAncestor(mustHash(t, b), mustHash(t, a), 1<<20)
		require.NoError(t, err)
		err = exec.Command("git", "-C", dir, "merge-base", "--is-ancestor", b, a).Run()
		assert.Equal(t, err == nil, yes, "is-ancestor %s %s", b, a)
	}
	head, branch, err := r.Head()
	require.NoError(t, err)
	assert.Equal(t, gitOut(t, dir, "rev-parse", "HEAD"), head.String())
	sym, _ := exec.Command("git", "-C", dir, "symbolic-ref", "-q", "--short", "HEAD").Output()
	assert.Equal(t, strings.TrimSpace(string(sym)), branch)
}

func mustHash(t *testing.T, s string) Hash {
	h, err := ParseHash(s)
	require.NoError(t, err)
	return h
}

// TestAgainstGit builds one history and reads it in every layout git leaves:
// loose, packed with deep deltas, packed refs with and without peeled lines,
// a linked work tree, a clone sharing objects through alternates, a shallow clone.
func TestAgainstGit(t *testing.T) {
	r := history(t)
	t.Run("loose objects and refs", func(t *testing.T) { compare(t, r.Dir, 100) })
	t.Run("packed with deltas, packed refs", func(t *testing.T) {
		r.Git("repack", "-a", "-d", "-f", "--depth=50", "--window=250")
		r.Git("pack-refs", "--all")
		compare(t, r.Dir, 100)
	})
	t.Run("a loose ref overrides its packed self", func(t *testing.T) {
		r.Git("update-ref", "refs/heads/main", "HEAD~1")
		compare(t, r.Dir, 10)
		r.Git("update-ref", "refs/heads/main", "HEAD")
	})
	t.Run("packed-refs without peeled traits", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "copy")
		out, err := exec.Command("cp", "-a", r.Dir, dir).CombinedOutput()
		require.NoError(t, err, string(out))
		p := filepath.Join(dir, ".git", "packed-refs")
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		var kept []string
		for _, l := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(l, "^") && !strings.HasPrefix(l, "#") {
				kept = append(kept, l)
			}
		}
		require.NoError(t, os.WriteFile(p, []byte(strings.Join(kept, "\n")), 0o644))
		compare(t, dir, 5)
	})
	t.Run("linked work tree", func(t *testing.T) {
		wt := filepath.Join(t.TempDir(), "wt")
		r.Git("worktree", "add", "-q", "--detach", wt, "HEAD~3")
		compare(t, wt, 10)
	})
	t.Run("alternates", func(t *testing.T) {
		shared := filepath.Join(t.TempDir(), "shared")
		out, err := exec.Command("git", "clone", "-q", "--shared", r.Dir, shared).CombinedOutput()
		require.NoError(t, err, string(out))
		_, err = os.Stat(filepath.Join(shared, ".git", "objects", "info", "alternates"))
		require.NoError(t, err)
		compare(t, shared, 10)
	})
	t.Run("shallow clone", func(t *testing.T) {
		shallow := filepath.Join(t.TempDir(), "shallow")
		out, err := exec.Command("git", "clone", "-q", "--depth", "5", "file://"+r.Dir, shallow).CombinedOutput()
		require.NoError(t, err, string(out))
		sr, err := Open(shallow)
		require.NoError(t, err)
		assert.True(t, sr.IsShallow())
		sr.Close()
		compare(t, shallow, 30)
	})
}

func TestUnsupportedLayouts(t *testing.T) {
	r := testutil.NewGitRepo(t)
	r.Commit("c")
	r.Git("config", "extensions.objectformat", "sha256")
	_, err := Open(r.Dir)
	assert.ErrorIs(t, err, ErrUnsupported)

	r2 := testutil.NewGitRepo(t)
	r2.Commit("a")
	c := r2.Commit("c")
	r2.Git("replace", "--graft", c)
	_, err = Open(r2.Dir)
	assert.ErrorIs(t, err, ErrUnsupported)

	t.Setenv("GIT_DIR", "/elsewhere")
	_, err = Open(t.TempDir())
	assert.ErrorIs(t, err, ErrUnsupported)
}

func TestQuickCleanAgreesWithGitStatus(t *testing.T) {
	r := testutil.NewGitRepo(t)
	r.WriteFile("a.txt", "one\n")
	r.WriteFile("dir/b.txt", "two\n")
	require.NoError(t, os.Symlink("a.txt", filepath.Join(r.Dir, "link")))
	r.Git("add", "-A")
	r.Commit("c")
	status := func() bool { return gitOut(t, r.Dir, "status", "--porcelain", "--untracked-files=no") == "" }
	check := func(what string) {
		t.Helper()
		g, err := Open(r.Dir)
		require.NoError(t, err)
		defer g.Close()
		clean, sure := g.QuickClean()
		want := status()
		if sure {
			assert.Equal(t, want, clean, what)
		} else {
			t.Logf("%s: not sure, git decides", what)
		}
		assert.True(t, sure || !want, "%s: a clean tree should be told without git", what)
	}
	check("fresh commit (racy entries are hashed)")
	time.Sleep(1100 * time.Millisecond)
	r.Git("update-index", "--refresh")
	check("refreshed index")
	r.WriteFile("a.txt", "ONE\n")
	check("same size, new content")
	r.Git("checkout", "--", "a.txt")
	check("restored")
	r.WriteFile("untracked.txt", "x")
	check("untracked files do not count")
	require.NoError(t, os.Chmod(filepath.Join(r.Dir, "dir", "b.txt"), 0o755))
	check("mode change")
	require.NoError(t, os.Chmod(filepath.Join(r.Dir, "dir", "b.txt"), 0o644))
	r.WriteFile("c.txt", "new")
	r.Git("add", "c.txt")
	check("staged new file")
	r.Git("reset", "-q", "c.txt")
	require.NoError(t, os.Remove(filepath.Join(r.Dir, "dir", "b.txt")))
	check("deleted file")
}

// TestPackedRefsReadOnceAndAgainWhenChanged: packed-refs is read once for
// all the refs a run asks for, and again once git has rewritten it: an open
// repository sees a tag packed since, and a ref packed away.
func TestPackedRefsReadOnceAndAgainWhenChanged(t *testing.T) {
	r := history(t)
	r.Git("pack-refs", "--all")
	repo, err := Open(r.Dir)
	require.NoError(t, err)
	defer repo.Close()
	first, err := repo.allPackedRefs()
	require.NoError(t, err)
	again, err := repo.allPackedRefs()
	require.NoError(t, err)
	assert.Same(t, first, again, "the same file is not read again")
	head, _, err := repo.Head()
	require.NoError(t, err)

	r.Git("tag", "packed-later", "HEAD~1")
	r.Git("pack-refs", "--all")
	refs, err := repo.Refs("refs/tags/")
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(refs, func(ref Ref) bool { return ref.Name == "refs/tags/packed-later" }), "a tag packed since the last read")
	got, err := repo.Resolve("refs/tags/packed-later")
	require.NoError(t, err)
	assert.Equal(t, gitOut(t, r.Dir, "rev-parse", "HEAD~1"), got.String())
	h, _, err := repo.Head()
	require.NoError(t, err)
	assert.Equal(t, head, h)
}

// TestPackedRefsBounded: a packed-refs beyond maxPackedRefs (a sparse file
// here) is refused, not read whole into memory.
func TestPackedRefsBounded(t *testing.T) {
	r := history(t)
	r.Git("pack-refs", "--all")
	require.NoError(t, os.Truncate(filepath.Join(r.Dir, ".git", "packed-refs"), maxPackedRefs+1))
	repo, err := Open(r.Dir)
	require.NoError(t, err)
	defer repo.Close()
	_, err = repo.Refs("refs/tags/")
	assert.ErrorIs(t, err, ErrCorrupt)
	assert.ErrorContains(t, err, "packed-refs holds 536870913 bytes, more than the 512 MiB")

	// A pipe (whose size says nothing and whose read would wait for ever)
	// is refused too.
	require.NoError(t, os.Remove(filepath.Join(r.Dir, ".git", "packed-refs")))
	require.NoError(t, unix.Mkfifo(filepath.Join(r.Dir, ".git", "packed-refs"), 0o644))
	repo, err = Open(r.Dir)
	require.NoError(t, err)
	defer repo.Close()
	_, err = repo.Refs("refs/tags/")
	assert.ErrorIs(t, err, ErrCorrupt)
	assert.ErrorContains(t, err, "not a regular file")
}

// TestRefsMergePackedAndLooseAsGitDoes lists refs where loose refs override
// packed ones, sit between them and after them, and where packed-refs was
// written in no order (it has no "sorted" trait, as git before 2.13 wrote
// none): the list is git for-each-ref's, in its order. A name packed twice
// is refused.
func TestRefsMergePackedAndLooseAsGitDoes(t *testing.T) {
	r := history(t)
	for _, tag := range []string{"a-1", "m/1", "z9"} {
		r.Git("tag", tag, "HEAD~2")
	}
	r.Git("pack-refs", "--all")
	packedPath := filepath.Join(r.Dir, ".git", "packed-refs")
	data, err := os.ReadFile(packedPath)
	require.NoError(t, err)
	// The entries reversed, each with its ^ line, and no sorted trait.
	var entries []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
		if strings.HasPrefix(l, "^") {
			entries[len(entries)-1] += "\n" + l
		} else {
			entries = append(entries, l)
		}
	}
	slices.Reverse(entries)
	require.Greater(t, len(entries), 5)
	require.NoError(t, os.WriteFile(packedPath, []byte("# pack-refs with: peeled fully-peeled \n"+strings.Join(entries, "\n")+"\n"), 0o644))
	// Loose refs: one overriding a packed tag, one before every packed
	// ref, one between, one after.
	r.Git("update-ref", "refs/tags/m/1", "HEAD")
	r.Git("update-ref", "refs/heads/0-first", "HEAD~1")
	r.Git("update-ref", "refs/tags/m-0", "HEAD~3")
	r.Git("update-ref", "refs/tags/zz", "HEAD")

	repo, err := Open(r.Dir)
	require.NoError(t, err)
	defer repo.Close()
	refs, err := repo.Refs("refs/heads/", "refs/tags/")
	require.NoError(t, err)
	var got []string
	for _, ref := range refs {
		got = append(got, ref.Name+" "+ref.Target)
	}
	want := strings.Split(gitOut(t, r.Dir, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/", "refs/tags/"), "\n")
	assert.Equal(t, want, got)

	require.NoError(t, os.WriteFile(packedPath, []byte(strings.Join(append(entries, entries[0]), "\n")+"\n"), 0o644))
	repo2, err := Open(r.Dir)
	require.NoError(t, err)
	defer repo2.Close()
	_, err = repo2.Refs("refs/heads/", "refs/tags/")
	assert.ErrorIs(t, err, ErrCorrupt, "a name packed twice")
}
