// Package gitread reads a git repository without running git: refs, objects
// (loose and packed, with deltas and alternates), commits, and the index for a
// quick clean check. It exists for speed: a git process costs about as much as
// a whole `git describe` near a tag. Anything it does not support (SHA-256
// repositories, reftable, replace refs, GIT_DIR and friends) makes Open fail
// with ErrUnsupported, and the caller runs git instead.
package gitread

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// ErrUnsupported means the repository needs git itself to be read.
var ErrUnsupported = errors.New("repository layout not supported by the native reader")

// Repo is an opened repository.
type Repo struct {
	// WorkTree is the top of the work tree.
	WorkTree string
	// GitDir holds HEAD and the index; CommonDir holds objects and refs (they
	// differ in linked work trees).
	GitDir, CommonDir string
	odb               *odb
	shallow           map[Hash]bool
	mu                sync.Mutex
	packed            *packed // packed-refs, once read (allPackedRefs)
}

// Open finds the repository that contains dir.
func Open(dir string) (*Repo, error) {
	for _, v := range []string{"GIT_DIR", "GIT_WORK_TREE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_INDEX_FILE", "GIT_NAMESPACE", "GIT_REPLACE_REF_BASE"} {
		if os.Getenv(v) != "" {
			return nil, fmt.Errorf("%w: %s is set", ErrUnsupported, v)
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	r := &Repo{}
	for d := abs; ; d = filepath.Dir(d) {
		dotgit := filepath.Join(d, ".git")
		fi, err := os.Stat(dotgit)
		if err == nil {
			r.WorkTree = d
			if fi.IsDir() {
				r.GitDir = dotgit
			} else if r.GitDir, err = readGitFile(dotgit); err != nil {
				return nil, err
			}
			break
		}
		if filepath.Dir(d) == d {
			return nil, fmt.Errorf("%s: not in a git work tree", abs)
		}
	}
	r.CommonDir = r.GitDir
	// commondir, shallow and alternates are optional; one that is there
	// but cannot be read would make the history another one, so it is an
	// error, not left out.
	if b, err := readFile(filepath.Join(r.GitDir, "commondir"), maxRefFile); err == nil {
		c := strings.TrimSpace(string(b))
		if !filepath.IsAbs(c) {
			c = filepath.Join(r.GitDir, c)
		}
		r.CommonDir = filepath.Clean(c)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := r.checkConfig(); err != nil {
		return nil, err
	}
	if ents, _ := os.ReadDir(filepath.Join(r.CommonDir, "refs", "replace")); len(ents) > 0 {
		return nil, fmt.Errorf("%w: replace refs", ErrUnsupported)
	}
	if _, err := os.Stat(filepath.Join(r.CommonDir, "info", "grafts")); err == nil {
		return nil, fmt.Errorf("%w: grafts", ErrUnsupported)
	}
	if r.odb, err = openODB(filepath.Join(r.CommonDir, "objects")); err != nil {
		return nil, err
	}
	r.shallow = map[Hash]bool{}
	if b, err := readFile(filepath.Join(r.CommonDir, "shallow"), maxListFile); err == nil {
		for _, f := range strings.Fields(string(b)) {
			if h, err := ParseHash(f); err == nil {
				r.shallow[h] = true
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		r.odb.close()
		return nil, err
	}
	return r, nil
}

// Close releases the mapped pack files.
func (r *Repo) Close() error { return r.odb.close() }

func readGitFile(path string) (string, error) {
	b, err := readFile(path, maxRefFile)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if !strings.HasPrefix(s, "gitdir:") {
		return "", fmt.Errorf("%s: not a gitdir file", path)
	}
	d := strings.TrimSpace(strings.TrimPrefix(s, "gitdir:"))
	if !filepath.IsAbs(d) {
		d = filepath.Join(filepath.Dir(path), d)
	}
	return filepath.Clean(d), nil
}

// checkConfig refuses repository extensions the reader does not know.
func (r *Repo) checkConfig() error {
	b, err := readFile(filepath.Join(r.CommonDir, "config"), maxConfigFile)
	if errors.Is(err, ErrCorrupt) {
		return err // git would wait on it too: not handed on
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = strings.ToLower(strings.Trim(line, "[] \t"))
			continue
		}
		if section != "extensions" || line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.ToLower(strings.TrimSpace(v))
		switch {
		case k == "objectformat" && v == "sha1", k == "worktreeconfig", k == "preciousobjects", k == "noop":
		default:
			return fmt.Errorf("%w: extensions.%s = %s", ErrUnsupported, k, v)
		}
	}
	return nil
}

// IsShallow reports whether the repository is a shallow clone.
func (r *Repo) IsShallow() bool { return len(r.shallow) > 0 }

// Shallow lists the shallow boundary commits.
func (r *Repo) Shallow() []Hash {
	out := make([]Hash, 0, len(r.shallow))
	for h := range r.shallow {
		out = append(out, h)
	}
	return out
}
