// Package gitrepo reads a git work tree: commits, refs, distances, ancestry,
// dirty files and shallow boundaries (the Git Flow rules in internal/gitflow
// ask it).
//
// It reads natively where it can (internal/gitread), runs git as argv lists
// where it cannot, and never changes the repository, except that
// Deepen (the opt-in --fetch) fetches more history into a shallow clone without
// creating or moving any ref.
package gitrepo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gopythongo/gopythongo/internal/gitread"
)

// Repo is a git work tree. Reads go through the native reader where it can
// (no process to start), and through git where it cannot or where git is
// faster: walks longer than walkBudget commits.
type Repo struct {
	dir    string
	env    []string
	native *gitread.Repo // nil when the native reader does not support the layout
	gitDir string
}

// walkBudget is how many commits the native reader walks before git takes over;
// beyond it git's own walk is faster than reading commits one by one here.
const walkBudget = 1000

// Ref is a branch or tag with the commit it points at (Commit: annotated
// tags peeled), as the native reader reads it, not copied.
type Ref = gitread.Ref

// ErrNotRepository means the directory is not inside a git work tree.
var ErrNotRepository = errors.New("not a git repository")

// Open finds the git repository of dir.
func Open(ctx context.Context, dir string) (*Repo, error) {
	r := &Repo{dir: dir, env: gitEnv()}
	n, err := gitread.Open(dir)
	if err == nil {
		r.native, r.gitDir = n, n.CommonDir
		return r, nil
	}
	if err := corrupt(err); err != nil {
		return nil, err // a pipe for HEAD would hold git too
	}
	out, err := r.git(ctx, "rev-parse", "--git-common-dir")
	if err != nil {
		return nil, fmt.Errorf("%s: %w (the git version source needs the project's git checkout; or set version.source to another source)", dir, ErrNotRepository)
	}
	r.gitDir = strings.TrimSpace(out)
	if !filepath.IsAbs(r.gitDir) {
		r.gitDir = filepath.Join(dir, r.gitDir)
	}
	return r, nil
}

// Close releases what the native reader mapped.
func (r *Repo) Close() error {
	if r.native != nil {
		return r.native.Close()
	}
	return nil
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

// gitToFile runs git with its output going to an unlinked temporary file
// rather than a pipe: for megabytes of output, git's many small writes into a
// pipe cost a third more than the walk itself.
func (r *Repo) gitToFile(ctx context.Context, args ...string) (string, error) {
	f, err := os.CreateTemp("", "gopythongo-git-*")
	if err != nil {
		return "", err
	}
	os.Remove(f.Name())
	defer f.Close()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.dir
	cmd.Env = r.env
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = f, &stderr
	if err := cmd.Run(); err != nil {
		return "", &GitError{Args: args, Stderr: stderr.String(), Err: err}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	b, err := io.ReadAll(f)
	return string(b), err
}

// exitCode returns git's exit code, or -1 when it did not run to an exit.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

func hashes(shas []string) ([]gitread.Hash, bool) {
	out := make([]gitread.Hash, len(shas))
	for i, s := range shas {
		h, err := gitread.ParseHash(s)
		if err != nil {
			return nil, false
		}
		out[i] = h
	}
	return out, true
}

// corrupt turns the native reader's refusal of a damaged or hostile object
// or file into the step's error; git is not asked then, as it would spend
// the time and memory the object claims, or wait on the pipe. Other errors
// give nil: git takes over.
func corrupt(err error) error {
	if errors.Is(err, gitread.ErrCorrupt) {
		return fmt.Errorf("the repository holds a damaged or hostile object or file, which is not read (%w); check it with git fsck, and clone it again from a source you trust", err)
	}
	return nil
}

// Commit resolves a revision (HEAD or a commit id) to its commit id and time.
// FirstParents lists tip and its first parents, newest first, at most
// limit of them (all for limit <= 0), back to the root or the shallow
// boundary: the branch's own line of history, which merges into it do not
// change. complete says the list reached the end of the line.
func (r *Repo) FirstParents(ctx context.Context, tip string, limit int) (line []string, complete bool, err error) {
	// Short reads natively; a long one is git's, one process being faster
	// than reading the commits one by one here.
	if hs, ok := hashes([]string{tip}); ok && r.native != nil && limit > 0 && limit <= walkBudget {
		h := hs[0]
		for len(line) < limit {
			c, err := r.native.Commit(h)
			if err := corrupt(err); err != nil {
				return nil, false, err
			}
			if err != nil {
				break // not native after all: git reads it
			}
			line = append(line, h.String())
			if len(c.Parents) == 0 {
				return line, true, nil
			}
			h = c.Parents[0]
		}
		if len(line) == limit {
			return line, false, nil
		}
		line = nil
	}
	args := []string{"rev-list", "--first-parent"}
	if limit > 0 {
		args = append(args, "--max-count="+strconv.Itoa(limit+1))
	}
	out, err := r.gitToFile(ctx, append(args, tip, "--")...)
	if err != nil {
		return nil, false, err
	}
	line = strings.Fields(out)
	if limit > 0 && len(line) > limit {
		return line[:limit], false, nil
	}
	return line, true, nil
}

// Subject is the first line of a commit's message.
func (r *Repo) Subject(ctx context.Context, sha string) (string, error) {
	out, err := r.git(ctx, "log", "-1", "--format=%s", sha, "--")
	return strings.TrimSpace(out), err
}

// RevList lists the commits reachable from tip and not from exclude, with
// git, newest first.
func (r *Repo) RevList(ctx context.Context, tip string, exclude ...string) ([]string, error) {
	args := []string{"rev-list", tip}
	for _, e := range exclude {
		args = append(args, "^"+e)
	}
	out, err := r.git(ctx, append(args, "--")...)
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

func (r *Repo) Commit(ctx context.Context, rev string) (sha string, unix int64, err error) {
	if r.native != nil {
		var h gitread.Hash
		if rev == "HEAD" {
			h, _, err = r.native.Head()
		} else {
			h, err = r.native.Resolve(rev)
		}
		if err == nil {
			c, err := r.native.Commit(h)
			if err == nil {
				return h.String(), c.Time, nil
			}
			if err := corrupt(err); err != nil {
				return "", 0, err
			}
		} else if err := corrupt(err); err != nil {
			return "", 0, err
		}
	}
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
	if h, ok := hashes([]string{sha}); ok && r.native != nil {
		_, err := r.native.Commit(h[0])
		return err == nil
	}
	_, err := r.git(ctx, "cat-file", "-e", sha+"^{commit}")
	return err == nil
}

// CurrentBranch is the branch HEAD points at, "" for a detached HEAD.
func (r *Repo) CurrentBranch(ctx context.Context) string {
	if r.native != nil {
		if _, b, err := r.native.Head(); err == nil || b != "" || corrupt(err) != nil {
			return b // a HEAD the reader refuses, git would wait on
		}
	}
	out, err := r.git(ctx, "symbolic-ref", "-q", "--short", "HEAD")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// TagRefs are the tags, annotated ones peeled; tags of anything but a
// commit are left out.
func (r *Repo) TagRefs(ctx context.Context) ([]Ref, error) { return r.refs(ctx, "refs/tags/") }

// BranchRefs are the branches, local and remote-tracking.
func (r *Repo) BranchRefs(ctx context.Context) ([]Ref, error) {
	return r.refs(ctx, "refs/heads/", "refs/remotes/")
}

// refs reads the refs under prefixes (each ending in /).
func (r *Repo) refs(ctx context.Context, prefixes ...string) ([]Ref, error) {
	if r.native != nil {
		refs, err := r.native.Refs(prefixes...)
		if err == nil {
			// Refs of no commit (a tag of a tree) are left out, in a copy:
			// the reader's slice is shared.
			if slices.ContainsFunc(refs, func(ref Ref) bool { return ref.Commit == "" }) {
				refs = slices.DeleteFunc(slices.Clone(refs), func(ref Ref) bool { return ref.Commit == "" })
			}
			return refs, nil
		}
		if err := corrupt(err); err != nil {
			return nil, err
		}
	}
	args := []string{"for-each-ref", "--format=%(objectname) %(objecttype) %(*objectname) %(*objecttype) %(refname)"}
	for _, p := range prefixes {
		args = append(args, strings.TrimSuffix(p, "/"))
	}
	out, err := r.git(ctx, args...)
	if err != nil {
		return nil, err
	}
	var refs []Ref
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 3 && f[1] == "commit":
			refs = append(refs, Ref{Name: f[2], Commit: f[0]})
		case len(f) == 5 && f[3] == "commit":
			refs = append(refs, Ref{Name: f[4], Commit: f[2]})
		}
	}
	return refs, nil
}

// Count counts the commits reachable from tip and from none of exclude.
func (r *Repo) Count(ctx context.Context, tip string, exclude ...string) (int, error) {
	if r.native != nil {
		if hs, ok := hashes(append([]string{tip}, exclude...)); ok {
			n, err := r.native.Count(hs[0], hs[1:], walkBudget)
			if err == nil {
				return n, nil
			}
			if err := corrupt(err); err != nil {
				return 0, err
			}
		}
	}
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
	if r.native != nil {
		if hs, ok := hashes([]string{a, b}); ok {
			yes, err := r.native.IsAncestor(hs[0], hs[1], walkBudget)
			if err == nil {
				return yes, nil
			}
			if err := corrupt(err); err != nil {
				return false, err
			}
		}
	}
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
	if hs, ok := hashes(shas); ok && r.native != nil {
		for i, h := range hs {
			c, err := r.native.Commit(h)
			if errors.Is(err, gitread.ErrNotCommit) {
				continue // a tag of a tree or blob: no parents, no commit
			}
			if err := corrupt(err); err != nil {
				return nil, err
			}
			if err != nil {
				goto subprocess
			}
			ps := make([]string, len(c.Parents))
			for j, p := range c.Parents {
				ps[j] = p.String()
			}
			out[shas[i]] = ps
		}
		return out, nil
	}
subprocess:
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

// Graph is the whole history of a commit, read in one walk by git.
type Graph struct {
	parents map[string][]string
}

// Graph reads every commit reachable from tip with its parents.
func (r *Repo) Graph(ctx context.Context, tip string) (*Graph, error) {
	out, err := r.gitToFile(ctx, "rev-list", "--parents", tip, "--")
	if err != nil {
		return nil, err
	}
	g := &Graph{parents: make(map[string][]string, strings.Count(out, "\n"))}
	for len(out) > 0 {
		line, rest, _ := strings.Cut(out, "\n")
		out = rest
		f := strings.Fields(line)
		if len(f) > 0 {
			g.parents[f[0]] = f[1:]
		}
	}
	return g, nil
}

// Has reports whether a commit is in the graph, that is reachable from its tip.
func (g *Graph) Has(sha string) bool { _, ok := g.parents[sha]; return ok }

// Size is the number of commits in the graph.
func (g *Graph) Size() int { return len(g.parents) }

// CountExcluding counts the graph's commits not reachable from any of
// exclude. It answers only when every exclude is in the graph: the ancestors
// of a commit outside it (a branch that forked off) are not known here, and
// ok is false.
func (g *Graph) CountExcluding(exclude ...string) (n int, ok bool) {
	for _, e := range exclude {
		if !g.Has(e) {
			return 0, false
		}
	}
	seen := map[string]bool{}
	stack := append([]string(nil), exclude...)
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ps, ok := g.parents[c]
		if !ok || seen[c] {
			continue
		}
		seen[c] = true
		stack = append(stack, ps...)
	}
	return len(g.parents) - len(seen), true
}

// DirtyFiles lists tracked files with uncommitted changes.
func (r *Repo) DirtyFiles(ctx context.Context) ([]string, error) {
	if r.native != nil {
		if clean, sure := r.native.QuickClean(); clean && sure {
			return nil, nil
		}
	}
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
	if _, err := r.git(ctx, append(args, commits...)...); err != nil {
		return err
	}
	// New packs and a new shallow file: the native reader must look again.
	if r.native != nil {
		r.native.Close()
		n, err := gitread.Open(r.dir)
		if err != nil {
			n = nil
		}
		r.native = n
	}
	return nil
}
