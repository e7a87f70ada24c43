// Package testutil builds the real things tests run against: git repositories
// with a Git Flow history, for a start.
package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// GitRepo is a git repository in a temporary directory, with commits at fixed,
// increasing times so that every run builds the same history.
type GitRepo struct {
	t     testing.TB
	Dir   string
	clock int
}

// NewGitRepo makes an empty repository whose first branch is main.
func NewGitRepo(t testing.TB) *GitRepo {
	t.Helper()
	r := &GitRepo{t: t, Dir: t.TempDir()}
	r.Git("init", "-q", "-b", "main")
	r.Git("config", "user.name", "Test")
	r.Git("config", "user.email", "test@example.com")
	r.Git("config", "commit.gpgsign", "false")
	r.Git("config", "tag.gpgsign", "false")
	return r
}

// Env is the environment git runs with in tests: no user or system config.
func (r *GitRepo) env() []string {
	r.clock++
	date := fmt.Sprintf("%d +0000", 1700000000+r.clock*60)
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date, "LC_ALL=C")
}

// Git runs git in the repository and returns its trimmed output.
func (r *GitRepo) Git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.Dir
	cmd.Env = r.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Commit makes an empty commit and returns its id.
func (r *GitRepo) Commit(msg string) string {
	r.t.Helper()
	r.Git("commit", "-q", "--allow-empty", "-m", msg)
	return r.Head()
}

// Commits makes n commits.
func (r *GitRepo) Commits(n int, prefix string) {
	r.t.Helper()
	for i := 0; i < n; i++ {
		r.Commit(fmt.Sprintf("%s %d", prefix, i))
	}
}

// Head is the current commit id.
func (r *GitRepo) Head() string { return r.Git("rev-parse", "HEAD") }

// Checkout switches to a branch, creating it from HEAD when new is true.
func (r *GitRepo) Checkout(branch string, create bool) {
	r.t.Helper()
	if create {
		r.Git("checkout", "-q", "-b", branch)
	} else {
		r.Git("checkout", "-q", branch)
	}
}

// Merge merges a branch into the current one with a merge commit (git flow's --no-ff).
func (r *GitRepo) Merge(branch string) string {
	r.t.Helper()
	r.Git("merge", "-q", "--no-ff", "-m", "Merge branch '"+branch+"'", branch)
	return r.Head()
}

// Tag makes an annotated tag at HEAD.
func (r *GitRepo) Tag(name string) {
	r.t.Helper()
	r.Git("tag", "-a", "-m", name, name)
}

// Detach checks out a commit with a detached HEAD, as CI systems do.
func (r *GitRepo) Detach(rev string) {
	r.t.Helper()
	r.Git("checkout", "-q", "--detach", rev)
}

// WriteFile writes a file in the work tree.
func (r *GitRepo) WriteFile(name, content string) {
	r.t.Helper()
	p := filepath.Join(r.Dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// GitFlow is a repository with a typical Git Flow history and the commits that
// matter in it.
type GitFlow struct {
	*GitRepo
	// Commits by name: v1.0.0, v1.1.0 (the tagged merge commits on main),
	// develop, release (release/1.2.0 tip), hotfix (hotfix/1.1.1 tip),
	// feature (feature/login-page tip), featureFork (where it left develop).
	At map[string]string
}

// NewGitFlow builds this history:
//
//	main:    init - v1.0.0 ------------- v1.1.0 (merge of release/1.1.0)
//	develop:   \-- 3 commits -- release/1.1.0 (2 commits) merged back -- 4 commits -- release/1.2.0 forks -- 2 commits
//	feature/login-page: forks from develop after the merge-back, 3 commits
//	hotfix/1.1.1: from main at v1.1.0, 1 commit
//	release/1.2.0: 2 commits of its own
//
// The v1.1.0 tag is on main's merge commit, not reachable from develop.
func NewGitFlow(t testing.TB) *GitFlow {
	t.Helper()
	g := &GitFlow{GitRepo: NewGitRepo(t), At: map[string]string{}}
	g.Commit("init")
	g.Tag("v1.0.0")
	g.At["v1.0.0"] = g.Head()
	g.Checkout("develop", true)
	g.Commits(3, "develop work")
	g.Checkout("release/1.1.0", true)
	g.Commits(2, "release fix")
	g.Checkout("main", false)
	g.At["v1.1.0"] = g.Merge("release/1.1.0")
	g.Tag("v1.1.0")
	g.Checkout("develop", false)
	g.Merge("release/1.1.0")
	g.Git("branch", "-q", "-d", "release/1.1.0")
	g.Checkout("feature/login-page", true)
	g.At["featureFork"] = g.Head()
	g.Commits(3, "login page")
	g.At["feature"] = g.Head()
	g.Checkout("develop", false)
	g.Commits(4, "more develop work")
	g.At["developBeforeRelease"] = g.Head()
	g.Checkout("release/1.2.0", true)
	g.Commits(2, "stabilize 1.2.0")
	g.At["release"] = g.Head()
	g.Checkout("develop", false)
	g.Commits(2, "work for 1.3.0")
	g.At["develop"] = g.Head()
	g.Checkout("main", false)
	g.Checkout("hotfix/1.1.1", true)
	g.Commit("urgent fix")
	g.At["hotfix"] = g.Head()
	g.Checkout("main", false)
	return g
}

// ShallowClone clones src with depth 1 and no tags, as actions/checkout does.
func ShallowClone(t testing.TB, src, branch string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "clone")
	out, err := exec.Command("git", "clone", "-q", "--depth", "1", "--no-tags", "--branch", branch, "file://"+src, dst).CombinedOutput()
	if err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	return dst
}
