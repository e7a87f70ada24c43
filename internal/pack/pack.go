package pack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/gopythongo/gopythongo/internal/state"
)

// Packer makes one kind of artifact from the staging tree.
type Packer interface {
	Format() state.Format
	Pack(ctx context.Context, t *Tree, m *Meta) (state.Artifact, error)
}

// packers is the one table of artifact formats.
var packers = map[state.Format]Packer{
	state.FormatDeb:    debPacker{},
	state.FormatRPM:    rpmPacker{},
	state.FormatTarGz:  tarPacker{Gzip},
	state.FormatTarZst: tarPacker{Zstd},
	state.FormatTarXz:  tarPacker{Xz},
	state.FormatOCI:    ociPacker{},
}

// PackerFor returns the packer of a format.
func PackerFor(format string) (Packer, error) {
	p, ok := packers[state.Format(format)]
	if !ok {
		return nil, fmt.Errorf("unknown package format %q (valid: %s)", format, formatList())
	}
	return p, nil
}

func formatList() string {
	var names []string
	for _, f := range slices.Sorted(maps.Keys(packers)) {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
