package pack

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	kgzip "github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/state"
)

// OCIDir is the image layout's directory inside dist.
const OCIDir = "oci"

// ociPacker writes an OCI image without any container daemon: the base image,
// then the venv as two layers (the dependencies, then the project alone, so
// that a change to the project makes one small new layer), to an OCI layout
// directory and optionally to a docker-load tarball.
type ociPacker struct{}

func (ociPacker) Format() state.Format { return state.FormatOCI }

// LoadBase reads a base image: oci-layout:DIR[:TAG], a tarball (docker save
// format), "scratch", or a registry reference.
func LoadBase(ctx context.Context, ref, dir string) (v1.Image, error) {
	switch {
	case ref == "":
		return nil, config.Usagef("package.oci.base is not set, and an image of the venv alone does not run: its interpreter links to the target's. Name a base that has it: a registry reference (debian:bookworm-slim, python:3.11-slim-bookworm), oci-layout:DIR[:TAG], or a docker-save tarball (DIR/base.tar)")
	case ref == "scratch":
		return empty.Image, nil
	case strings.HasPrefix(ref, "oci-layout:"):
		p, tag, _ := strings.Cut(strings.TrimPrefix(ref, "oci-layout:"), ":")
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return imageFromLayout(p, tag)
	case strings.HasSuffix(ref, ".tar") || strings.HasSuffix(ref, ".tar.gz"):
		p := ref
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		img, err := tarball.ImageFromPath(p, nil)
		if err != nil {
			return nil, fmt.Errorf("base image tarball %s: %w", p, err)
		}
		return img, nil
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("base image %q is neither oci-layout:DIR[:TAG], a .tar file nor an image reference: %w", ref, err)
	}
	img, err := remote.Image(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}))
	if err != nil {
		return nil, fmt.Errorf("pull the base image %s: %w", ref, err)
	}
	return img, nil
}

func imageFromLayout(p, tag string) (v1.Image, error) {
	lp, err := layout.FromPath(p)
	if err != nil {
		return nil, fmt.Errorf("base image layout %s: %w", p, err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("base image layout %s: %w", p, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("base image layout %s: %w", p, err)
	}
	var tags []string
	for _, d := range im.Manifests {
		t := d.Annotations["org.opencontainers.image.ref.name"]
		tags = append(tags, t)
		if tag == "" && len(im.Manifests) == 1 || t == tag {
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("base image layout %s: %w", p, err)
			}
			return img, nil
		}
	}
	return nil, fmt.Errorf("base image layout %s has no image tagged %q (tags: %s)", p, tag, strings.Join(tags, ", "))
}

func (ociPacker) Pack(ctx context.Context, t *Tree, m *Meta) (state.Artifact, error) {
	c := m.Config
	oc := c.Package.OCI
	if len(oc.Entrypoint) == 0 && len(m.Entrypoints) > 1 {
		// Picking the first would give a Django site its manage command.
		return state.Artifact{}, c.Errorf("package.oci.entrypoint", "the project has %d console scripts (%s): choose the image's entrypoint, e.g. package.oci.entrypoint: [%s]", len(m.Entrypoints), strings.Join(m.Entrypoints, ", "), m.Entrypoints[0])
	}
	base, err := LoadBase(ctx, oc.Base, c.Dir)
	if err != nil {
		return state.Artifact{}, err
	}
	baseCfg, err := base.ConfigFile()
	if err != nil {
		return state.Artifact{}, fmt.Errorf("read the base image's config: %w", err)
	}
	if m.Arch != "all" && baseCfg.Architecture != "" && baseCfg.Architecture != m.Arch {
		return state.Artifact{}, fmt.Errorf("the venv holds %s binaries, but the base image is %s/%s", m.Arch, baseCfg.OS, baseCfg.Architecture)
	}
	// The base's file system with the venv's entries over it must run the
	// venv's interpreter. It is read (a gunzip of every base layer, a core
	// a layer) while the venv's layers are written into the temporary layout,
	// and nothing moves into place unless it holds; a failure stops the
	// writing.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	checked := make(chan error, 1)
	go func() {
		err := interpreterInImage(base, t, m.Venv.DeployPath, oc.Base, m.LayerCache)
		if err != nil {
			cancel(err)
		}
		checked <- err
	}()
	// The check's error, when it failed, is the one to report.
	checkFirst := func(err error) error {
		if cerr := <-checked; cerr != nil {
			return cerr
		}
		return err
	}
	tmp, err := os.MkdirTemp(m.Out, ".oci-")
	if err != nil {
		return state.Artifact{}, checkFirst(err)
	}
	defer os.RemoveAll(tmp)
	// The layout is written to a temporary directory and renamed into place.
	// The venv's layers are written straight into its blobs, and a base from
	// a layout on this file system is linked, not copied: the layout writer
	// skips blobs that are there.
	staging := filepath.Join(tmp, "layout")
	lp, err := layout.Write(staging, empty.Index)
	if err != nil {
		return state.Artifact{}, checkFirst(err)
	}
	blobs := filepath.Join(staging, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return state.Artifact{}, checkFirst(err)
	}
	if dir, ok := baseLayoutDir(oc.Base, c.Dir); ok {
		linkBaseBlobs(base, dir, blobs)
	}
	var adds []mutate.Addendum
	for _, l := range []struct {
		what    string
		project bool
	}{{"dependencies", false}, {"project", true}} {
		project := l.project
		// The dependencies' layer must be the same bytes whatever the app's
		// commit, or every app-only change re-sends it: its times are fixed.
		epoch := time.Unix(dependencyLayerEpoch, 0).UTC()
		if project {
			epoch = m.Epoch
		}
		layer, err := writeLayer(ctx, blobs, t, epoch, func(e Entry) bool { return e.Project == project })
		if err != nil {
			return state.Artifact{}, checkFirst(fmt.Errorf("write the %s layer: %w", l.what, err))
		}
		adds = append(adds, mutate.Addendum{Layer: layer, History: v1.History{
			Created: v1.Time{Time: m.Epoch}, CreatedBy: "gopythongo-package: the venv's " + l.what, Comment: m.Venv.DeployPath}})
	}
	if err := <-checked; err != nil {
		return state.Artifact{}, err
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return state.Artifact{}, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return state.Artifact{}, err
	}
	cfg = cfg.DeepCopy()
	imageConfig(&cfg.Config, m)
	if cfg.OS == "" {
		cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
		if m.Arch != "all" {
			cfg.Architecture = m.Arch
		}
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return state.Artifact{}, err
	}
	if img, err = mutate.CreatedAt(img, v1.Time{Time: m.Epoch}); err != nil {
		return state.Artifact{}, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	digest, err := img.Digest()
	if err != nil {
		return state.Artifact{}, err
	}

	dir := filepath.Join(m.Out, OCIDir)
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": m.Version.OCITag})); err != nil {
		return state.Artifact{}, fmt.Errorf("write the image layout: %w", err)
	}
	if err := normalModes(staging); err != nil {
		return state.Artifact{}, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return state.Artifact{}, err
	}
	art := state.Artifact{Path: OCIDir, Format: "oci", SHA256: digest.Hex, Size: int64(len(raw)), Digest: digest.String(), Arch: cfg.Architecture}
	// The tarball reads the layers from the staging layout: it is written
	// before the layout moves into place.
	if oc.Tarball {
		tag, err := name.NewTag(m.Name + ":" + m.Version.OCITag)
		if err != nil {
			return state.Artifact{}, err
		}
		file := fmt.Sprintf("%s_%s_oci.tar", m.Name, m.Version.OCITag)
		if _, err := writeAtomic(m.Out, file, "oci-tarball", m.Arch, func(f *os.File) error {
			return tarball.Write(tag, img, f)
		}); err != nil {
			return state.Artifact{}, err
		}
		art.Tarball = file
	}
	if err := os.RemoveAll(dir); err != nil {
		return state.Artifact{}, err
	}
	if err := os.Rename(staging, dir); err != nil {
		return state.Artifact{}, err
	}
	return art, nil
}

// dependencyLayerEpoch is the time (Unix seconds) of every entry of the
// dependencies' layer: 1970-01-01, as ko and Bazel give layers that must
// not depend on the build.
const dependencyLayerEpoch = 0

// fileLayer is a gzip layer in a file whose digests were taken while it was
// written, so that nothing reads or decompresses it again to learn them.
type fileLayer struct {
	path           string
	digest, diffID v1.Hash
	size           int64
}

func (l fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l fileLayer) Size() (int64, error)                { return l.size, nil }
func (l fileLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
func (l fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

// writeLayer writes the selected entries as a gzip layer rooted at / into
// dir, named by its digest.
func writeLayer(ctx context.Context, dir string, t *Tree, epoch time.Time, keep func(Entry) bool) (v1.Layer, error) {
	f, err := os.CreateTemp(dir, ".layer-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name()) // gone once renamed
	defer f.Close()
	compressed, uncompressed := sha256.New(), sha256.New()
	counted := &countingWriter{w: io.MultiWriter(f, compressed)}
	zw, err := compressor(Gzip, defaultGzipLevel, counted)
	if err != nil {
		return nil, err
	}
	if err := writeTar(io.MultiWriter(zw, uncompressed), t, tarOptions{Parents: true, Epoch: epoch, Keep: keep, Ctx: ctx}); err != nil {
		zw.Close()
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	l := fileLayer{
		digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(compressed.Sum(nil))},
		diffID: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(uncompressed.Sum(nil))},
		size:   counted.n,
	}
	l.path = filepath.Join(dir, l.digest.Hex)
	if err := os.Rename(f.Name(), l.path); err != nil {
		return nil, err
	}
	return partial.CompressedToLayer(l)
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// baseLayoutDir is the directory of an oci-layout: base.
func baseLayoutDir(ref, dir string) (string, bool) {
	rest, ok := strings.CutPrefix(ref, "oci-layout:")
	if !ok {
		return "", false
	}
	p, _, _ := strings.Cut(rest, ":")
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	return filepath.Join(p, "blobs", "sha256"), true
}

// linkBaseBlobs hard-links the base image's layers from its layout into
// blobs. A link that cannot be made (another file system) is left to the
// layout writer, which copies.
func linkBaseBlobs(base v1.Image, from, blobs string) {
	layers, err := base.Layers()
	if err != nil {
		return
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil || d.Algorithm != "sha256" {
			continue
		}
		// Only a regular file that already has the layout's mode: the
		// staging tree's modes are normalized, which must not touch the base.
		src := filepath.Join(from, d.Hex)
		if fi, err := os.Lstat(src); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() == 0o644 {
			os.Link(src, filepath.Join(blobs, d.Hex))
		}
	}
}

// imageConfig sets what the image runs and says about itself.
func imageConfig(c *v1.Config, m *Meta) {
	oc := m.Config.Package.OCI
	bin := filepath.Join(m.Venv.DeployPath, "bin")
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	var env []string
	for _, kv := range c.Env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH":
			path = v
		case "VIRTUAL_ENV":
		default:
			if _, over := oc.Env[k]; !over {
				env = append(env, kv)
			}
		}
	}
	env = append(env, "PATH="+bin+":"+path, "VIRTUAL_ENV="+m.Venv.DeployPath)
	keys := make([]string, 0, len(oc.Env))
	for k := range oc.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+oc.Env[k])
	}
	c.Env = env
	switch {
	case len(oc.Entrypoint) > 0:
		c.Entrypoint = oc.Entrypoint
	case len(m.Entrypoints) == 1:
		c.Entrypoint = m.Entrypoints
	}
	if len(oc.Cmd) > 0 || len(oc.Entrypoint) > 0 || len(m.Entrypoints) > 0 {
		c.Cmd = oc.Cmd
	}
	if oc.User != "" {
		c.User = oc.User
	}
	if oc.Workdir != "" {
		c.WorkingDir = oc.Workdir
	}
	if len(oc.Ports) > 0 {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range oc.Ports {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			c.ExposedPorts[p] = struct{}{}
		}
	}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	for k, v := range oc.Labels {
		c.Labels[k] = v
	}
	set := func(k, v string) {
		if v != "" {
			c.Labels["org.opencontainers.image."+k] = v
		}
	}
	set("title", m.Name)
	set("description", m.Summary)
	set("version", m.Version.SemVer)
	set("revision", m.Commit.SHA)
	set("source", orDefault(m.Config.Project.SourceURL, m.Commit.SourceURL))
	set("created", m.Epoch.UTC().Format("2006-01-02T15:04:05Z"))
	set("licenses", m.License)
	set("url", m.Homepage)
}

// normalModes gives the layout the modes a user expects, 0755 directories
// and 0644 files: go-containerregistry writes index.json and oci-layout
// 0755. The tree is this run's own; links are left alone, never followed.
func normalModes(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.Type()&fs.ModeSymlink != 0:
			return nil
		case d.IsDir():
			return os.Chmod(p, 0o755)
		}
		return os.Chmod(p, 0o644)
	})
}

// node is a path of an image's file system, as interpreterInImage follows it.
type node struct {
	link string
	file bool
}

// layerEntry is an entry of a layer's tar: its cleaned name and what it is.
type layerEntry struct {
	name     string
	typeflag byte
	link     string
}

// imageNodes reads the paths of an image's file system, its layers merged
// as mutate.Extract merges them (an upper layer's entry wins, whiteouts and
// opaque directories hide lower layers' entries), without the file
// contents: each layer is gunzipped on a core of its own and checked
// against its digest.
func imageNodes(img v1.Image, cache string) (map[string]node, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("read the image's layers: %w", err)
	}
	lists := make([][]layerEntry, len(layers))
	var total atomic.Int64
	var g errgroup.Group
	for i, l := range layers {
		g.Go(func() error {
			var err error
			lists[i], err = listLayer(l, &total, cache)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("read the image's file system: %w", err)
	}
	decided := map[string]bool{} // a path an upper layer has; true: it hides what is below it
	opaque := map[string]bool{}
	nodes := map[string]node{"/": {}}
	for i := len(lists) - 1; i >= 0; i-- {
		layerOpaque := map[string]bool{}
		for _, e := range lists[i] {
			base, dir := path.Base(e.name), path.Dir(e.name)
			if base == ".wh..wh..opq" {
				layerOpaque[dir] = true
				continue
			}
			tombstone := strings.HasPrefix(base, ".wh.")
			name := e.name
			if tombstone {
				name = path.Join(dir, strings.TrimPrefix(base, ".wh."))
			}
			if _, ok := decided[name]; ok && !tombstone {
				continue
			}
			if hiddenBy(decided, opaque, name) {
				continue
			}
			decided[name] = tombstone || e.typeflag != tar.TypeDir
			if tombstone {
				continue
			}
			full := path.Clean("/" + name)
			for d := path.Dir(full); d != "/"; d = path.Dir(d) {
				if _, ok := nodes[d]; ok {
					break
				}
				nodes[d] = node{} // a layer need not list its directories
			}
			switch e.typeflag {
			case tar.TypeSymlink:
				nodes[full] = node{link: e.link}
			case tar.TypeReg, tar.TypeLink:
				nodes[full] = node{file: true}
			default:
				nodes[full] = node{}
			}
		}
		for d := range layerOpaque {
			opaque[d] = true
		}
	}
	return nodes, nil
}

// hiddenBy reports whether a parent of name was whited out or made opaque
// by an upper layer.
func hiddenBy(decided, opaque map[string]bool, name string) bool {
	for d := path.Dir(name); ; d = path.Dir(d) {
		if decided[d] || opaque[d] {
			return true
		}
		if d == "." || d == "/" {
			return false
		}
	}
}

// layerEntries lists a layer's tar entries, gunzipping it with klauspost's
// decoder (a fifth faster than compress/gzip) and checking its digest.
func layerEntries(l v1.Layer, total *atomic.Int64) ([]layerEntry, error) {
	mt, err := l.MediaType()
	if err != nil {
		return nil, err
	}
	digest, err := l.Digest()
	if err != nil {
		return nil, err
	}
	var r io.Reader
	var compressed io.Reader // the gzip stream, hashed as it is read
	sum := sha256.New()
	if strings.HasSuffix(string(mt), "gzip") && digest.Algorithm == "sha256" {
		rc, err := l.Compressed()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		compressed = io.TeeReader(rc, sum)
		zr, err := kgzip.NewReader(compressed)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", digest, err)
		}
		defer zr.Close()
		r = zr
	} else {
		rc, err := l.Uncompressed() // verified by go-containerregistry as it is read
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		r = rc
	}
	var out []layerEntry
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", digest, err)
		}
		if total.Add(1) > maxImageEntries {
			return nil, fmt.Errorf("the image's file system has more than %d entries: a base image that large is not read", maxImageEntries)
		}
		name := path.Clean(h.Name)
		if climbsOut(name) {
			return nil, fmt.Errorf("layer %s: unsafe path %q", digest, h.Name)
		}
		out = append(out, layerEntry{name: name, typeflag: h.Typeflag, link: h.Linkname})
	}
	// What the tar reader left (padding, trailing data) counts for the digest.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, fmt.Errorf("layer %s: %w", digest, err)
	}
	if compressed != nil {
		if _, err := io.Copy(io.Discard, compressed); err != nil {
			return nil, fmt.Errorf("layer %s: %w", digest, err)
		}
		if err := checkDigest(digest, sum); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// maxImageEntries bounds what interpreterInImage keeps of a base image
// (Debian's largest images hold a few hundred thousand files).
const maxImageEntries = 4_000_000

// interpreterInImage follows the venv's interpreter link (bin/python3)
// through the image's file system, the base's layers with the venv's tree
// over them, and fails unless it ends at a file: an image whose venv points
// at an interpreter the base lacks fails at its first start with "no such
// file". The venv's own layers are never read back: their entries are the
// tree's.
func interpreterInImage(img v1.Image, t *Tree, deploy, base, cache string) error {
	nodes, err := imageNodes(img, cache)
	if err != nil {
		return err
	}
	for _, e := range t.Entries {
		name := path.Clean("/" + e.Path)
		for d := path.Dir(name); d != "/"; d = path.Dir(d) {
			if _, ok := nodes[d]; ok {
				break
			}
			nodes[d] = node{}
		}
		switch {
		case e.IsSymlink():
			nodes[name] = node{link: e.Link}
		case e.IsDir():
			nodes[name] = node{}
		default:
			nodes[name] = node{file: true}
		}
	}
	start := path.Join(deploy, "bin", "python3")
	p, hops := start, 0
	for {
		// Resolve the path one component at a time: a link may be any part.
		parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
		cur, moved := "/", false
		for i, part := range parts {
			next := path.Join(cur, part)
			n, ok := nodes[next]
			if !ok {
				if base == "" || base == "scratch" {
					base = "scratch"
				}
				return fmt.Errorf("the image's %s leads to %s, which the base image %s does not have (no %s): the image would fail to start. Use a base with the interpreter the venv was built with (package.oci.base)", start, p, base, next)
			}
			if n.link != "" {
				if hops++; hops > 40 {
					return fmt.Errorf("the image's %s: too many symbolic links", start)
				}
				target := n.link
				if !path.IsAbs(target) {
					target = path.Join(cur, target)
				}
				p, moved = path.Join(append([]string{target}, parts[i+1:]...)...), true
				break
			}
			cur = next
		}
		if moved {
			continue
		}
		if !nodes[cur].file {
			return fmt.Errorf("the image's %s leads to %s, which is no file", start, cur)
		}
		return nil
	}
}
