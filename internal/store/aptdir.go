package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/deb822"
	"github.com/gopythongo/gopythongo/internal/fileread"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/version"
)

// aptDir is a Debian repository in a directory: pool/ and dists/, indexes
// with by-hash copies (so that a client never sees a Release and Packages that
// do not belong together), signed with OpenPGP in Go when a key is set.
type aptDir struct {
	cfg    config.StoreConfig
	root   string
	name   string
	archs  []string
	signer Signer
	env    Env
}

func newAptDir(s config.StoreConfig, e Env) (Store, error) {
	a := &aptDir{cfg: s, root: e.Config.Path(s.Path), name: s.Name, archs: s.Architectures, env: e}
	var key []byte
	switch {
	case e.ReadOnly:
		// Reading the repository needs no key.
	case s.SigningKeyFile != "":
		b, err := fileread.Read(e.Config.Path(s.SigningKeyFile), fileread.ProjectLimit)
		if err != nil {
			return nil, fmt.Errorf("store %s: signing_key_file: %w", s.Name, err)
		}
		key = b
	case s.SigningKeyFileEnv != "":
		file, err := e.secret("signing_key_file_env", s.SigningKeyFileEnv)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", s.Name, err)
		}
		b, err := fileread.Read(file, fileread.ProjectLimit)
		if err != nil {
			return nil, fmt.Errorf("store %s: the key file $%s names: %w", s.Name, s.SigningKeyFileEnv, err)
		}
		key = b
	case s.SigningKeyEnv != "":
		v, err := e.secret("signing_key_env", s.SigningKeyEnv)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", s.Name, err)
		}
		key = []byte(v)
	}
	if key != nil {
		pass, err := e.secret("passphrase_env", s.PassphraseEnv)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", s.Name, err)
		}
		if e.NewSigner == nil {
			return nil, fmt.Errorf("store %s: this step cannot sign: only gopythongo-publish reads the signing key", s.Name)
		}
		if a.signer, err = e.NewSigner(key, []byte(pass)); err != nil {
			return nil, fmt.Errorf("store %s: %w", s.Name, err)
		}
	}
	return a, nil
}

func (a *aptDir) distDir() string { return filepath.Join(a.root, "dists", a.cfg.Distribution) }
func (a *aptDir) compDir() string { return filepath.Join(a.distDir(), a.cfg.Component) }

// Existing reads the Packages indexes of every architecture of the
// distribution and component.
func (a *aptDir) Existing(ctx context.Context, name string) ([]Release, error) {
	paras, err := a.packages()
	if err != nil {
		return nil, err
	}
	var out []Release
	for _, p := range paras {
		if p.Get("Package") == name {
			out = append(out, Release{Name: name, Version: p.Get("Version"), Arch: p.Get("Architecture"), File: p.Get("Filename"),
				SHA256: p.Get("SHA256"), Commit: p.Get(state.DebCommitField)})
		}
	}
	return out, nil
}

// packages reads every stanza of the component, once per package, version and
// architecture.
func (a *aptDir) packages() ([]deb822.Paragraph, error) {
	dirs, err := filepath.Glob(filepath.Join(a.compDir(), "binary-*"))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []deb822.Paragraph
	for _, d := range dirs {
		paras, err := readPackages(d)
		if err != nil {
			return nil, fmt.Errorf("apt-dir %s: %w", a.root, err)
		}
		for _, p := range paras {
			key := p.Get("Package") + " " + p.Get("Version") + " " + p.Get("Architecture")
			if !seen[key] {
				seen[key] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// readPackages reads dir/Packages, or dir/Packages.gz when there is no plain one.
func readPackages(dir string) ([]deb822.Paragraph, error) {
	f, err := os.Open(filepath.Join(dir, "Packages"))
	var r io.Reader = f
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.Open(filepath.Join(dir, "Packages.gz"))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name(), err)
		}
		r = gz
	} else if err != nil {
		return nil, err
	} else {
		defer f.Close()
	}
	paras, err := deb822.Parse(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "Packages"), err)
	}
	return paras, nil
}

func (a *aptDir) Publish(ctx context.Context, it Item) (state.Publication, error) {
	if !it.DryRun {
		unlock, err := lockDir(ctx, a.root)
		if err != nil {
			return state.Publication{}, err
		}
		defer unlock()
	}
	ctl, err := DebControl(it.Path())
	if err != nil {
		return state.Publication{}, err
	}
	pkg, ver, arch := ctl.Get("Package"), ctl.Get("Version"), ctl.Get("Architecture")
	if pkg == "" || ver == "" || arch == "" {
		return state.Publication{}, fmt.Errorf("%s lacks Package, Version or Architecture", it.Artifact.Path)
	}
	letter := pkg[:1]
	if strings.HasPrefix(pkg, "lib") && len(pkg) > 3 {
		letter = pkg[:4]
	}
	file := path.Join("pool", a.cfg.Component, letter, pkg, filepath.Base(it.Artifact.Path))
	pub := state.Publication{Store: a.name, Type: "apt-dir", Artifact: it.Artifact.Path, Reference: a.sourcesLine(), Digest: "sha256:" + it.Artifact.SHA256,
		Install: fmt.Sprintf("apt-get install %s=%s", pkg, ver)}
	paras, err := a.packages()
	if err != nil {
		return state.Publication{}, err
	}
	var keep []deb822.Paragraph
	for _, p := range paras {
		if p.Get("Package") == pkg && p.Get("Version") == ver && p.Get("Architecture") == arch {
			if p.Get("SHA256") == it.Artifact.SHA256 {
				pub.Unchanged = true
				return pub, nil
			}
			if !it.Overwrite {
				return state.Publication{}, conflict(a.name, pkg+" "+ver+" "+arch, p.Get("SHA256"), it.Artifact.SHA256)
			}
			continue // replaced
		}
		keep = append(keep, p)
	}
	if it.DryRun {
		return pub, nil
	}
	if err := copyAtomic(it.Path(), filepath.Join(a.root, filepath.FromSlash(file))); err != nil {
		return state.Publication{}, fmt.Errorf("copy to the pool: %w", err)
	}
	sums, err := fileSums(filepath.Join(a.root, filepath.FromSlash(file)))
	if err != nil {
		return state.Publication{}, err
	}
	stanza := deb822.Paragraph{}
	for _, f := range ctl {
		if f.Name != "Filename" && f.Name != "Size" && f.Name != "MD5sum" && f.Name != "SHA1" && f.Name != "SHA256" {
			stanza = append(stanza, f)
		}
	}
	stanza = append(stanza, deb822.Field{Name: "Filename", Value: file}, deb822.Field{Name: "Size", Value: fmt.Sprint(sums.size)},
		deb822.Field{Name: "MD5sum", Value: sums.md5}, deb822.Field{Name: "SHA1", Value: sums.sha1}, deb822.Field{Name: "SHA256", Value: sums.sha256})
	if err := a.writeIndexes(append(keep, stanza)); err != nil {
		return state.Publication{}, err
	}
	return pub, nil
}

// sourcesLine is the sources.list line of the repository.
func (a *aptDir) sourcesLine() string {
	opt := "[trusted=yes]"
	if a.signer != nil {
		opt = "[signed-by=" + filepath.Join(a.root, "key.asc") + "]"
	}
	return fmt.Sprintf("deb %s file:%s %s %s", opt, a.root, a.cfg.Distribution, a.cfg.Component)
}

type sums struct {
	size              int64
	md5, sha1, sha256 string
}

func fileSums(p string) (sums, error) {
	f, err := os.Open(p)
	if err != nil {
		return sums{}, err
	}
	defer f.Close()
	hs := []hash.Hash{md5.New(), sha1.New(), sha256.New()}
	n, err := io.Copy(io.MultiWriter(hs[0], hs[1], hs[2]), f)
	if err != nil {
		return sums{}, err
	}
	return sums{n, hex.EncodeToString(hs[0].Sum(nil)), hex.EncodeToString(hs[1].Sum(nil)), hex.EncodeToString(hs[2].Sum(nil))}, nil
}

func dataSums(b []byte) sums {
	m, s1, s2 := md5.Sum(b), sha1.Sum(b), sha256.Sum256(b)
	return sums{int64(len(b)), hex.EncodeToString(m[:]), hex.EncodeToString(s1[:]), hex.EncodeToString(s2[:])}
}

// copyAtomic copies a file to a temporary name next to dst, then renames it.
func copyAtomic(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return state.WriteFileAtomic(dst, data, 0o644)
}

// writeIndexes writes the Packages files of every architecture, their
// by-hash copies, and the signed Release files, Release last: a client sees
// the old repository or the new one.
func (a *aptDir) writeIndexes(paras []deb822.Paragraph) error {
	sort.SliceStable(paras, func(i, j int) bool {
		ki := paras[i].Get("Package") + " " + paras[i].Get("Architecture")
		kj := paras[j].Get("Package") + " " + paras[j].Get("Architecture")
		if ki != kj {
			return ki < kj
		}
		vi, ei := version.ParseDebian(paras[i].Get("Version"))
		vj, ej := version.ParseDebian(paras[j].Get("Version"))
		if ei == nil && ej == nil {
			return version.Less(vi, vj)
		}
		return paras[i].Get("Version") < paras[j].Get("Version")
	})
	archs := slices.Clone(a.archs)
	for _, p := range paras {
		if arch := p.Get("Architecture"); !slices.Contains(archs, arch) {
			archs = append(archs, arch)
		}
	}
	sort.Strings(archs)
	old := a.releaseHashes()
	index := map[string][]byte{} // path below dists/<dist> -> content
	for _, arch := range archs {
		var b bytes.Buffer
		for _, p := range paras {
			// Packages for all go into every architecture's index.
			if pa := p.Get("Architecture"); pa == arch || pa == "all" {
				p.Write(&b)
				b.WriteByte('\n')
			}
		}
		dir := a.cfg.Component + "/binary-" + arch + "/"
		index[dir+"Packages"] = b.Bytes()
		index[dir+"Packages.gz"] = gzipBytes(b.Bytes())
	}
	// Keep the other components' indexes in the Release file.
	comps := []string{a.cfg.Component}
	ents, err := os.ReadDir(a.distDir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", a.distDir(), err)
	}
	for _, e := range ents {
		if !e.IsDir() || e.Name() == a.cfg.Component || e.Name() == "by-hash" {
			continue
		}
		comps = append(comps, e.Name())
		// An unreadable component fails the publish: left out, it would
		// vanish from the Release file.
		err := filepath.WalkDir(filepath.Join(a.distDir(), e.Name()), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || strings.Contains(p, "/by-hash/") {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(a.distDir(), p)
			index[filepath.ToSlash(rel)] = b
			return nil
		})
		if err != nil {
			return fmt.Errorf("read the indexes of component %s for the Release file: %w", e.Name(), err)
		}
	}
	sort.Strings(comps[1:])
	var names []string
	for n := range index {
		names = append(names, n)
	}
	sort.Strings(names)
	// By-hash first: clients reading the new Release fetch these.
	keep := map[string]bool{}
	for _, n := range names {
		s := dataSums(index[n])
		byHash := path.Join(path.Dir(n), "by-hash", "SHA256", s.sha256)
		keep[byHash] = true
		if err := state.WriteFileAtomic(filepath.Join(a.distDir(), filepath.FromSlash(byHash)), index[n], 0o644); err != nil {
			return err
		}
	}
	for _, n := range names {
		if err := state.WriteFileAtomic(filepath.Join(a.distDir(), filepath.FromSlash(n)), index[n], 0o644); err != nil {
			return err
		}
	}
	release := a.release(archs, comps, names, index)
	files := [][2]string{}
	if a.signer != nil {
		in, err := a.signer.Clearsign(release)
		if err != nil {
			return fmt.Errorf("sign InRelease: %w", err)
		}
		det, err := a.signer.Detach(release)
		if err != nil {
			return fmt.Errorf("sign Release.gpg: %w", err)
		}
		files = append(files, [2]string{"InRelease", string(in)}, [2]string{"Release.gpg", string(det)})
		pub, err := a.signer.PublicKey()
		if err != nil {
			return err
		}
		if err := state.WriteFileAtomic(filepath.Join(a.root, "key.asc"), pub, 0o644); err != nil {
			return err
		}
	}
	files = append(files, [2]string{"Release", string(release)})
	for _, f := range files {
		if err := state.WriteFileAtomic(filepath.Join(a.distDir(), f[0]), []byte(f[1]), 0o644); err != nil {
			return err
		}
	}
	a.pruneByHash(keep, old)
	return nil
}

// release writes the Release file of the distribution.
func (a *aptDir) release(archs, comps, names []string, index map[string][]byte) []byte {
	origin := a.cfg.Origin
	if origin == "" {
		origin = a.env.Config.Project.Name
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Origin: %s\nLabel: %s\nSuite: %s\nCodename: %s\nDate: %s\nArchitectures: %s\nComponents: %s\nAcquire-By-Hash: yes\n",
		origin, origin, a.cfg.Distribution, a.cfg.Distribution, time.Now().UTC().Format("Mon, 02 Jan 2006 15:04:05 UTC"),
		strings.Join(archs, " "), strings.Join(comps, " "))
	for _, h := range []struct {
		name string
		get  func(sums) string
	}{{"MD5Sum", func(s sums) string { return s.md5 }}, {"SHA1", func(s sums) string { return s.sha1 }}, {"SHA256", func(s sums) string { return s.sha256 }}} {
		fmt.Fprintf(&b, "%s:\n", h.name)
		for _, n := range names {
			s := dataSums(index[n])
			fmt.Fprintf(&b, " %s %16d %s\n", h.get(s), s.size, n)
		}
	}
	return []byte(b.String())
}

// releaseHashes lists the by-hash files the current Release refers to.
func (a *aptDir) releaseHashes() map[string]bool {
	out := map[string]bool{}
	b, err := os.ReadFile(filepath.Join(a.distDir(), "Release"))
	if err != nil {
		return out
	}
	inSHA := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "SHA256:"):
			inSHA = true
		case strings.HasPrefix(line, " ") && inSHA:
			f := strings.Fields(line)
			if len(f) == 3 {
				out[path.Join(path.Dir(f[2]), "by-hash", "SHA256", f[0])] = true
			}
		default:
			inSHA = false
		}
	}
	return out
}

// pruneByHash removes by-hash files neither the new nor the previous Release
// names: a client that read the previous one a moment ago still finds its files.
func (a *aptDir) pruneByHash(keep, old map[string]bool) {
	filepath.WalkDir(a.distDir(), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p, "/by-hash/SHA256/") {
			return nil
		}
		rel, _ := filepath.Rel(a.distDir(), p)
		rel = filepath.ToSlash(rel)
		if !keep[rel] && !old[rel] {
			os.Remove(p)
		}
		return nil
	})
}

func gzipBytes(b []byte) []byte {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}
