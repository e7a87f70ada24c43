package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/flock"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/version"
)

const refName = "org.opencontainers.image.ref.name"

// ociDir is an OCI image layout directory that holds every published tag.
type ociDir struct {
	cfg  config.StoreConfig
	root string
}

func newOCIDir(s config.StoreConfig, e Env) (Store, error) {
	return &ociDir{cfg: s, root: e.Config.Path(s.Path)}, nil
}

func (o *ociDir) Existing(ctx context.Context, name string) ([]Release, error) {
	lp, err := layout.FromPath(o.root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("oci-dir %s: %w", o.root, err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var out []Release
	for _, d := range im.Manifests {
		if tag := d.Annotations[refName]; tag != "" {
			out = append(out, Release{Name: name, Version: tag, Digest: d.Digest.String(), SHA256: d.Digest.Hex})
		}
	}
	return out, nil
}

// sourceImage reads the image the package step wrote to dist/oci.
func sourceImage(it Item) (v1.Image, error) {
	lp, err := layout.FromPath(it.Path())
	if err != nil {
		return nil, fmt.Errorf("the image layout %s: %w (run gopythongo-package with the oci format)", it.Path(), err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, err
	}
	h, err := v1.NewHash(it.Artifact.Digest)
	if err != nil {
		return nil, fmt.Errorf("artifact %s: digest %q: %w", it.Artifact.Path, it.Artifact.Digest, err)
	}
	return idx.Image(h)
}

func (o *ociDir) Publish(ctx context.Context, it Item) (state.Publication, error) {
	img, err := sourceImage(it)
	if err != nil {
		return state.Publication{}, err
	}
	var lp layout.Path
	if !it.DryRun {
		unlock, err := lockDir(ctx, o.root)
		if err != nil {
			return state.Publication{}, err
		}
		defer unlock()
		lp, err = layout.FromPath(o.root)
		if errors.Is(err, os.ErrNotExist) {
			lp, err = layout.Write(o.root, empty.Index)
		}
		if err != nil {
			return state.Publication{}, fmt.Errorf("oci-dir %s: %w", o.root, err)
		}
	}
	have, err := o.Existing(ctx, it.Name)
	if err != nil {
		return state.Publication{}, err
	}
	pub := state.Publication{Store: o.cfg.Name, Type: "oci-dir", Artifact: it.Artifact.Path, Reference: "oci:" + o.root + ":" + it.Version.OCITag, Digest: it.Artifact.Digest}
	// Only the version tag is immutable; floating tags move.
	for _, r := range have {
		if r.Version == it.Version.OCITag {
			if r.Digest == it.Artifact.Digest {
				pub.Unchanged = true
			} else if !it.Overwrite {
				return state.Publication{}, conflict(o.cfg.Name, "tag "+r.Version, r.Digest, it.Artifact.Digest)
			}
		}
	}
	var existing []string
	for _, r := range have {
		existing = append(existing, r.Version)
	}
	tags := Tags(o.cfg.Tags, it.Version, existing)
	if it.DryRun {
		pub.Tags = tags
		return pub, nil
	}
	// Blobs first (layout.WriteImage writes blobs before it names the image in
	// index.json), then each tag points at the manifest.
	if err := lp.WriteImage(img); err != nil {
		return state.Publication{}, err
	}
	for _, tag := range tags {
		if err := lp.ReplaceImage(img, match.Annotation(refName, tag), layout.WithAnnotations(map[string]string{refName: tag})); err != nil {
			return state.Publication{}, fmt.Errorf("tag %s: %w", tag, err)
		}
	}
	pub.Tags = tags
	return pub, nil
}

// lockDir takes an exclusive lock on a store directory (dir/.lock): publishes
// to one directory run one after the other, so that none loses another's
// index entry.
func lockDir(ctx context.Context, dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	l, err := flock.Exclusive(ctx, filepath.Join(dir, ".lock"))
	if err != nil {
		return nil, err
	}
	return l.Unlock, nil
}

// Tags lists the tags an image gets: the version's OCI rendering, and
// floating tags where they make sense: latest, X.Y and X for releases only,
// and only forward (a rerun or a hotfix of an older release does not take
// latest back from a newer one the store holds, among existing tags); the
// channel's name (develop for dev builds, rc, feature, pr) otherwise.
func Tags(want []string, v state.Version, existing []string) []string {
	var out []string
	add := func(t string) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	model, err := version.ParseOCITag(v.OCITag)
	release := err == nil && model.IsRelease() && v.Channel == string(version.ChannelRelease)
	// newer reports whether the store holds a newer release in the scope.
	newer := func(same func(version.Version) bool) bool {
		for _, t := range existing {
			if e, err := version.ParseOCITag(t); err == nil && e.IsRelease() && same(e) && version.Compare(e, model) > 0 {
				return true
			}
		}
		return false
	}
	for _, w := range want {
		switch w {
		case "version":
			add(v.OCITag)
		case "latest":
			if release && !newer(func(version.Version) bool { return true }) {
				add("latest")
			}
		case "minor":
			if release && !newer(func(e version.Version) bool { return e.Major == model.Major && e.Minor == model.Minor }) {
				add(fmt.Sprintf("%d.%d", model.Major, model.Minor))
			}
		case "major":
			if release && !newer(func(e version.Version) bool { return e.Major == model.Major }) {
				add(fmt.Sprint(model.Major))
			}
		case "channel":
			if !release && v.Channel != "" {
				name := v.Channel
				if name == string(version.ChannelDev) {
					name = "develop"
				}
				add(name)
			}
		}
	}
	return out
}
