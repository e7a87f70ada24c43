package gitrepo

import (
	"context"
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

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
	require.NoError(t, err, "git %s", strings.Join(args, " "))
	return strings.TrimSpace(string(out))
}

// TestAnswersAgreeWithGit holds every read against git itself on a Git Flow
// history with merges both ways and a deleted branch: the native reader, and
// the same repository with the native reader off (git only).
func TestAnswersAgreeWithGit(t *testing.T) {
	ctx := context.Background()
	g := testutil.NewGitFlow(t)
	native, err := Open(ctx, g.Dir)
	require.NoError(t, err)
	defer native.Close()
	require.NotNil(t, native.native, "the native reader reads this layout")
	viaGit := &Repo{dir: g.Dir, env: gitEnv(), gitDir: native.gitDir}

	names := slices.Sorted(func(yield func(string) bool) {
		for k := range g.At {
			if !yield(k) {
				return
			}
		}
	})
	for _, r := range []*Repo{native, viaGit} {
		for _, a := range names {
			for _, b := range names {
				tip, from := g.At[a], g.At[b]
				n, err := r.Count(ctx, tip, from)
				require.NoError(t, err)
				want, _ := strconv.Atoi(git(t, g.Dir, "rev-list", "--count", tip, "^"+from))
				assert.Equal(t, want, n, "%s..%s", b, a)

				yes, err := r.IsAncestor(ctx, from, tip)
				require.NoError(t, err)
				wantYes := exec.Command("git", "-C", g.Dir, "merge-base", "--is-ancestor", from, tip).Run() == nil
				assert.Equal(t, wantYes, yes, "%s is an ancestor of %s", b, a)
			}
			parents, err := r.Parents(ctx, []string{g.At[a]})
			require.NoError(t, err)
			assert.Equal(t, strings.Fields(git(t, g.Dir, "rev-list", "--no-walk", "--parents", g.At[a]))[1:], parents[g.At[a]], a)

			sha, unix, err := r.Commit(ctx, g.At[a])
			require.NoError(t, err)
			assert.Equal(t, g.At[a], sha)
			assert.Equal(t, git(t, g.Dir, "log", "-1", "--format=%ct", g.At[a]), strconv.FormatInt(unix, 10))
		}
		refs, err := r.TagRefs(ctx)
		require.NoError(t, err)
		branches, err := r.BranchRefs(ctx)
		require.NoError(t, err)
		refs = append(slices.Clone(refs), branches...)
		var got []string
		for _, ref := range refs {
			got = append(got, ref.Commit+" "+ref.Name)
		}
		slices.Sort(got)
		want := strings.Split(git(t, g.Dir, "for-each-ref", "--format=%(if)%(*objectname)%(then)%(*objectname)%(else)%(objectname)%(end) %(refname)"), "\n")
		slices.Sort(want)
		assert.Equal(t, want, got)
	}

	for _, r := range []*Repo{native, viaGit} {
		for _, name := range names {
			want := strings.Fields(git(t, g.Dir, "rev-list", "--first-parent", g.At[name]))
			line, complete, err := r.FirstParents(ctx, g.At[name], 0)
			require.NoError(t, err)
			assert.True(t, complete)
			assert.Equal(t, want, line, name)
			if len(want) > 2 {
				line, complete, err = r.FirstParents(ctx, g.At[name], 2)
				require.NoError(t, err)
				assert.False(t, complete)
				assert.Equal(t, want[:2], line, name)
			}
			line, _, err = r.FirstParents(ctx, g.At[name], len(want))
			require.NoError(t, err)
			assert.Equal(t, want, line, name)
		}
	}

	list, err := native.RevList(ctx, g.At["develop"], g.At["v1.0.0"])
	require.NoError(t, err)
	assert.Equal(t, strings.Fields(git(t, g.Dir, "rev-list", g.At["develop"], "^"+g.At["v1.0.0"])), list)

	graph, err := native.Graph(ctx, g.At["develop"])
	require.NoError(t, err)
	all, _ := strconv.Atoi(git(t, g.Dir, "rev-list", "--count", g.At["develop"]))
	assert.Equal(t, all, graph.Size())
	since, _ := strconv.Atoi(git(t, g.Dir, "rev-list", "--count", g.At["develop"], "^"+g.At["developBeforeRelease"]))
	n, ok := graph.CountExcluding(g.At["developBeforeRelease"])
	assert.True(t, ok)
	assert.Equal(t, since, n)
	assert.False(t, graph.Has(g.At["release"]))
	_, ok = graph.CountExcluding(g.At["release"])
	assert.False(t, ok, "a commit outside the graph: its ancestors are not known here")
}

// TestDirtyAndShallow: files changed in the work tree, and the boundary of a
// shallow clone, as git reports them.
func TestDirtyAndShallow(t *testing.T) {
	ctx := context.Background()
	g := testutil.NewGitFlow(t)
	r, err := Open(ctx, g.Dir)
	require.NoError(t, err)
	defer r.Close()
	files, err := r.DirtyFiles(ctx)
	require.NoError(t, err)
	assert.Empty(t, files)
	require.NoError(t, os.WriteFile(filepath.Join(g.Dir, "untracked.txt"), []byte("x"), 0o644))
	files, err = r.DirtyFiles(ctx)
	require.NoError(t, err)
	assert.Empty(t, files, "untracked files are not changes")
	g.Git("add", "untracked.txt")
	g.Commit("track it")
	require.NoError(t, os.WriteFile(filepath.Join(g.Dir, "untracked.txt"), []byte("changed"), 0o644))
	files, err = r.DirtyFiles(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"untracked.txt"}, files)

	clone := testutil.ShallowClone(t, g.Dir, "develop")
	c, err := Open(ctx, clone)
	require.NoError(t, err)
	defer c.Close()
	shallow, err := c.Shallow()
	require.NoError(t, err)
	assert.Equal(t, []string{g.At["develop"]}, shallow)
	assert.False(t, c.HasCommit(ctx, g.At["v1.0.0"]), "outside the clone")
}

func TestNotARepository(t *testing.T) {
	_, err := Open(context.Background(), t.TempDir())
	require.ErrorIs(t, err, ErrNotRepository)
	assert.Contains(t, err.Error(), "version.source")
}

// TestAPipeForHEADIsRefusedNotHandedToGit: the native reader refuses a
// pipe in place of HEAD, and the question is not then handed to git, which
// would wait on it for ever.
func TestAPipeForHEADIsRefusedNotHandedToGit(t *testing.T) {
	r := testutil.NewGitRepo(t)
	r.Commit("root")
	head := filepath.Join(r.Dir, ".git", "HEAD")
	require.NoError(t, os.Remove(head))
	require.NoError(t, unix.Mkfifo(head, 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	repo, err := Open(ctx, r.Dir)
	require.NoError(t, err) // HEAD is not read yet
	defer repo.Close()
	assert.Equal(t, "", repo.CurrentBranch(ctx))
	_, _, err = repo.Commit(ctx, "HEAD")
	require.Error(t, err)
	require.NoError(t, ctx.Err(), "it returned only when git was stopped")
	assert.Contains(t, err.Error(), "HEAD is not a regular file")
	assert.Contains(t, err.Error(), "git fsck")
}
