package pack

import (
	"context"
	"fmt"
	"os"

	"github.com/gopythongo/gopythongo/internal/state"
)

// tarPacker writes the venv as a tar archive rooted at /, so that
// tar -C / -xf deploys it. The directories above the deploy path are left out,
// so that unpacking keeps /opt's own mode and time.
type tarPacker struct{ c Compression }

func (p tarPacker) Format() state.Format { return state.Format("tar" + p.c.Ext()) }

func (p tarPacker) Pack(ctx context.Context, t *Tree, m *Meta) (state.Artifact, error) {
	name := fmt.Sprintf("%s_%s_%s.tar%s", m.Name, m.Version.OCITag, m.Arch, p.c.Ext())
	return writeAtomic(m.Out, name, p.Format(), m.Arch, func(f *os.File) error {
		zw, err := compressor(p.c, defaultGzipLevel, f)
		if err != nil {
			return err
		}
		if err := writeTar(zw, t, tarOptions{Epoch: m.Epoch, Ctx: ctx}); err != nil {
			zw.Close() // a compressor program ends with its input
			return err
		}
		return zw.Close()
	})
}
