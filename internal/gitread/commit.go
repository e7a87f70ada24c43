package gitread

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// ErrNotCommit means an object exists but is no commit.
var ErrNotCommit = errors.New("object is not a commit")

// Commit is what the version rules need of a commit.
type Commit struct {
	Hash    Hash
	Tree    Hash
	Parents []Hash
	// Time is the committer time in Unix seconds.
	Time int64
}

// Has reports whether an object is in the repository.
func (r *Repo) Has(h Hash) bool { return r.odb.has(h) }

// Commit reads a commit. The parents of a shallow clone's boundary commits are
// left out, as git does.
func (r *Repo) Commit(h Hash) (*Commit, error) {
	t, data, err := r.odb.read(h)
	if err != nil {
		return nil, err
	}
	if t != TypeCommit {
		return nil, fmt.Errorf("%w: %s", ErrNotCommit, h)
	}
	c := &Commit{Hash: h}
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		data = rest
		if len(line) == 0 {
			break
		}
		switch {
		case bytes.HasPrefix(line, []byte("tree ")):
			if c.Tree, err = parseHash(line[5:]); err != nil {
				return nil, fmt.Errorf("commit %s: %w", h, err)
			}
		case bytes.HasPrefix(line, []byte("parent ")):
			p, err := parseHash(line[7:])
			if err != nil {
				return nil, fmt.Errorf("commit %s: %w", h, err)
			}
			c.Parents = append(c.Parents, p)
		case bytes.HasPrefix(line, []byte("committer ")):
			// committer Name <email> 1700000000 +0000
			f := bytes.Fields(line[bytes.LastIndexByte(line, '>')+1:])
			if len(f) >= 1 {
				c.Time, _ = strconv.ParseInt(string(f[0]), 10, 64)
			}
		}
	}
	if r.shallow[h] {
		c.Parents = nil
	}
	return c, nil
}
