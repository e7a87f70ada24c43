package pack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/gopythongo/gopythongo/internal/config"
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

// PackersFor returns the packers of formats, in their order; an unknown
// format is a usage error naming the valid ones.
func PackersFor(formats []string) ([]Packer, error) {
	var ps []Packer
	for _, f := range formats {
		p, ok := packers[state.Format(f)]
		if !ok {
			return nil, config.Usagef("unknown package format %q (valid: %s)", f, formatList())
		}
		ps = append(ps, p)
	}
	return ps, nil
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
