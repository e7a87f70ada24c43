package gitread

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"unsafe"

	"github.com/gopythongo/gopythongo/internal/fileread"
)

// Ref is a branch or tag and the commit it points at. Ids are hex strings:
// thousands of tags are read on every run, and most are only compared.
type Ref struct {
	Name   string // refs/tags/v1.2.3
	Target string // what the ref holds: a commit, or an annotated tag
	// Commit is the commit, tags peeled; "" when it is no commit. A peeled id
	// read from packed-refs is trusted without reading the object, so a tag of
	// a tree may show the tree here: Commit() on it fails.
	Commit string
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

// Refs lists the refs under the given prefixes (refs/tags/, refs/heads/, ...),
// sorted by name, loose refs winning over packed ones, annotated tags peeled.
// The slice may be the reader's own: read it, do not write it.
func (r *Repo) Refs(prefixes ...string) ([]Ref, error) {
	want := func(name string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
		return false
	}
	packed, err := r.packedRefs(want)
	if err != nil {
		return nil, err
	}
	// The parse peeled what the traits say needs no reading; the rest
	// (packed-refs of an old git) is peeled in a copy.
	if slices.ContainsFunc(packed, func(ref Ref) bool { return ref.Commit == "" }) {
		packed = slices.Clone(packed)
		for i := range packed {
			ref := &packed[i]
			if ref.Commit == "" {
				if ref.Commit, err = r.peelHex(ref.Target); err != nil {
					return nil, fmt.Errorf("ref %s: %w", ref.Name, err)
				}
			}
		}
	}
	loose, err := r.looseRefs(prefixes)
	if err != nil {
		return nil, err
	}
	if len(loose) == 0 {
		return packed, nil // packed-refs is sorted
	}
	// Both sorted, merged: a loose ref is newer than its packed one.
	byName := func(a, b Ref) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(loose, byName)
	out := make([]Ref, 0, len(packed)+len(loose))
	for len(packed) > 0 || len(loose) > 0 {
		switch {
		case len(loose) == 0:
			out, packed = append(out, packed...), nil
		case len(packed) == 0:
			out, loose = append(out, loose...), nil
		default:
			switch c := byName(packed[0], loose[0]); {
			case c < 0:
				out, packed = append(out, packed[0]), packed[1:]
			case c > 0:
				out, loose = append(out, loose[0]), loose[1:]
			default:
				out, packed, loose = append(out, loose[0]), packed[1:], loose[1:]
			}
		}
	}
	return out, nil
}

// looseRefs reads the ref files under the prefixes, peeled.
func (r *Repo) looseRefs(prefixes []string) ([]Ref, error) {
	var out []Ref
	for _, p := range prefixes {
		root := filepath.Join(r.CommonDir, filepath.FromSlash(strings.TrimSuffix(p, "/")))
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if d.IsDir() {
				return nil
			}
			rel, err := filepath.Rel(r.CommonDir, path)
			if err != nil {
				return err
			}
			b, err := readFile(path, maxRefFile)
			if err != nil {
				return err
			}
			s := strings.TrimSpace(string(b))
			if strings.HasPrefix(s, "ref:") {
				return nil // symbolic, such as refs/remotes/origin/HEAD
			}
			h, err := ParseHash(s)
			if err != nil {
				return nil // a lock file or a stray file
			}
			name := filepath.ToSlash(rel)
			c, err := r.peel(h)
			if err != nil {
				return fmt.Errorf("ref %s: %w", name, err)
			}
			out = append(out, Ref{Name: name, Target: h.String(), Commit: hexOrEmpty(c)})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// packedRefs is the refs of packed-refs that want accepts, in file order
// (sorted by name): the parsed file's own slice when it accepts them all,
// else a copy. Names and ids are slices of one string made from the file.
func (r *Repo) packedRefs(want func(string) bool) ([]Ref, error) {
	all, err := r.allPackedRefs()
	if err != nil {
		return nil, err
	}
	n := 0
	for _, ref := range all.refs {
		if want(ref.Name) {
			n++
		}
	}
	if n == len(all.refs) {
		return all.refs[:n:n], nil // capped: an append copies
	}
	refs := make([]Ref, 0, n)
	for _, ref := range all.refs {
		if want(ref.Name) {
			refs = append(refs, ref)
		}
	}
	return refs, nil
}

// maxPackedRefs bounds packed-refs: a million tags take about 100 MiB.
const maxPackedRefs = 512 << 20

// packed is packed-refs as read: every ref, peeled where the file's traits
// say its lines are (the others have no Commit yet), and the file's identity
// then.
type packed struct {
	refs []Ref
	id   [5]int64 // device, inode, size, modification and change time
}

// allPackedRefs is packed-refs parsed, read again only when the file is
// another (a run asks for HEAD's branch, the tags and the branches: the
// file is read once, not for each).
func (r *Repo) allPackedRefs() (*packed, error) {
	f, fi, err := openFile(filepath.Join(r.CommonDir, "packed-refs"), maxPackedRefs)
	if errors.Is(err, fs.ErrNotExist) {
		return &packed{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var id [5]int64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id = [5]int64{int64(st.Dev), int64(st.Ino), st.Size, st.Mtim.Nano(), st.Ctim.Nano()}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.packed != nil && id != ([5]int64{}) && r.packed.id == id {
		return r.packed, nil
	}
	// Read at its size (io.ReadAll's growing buffer and a copy into a
	// string, or a copy through io.Copy's buffer, cost more than the
	// parse); the parse takes its names as substrings of the buffer, which
	// is never written again.
	buf, err := fileread.ReadOpen(f, fi.Size())
	if err != nil {
		return nil, err
	}
	var text string
	if len(buf) > 0 {
		text = unsafe.String(&buf[0], len(buf))
	}
	p, err := parsePackedRefs(text)
	if err != nil {
		return nil, err
	}
	p.id = id
	r.packed = p
	return p, nil
}

// parsePackedRefs parses the text of packed-refs.
func parsePackedRefs(data string) (*packed, error) {
	p := &packed{refs: make([]Ref, 0, strings.Count(data, "\n")+1-strings.Count(data, "\n^"))}
	var peeled, fully bool
	for len(data) > 0 {
		var line string
		if i := strings.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, ""
		}
		switch {
		case len(line) == 0:
		case line[0] == '#':
			if traits, ok := strings.CutPrefix(line, "# pack-refs with:"); ok {
				for _, t := range strings.Fields(traits) {
					peeled = peeled || t == "peeled"
					fully = fully || t == "fully-peeled"
				}
			}
		case line[0] == '^':
			if len(line) != 41 {
				return nil, fmt.Errorf("packed-refs: bad line %q", line)
			}
			if len(p.refs) > 0 {
				p.refs[len(p.refs)-1].Commit = line[1:]
			}
		default:
			// Ids are checked where they are parsed; most are only compared.
			if len(line) < 42 || line[40] != ' ' {
				return nil, fmt.Errorf("packed-refs: bad line %q", line)
			}
			p.refs = append(p.refs, Ref{Name: line[41:], Target: line[:40]})
		}
	}
	// Git writes it sorted; one written otherwise is sorted here, so that
	// the merge with the loose refs holds, and one name twice is refused.
	byName := func(a, b Ref) int { return strings.Compare(a.Name, b.Name) }
	if !slices.IsSortedFunc(p.refs, byName) {
		slices.SortStableFunc(p.refs, byName)
	}
	for i := 1; i < len(p.refs); i++ {
		if p.refs[i].Name == p.refs[i-1].Name {
			return nil, fmt.Errorf("%w: packed-refs names %s twice", ErrCorrupt, p.refs[i].Name)
		}
	}
	// With the traits, a ref without a ^ line is no annotated tag: it is
	// its own commit. Without them an annotated tag has no ^ line, and
	// Refs reads the object.
	for i := range p.refs {
		if ref := &p.refs[i]; ref.Commit == "" && (fully || peeled && strings.HasPrefix(ref.Name, "refs/tags/")) {
			ref.Commit = ref.Target
		}
	}
	return p, nil
}

func hexOrEmpty(h Hash) string {
	if h.IsZero() {
		return ""
	}
	return h.String()
}

// peelHex is peel for a hex id.
func (r *Repo) peelHex(s string) (string, error) {
	h, err := ParseHash(s)
	if err != nil {
		return "", err
	}
	c, err := r.peel(h)
	return hexOrEmpty(c), err
}

// peel follows annotated tags to the commit they name; the zero hash when they
// name something else.
func (r *Repo) peel(h Hash) (Hash, error) {
	for i := 0; i < 16; i++ {
		t, data, err := r.odb.read(h)
		if err != nil {
			return Hash{}, err
		}
		switch t {
		case TypeCommit:
			return h, nil
		case TypeTag:
			line, _, _ := bytes.Cut(data, []byte("\n"))
			obj, ok := bytes.CutPrefix(line, []byte("object "))
			if !ok {
				return Hash{}, errors.New("tag object without an object line")
			}
			if h, err = ParseHash(string(obj)); err != nil {
				return Hash{}, err
			}
		default:
			return Hash{}, nil
		}
	}
	return Hash{}, errors.New("tag chain too long")
}

// Head returns the commit HEAD points at and the branch, "" when detached.
func (r *Repo) Head() (Hash, string, error) {
	b, err := readFile(filepath.Join(r.GitDir, "HEAD"), maxRefFile)
	if err != nil {
		return Hash{}, "", err
	}
	s := strings.TrimSpace(string(b))
	if name, ok := strings.CutPrefix(s, "ref:"); ok {
		name = strings.TrimSpace(name)
		h, err := r.Resolve(name)
		return h, strings.TrimPrefix(name, "refs/heads/"), err
	}
	h, err := ParseHash(s)
	return h, "", err
}

// Resolve reads a full ref name or an object id, peeled to a commit.
func (r *Repo) Resolve(name string) (Hash, error) {
	if h, err := ParseHash(name); err == nil {
		return r.peel(h)
	}
	if b, err := readFile(filepath.Join(r.CommonDir, filepath.FromSlash(name)), maxRefFile); err == nil {
		if h, err := ParseHash(strings.TrimSpace(string(b))); err == nil {
			return r.peel(h)
		}
	}
	refs, err := r.packedRefs(func(n string) bool { return n == name })
	if err != nil {
		return Hash{}, err
	}
	if len(refs) > 0 {
		h, err := ParseHash(refs[0].Target)
		if err != nil {
			return Hash{}, err
		}
		return r.peel(h)
	}
	return Hash{}, fmt.Errorf("%w: ref %s", ErrNotFound, name)
}
