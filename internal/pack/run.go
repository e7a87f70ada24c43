package pack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/ui"
)

// Run makes each packer's artifact of t, one phase of log each, with its
// CycloneDX SBOM beside it. An interrupt stops it between artifacts; those
// finished stay, each whole (written under a temporary name and renamed).
func Run(ctx context.Context, log *ui.Log, dist string, packers []Packer, t *Tree, m *Meta) ([]state.Artifact, error) {
	if f, err := os.CreateTemp(dist, ".writable-"); err != nil {
		return nil, fmt.Errorf("the dist directory %s is not writable: %w", dist, err)
	} else {
		f.Close()
		os.Remove(f.Name())
	}
	var arts []state.Artifact
	for _, p := range packers {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		art, err := packOne(ctx, log, dist, p, t, m)
		if err != nil {
			return nil, err
		}
		arts = append(arts, art)
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return arts, nil
}

func packOne(ctx context.Context, log *ui.Log, dist string, p Packer, t *Tree, m *Meta) (state.Artifact, error) {
	ph := log.Phase(string(p.Format()))
	defer ph.End()
	art, err := p.Pack(ui.WithPhase(ctx, ph), t, m)
	if err != nil {
		return art, fmt.Errorf("%s: %w", p.Format(), err)
	}
	sbom, err := SBOM(m, art)
	if err != nil {
		return art, err
	}
	art.SBOM = strings.TrimSuffix(art.Path, "/") + ".cdx.json"
	if err := state.WriteFileAtomic(filepath.Join(dist, art.SBOM), sbom, 0o644); err != nil {
		return art, err
	}
	what := fmt.Sprintf("%s, %s", art.Path, ui.Size(art.Size))
	if art.Digest != "" {
		what = fmt.Sprintf("%s, %s", art.Path, art.Digest)
	}
	ph.Done(what)
	return art, nil
}

// WriteSums writes dist/SHA256SUMS for every artifact of the state file, so
// that sha256sum -c checks them all: files by their sha256, an OCI layout by
// its manifest (the blob named by the image digest), a docker-load tarball
// by its own.
func WriteSums(dist string, arts []state.Artifact) error {
	var lines []string
	for _, a := range arts {
		switch {
		case a.Format == state.FormatOCI && a.Digest != "":
			hex := strings.TrimPrefix(a.Digest, "sha256:")
			lines = append(lines, hex+"  "+filepath.ToSlash(filepath.Join(a.Path, "blobs", "sha256", hex)))
		case a.Format != state.FormatOCI:
			lines = append(lines, a.SHA256+"  "+a.Path)
		}
		if a.Tarball != "" {
			sum, _, err := hashFile(filepath.Join(dist, a.Tarball))
			if err != nil {
				return err
			}
			lines = append(lines, sum+"  "+a.Tarball)
		}
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return nil
	}
	return state.WriteFileAtomic(filepath.Join(dist, "SHA256SUMS"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}
