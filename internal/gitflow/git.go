// Package gitflow reads a git repository (tags, branches, distances) and applies
// the Git Flow rules that turn a commit on a branch into a version.
//
// It runs git as argv lists and never changes the repository, except that
// Deepen (the opt-in --fetch) fetches more history into a shallow clone without
// creating or moving any ref.
package gitflow

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Repo is a git work tree.
type Repo struct {
	dir string
	env []string
	// gitDir is the repository's git directory, for reading the shallow file.
	gitDir string
}

// Ref is a branch or tag with the commit it points at.
type Ref struct {
	Name   string // full name: refs/tags/v1.2.3, refs/heads/develop, refs/remotes/origin/develop
	Commit string // the commit, annotated tags peeled
}

// ShortName strips refs/heads/, refs/tags/ and refs/remotes/<remote>/.
func (r Ref) ShortName() string {
	switch {
	case strings.HasPrefix(r.Name, "refs/heads/"):
		return strings.TrimPrefix(r.Name, "refs/heads/")
	case strings.HasPrefix(r.Name, "refs/tags/"):
		return strings.TrimPrefix(r.Name, "refs/tags/")
	case strings.HasPrefix(r.Name, "refs/remotes/"):
		_, rest, _ := strings.Cut(strings.TrimPrefix(r.Name, "refs/remotes/"), "/")
		return rest
	}
	return r.Name
}

// IsTag reports whether the ref is a tag.
func (r Ref) IsTag() bool { return strings.HasPrefix(r.Name, "refs/tags/") }

// ErrNotRepository means the directory is not inside a git work tree.
var ErrNotRepository = errors.New("not a git repository")

// Open finds the git repository of dir.
func Open(ctx context.Context, dir string) (*Repo, error) {
	r := &Repo{dir: dir, env: gitEnv()}
	out, err := r.git(ctx, "rev-parse", "--absolute-git-dir")
	if err != nil {
		return nil, fmt.Errorf("%s: %w (the git version source needs the project's git checkout; or set version.source to another source)", dir, ErrNotRepository)
	}
	r.gitDir = strings.TrimSpace(out)
	return r, nil
}

// gitEnv is the environment git runs with: the user's, with a fixed language so
// that messages can be read, no prompts, and no pager.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "LC_ALL" || k == "LANG" || k == "GIT_TERMINAL_PROMPT" || k == "GIT_PAGER" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C", "GIT_TERMINAL_PROMPT=0", "GIT_PAGER=cat")
}

// GitError is a failed git command with what it printed.
type GitError struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *GitError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("git %s: %s", strings.Join(e.Args, " "), msg)
}

func (e *GitError) Unwrap() error { return e.Err }

func (r *Repo) git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.dir
	cmd.Env = r.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &GitError{Args: args, Stderr: stderr.String(), Err: err}
	}
	return stdout.String(), nil
}

// exitCode returns git's exit code, or -1 when it did not run to an exit.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// Commit resolves a revision to its commit id and commit time.
func (r *Repo) Commit(ctx context.Context, rev string) (sha string, unix int64, err error) {
	out, err := r.git(ctx, "log", "-1", "--no-walk", "--format=%H %ct", rev+"^{commit}", "--")
	if err != nil {
		return "", 0, fmt.Errorf("commit %s is not in this clone: %w", rev, err)
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		return "", 0, fmt.Errorf("commit %s: unexpected git output %q", rev, out)
	}
	unix, err = strconv.ParseInt(f[1], 10, 64)
	return f[0], unix, err
}

// HasCommit reports whether the commit's object is in the clone.
func (r *Repo) HasCommit(ctx context.Context, sha string) bool {
	_, err := r.git(ctx, "cat-file", "-e", sha+"^{commit}")
	return err == nil
}

// CurrentBranch is the branch HEAD points at, "" for a detached HEAD.
func (r *Repo) CurrentBranch(ctx context.Context) string {
	out, err := r.git(ctx, "symbolic-ref", "-q", "--short", "HEAD")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// Refs lists tags, local branches and remote-tracking branches.
func (r *Repo) Refs(ctx context.Context) ([]Ref, error) {
	out, err := r.git(ctx, "for-each-ref", "--format=%(objectname) %(*objectname) %(refname)", "refs/tags", "refs/heads", "refs/remotes")
	if err != nil {
		return nil, err
	}
	var refs []Ref
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch len(f) {
		case 2:
			refs = append(refs, Ref{Name: f[1], Commit: f[0]})
		case 3:
			refs = append(refs, Ref{Name: f[2], Commit: f[1]})
		}
	}
	return refs, nil
}

// Count counts the commits reachable from tip and from none of exclude.
func (r *Repo) Count(ctx context.Context, tip string, exclude ...string) (int, error) {
	args := []string{"rev-list", "--count", tip}
	for _, e := range exclude {
		args = append(args, "^"+e)
	}
	out, err := r.git(ctx, append(args, "--")...)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(out))
}

// IsAncestor reports whether a is an ancestor of b (or b itself).
func (r *Repo) IsAncestor(ctx context.Context, a, b string) (bool, error) {
	_, err := r.git(ctx, "merge-base", "--is-ancestor", a, b)
	switch {
	case err == nil:
		return true, nil
	case exitCode(err) == 1:
		return false, nil
	}
	return false, err
}

// Parents returns the parents of each commit.
func (r *Repo) Parents(ctx context.Context, shas []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(shas) == 0 {
		return out, nil
	}
	s, err := r.git(ctx, append([]string{"rev-list", "--no-walk=unsorted", "--parents"}, shas...)...)
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			out[f[0]] = f[1:]
		}
	}
	return out, nil
}

// MergedTags lists the tags reachable from tip, in one walk.
func (r *Repo) MergedTags(ctx context.Context, tip string) (map[string]bool, error) {
	out, err := r.git(ctx, "for-each-ref", "--merged="+tip, "--format=%(refname)", "refs/tags")
	if err != nil {
		return nil, err
	}
	m := map[string]bool{}
	for _, l := range strings.Fields(out) {
		m[l] = true
	}
	return m, nil
}

// DirtyFiles lists tracked files with uncommitted changes.
func (r *Repo) DirtyFiles(ctx context.Context) ([]string, error) {
	out, err := r.git(ctx, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return nil, err
	}
	var files []string
	for _, l := range strings.Split(out, "\n") {
		if len(l) > 3 {
			files = append(files, l[3:])
		}
	}
	return files, nil
}

// Shallow returns the boundary commits of a shallow clone, none for a full one.
func (r *Repo) Shallow() ([]string, error) {
	data, err := os.ReadFile(filepath.Join(r.gitDir, "shallow"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(data)), nil
}

// RemoteRefs lists a remote's tags and branches (git ls-remote) without fetching
// them or writing any ref. Branch names come back as refs/remotes/<remote>/...
func (r *Repo) RemoteRefs(ctx context.Context, remote string) ([]Ref, error) {
	out, err := r.git(ctx, "ls-remote", "--tags", "--heads", remote)
	if err != nil {
		return nil, fmt.Errorf("list the refs of remote %s: %w", remote, err)
	}
	peeled := map[string]string{}
	var refs []Ref
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		sha, name := f[0], f[1]
		if strings.HasSuffix(name, "^{}") {
			peeled[strings.TrimSuffix(name, "^{}")] = sha
			continue
		}
		if strings.HasPrefix(name, "refs/heads/") {
			name = "refs/remotes/" + remote + "/" + strings.TrimPrefix(name, "refs/heads/")
		}
		refs = append(refs, Ref{Name: name, Commit: sha})
	}
	for i := range refs {
		if c, ok := peeled[refs[i].Name]; ok {
			refs[i].Commit = c
		}
	}
	return refs, nil
}

// DefaultRemote is origin, or the only remote there is.
func (r *Repo) DefaultRemote(ctx context.Context) (string, error) {
	out, err := r.git(ctx, "remote")
	if err != nil {
		return "", err
	}
	remotes := strings.Fields(out)
	for _, rm := range remotes {
		if rm == "origin" {
			return rm, nil
		}
	}
	if len(remotes) == 1 {
		return remotes[0], nil
	}
	return "", fmt.Errorf("cannot tell which remote to fetch from (have: %s); name one origin", strings.Join(remotes, ", "))
}

// Deepen fetches the history of commits from the remote down to depth commits
// behind each. It writes no ref, not even FETCH_HEAD: only objects and the
// shallow file.
// A depth of 0 fetches the whole history.
func (r *Repo) Deepen(ctx context.Context, remote string, depth int, commits []string) error {
	args := []string{"fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules"}
	if depth > 0 {
		args = append(args, "--depth="+strconv.Itoa(depth))
	}
	args = append(args, remote)
	_, err := r.git(ctx, append(args, commits...)...)
	return err
}
