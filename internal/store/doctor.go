package store

import (
	"context"
	"errors"
	"os"

	"github.com/gopythongo/gopythongo/internal/check"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/storetype"
)

// Check says whether a store could be published to: its credentials and
// signing key are there, and it answers what it holds of the package name
// (a read: nothing is written, no lock is taken on a directory).
func Check(ctx context.Context, sc config.StoreConfig, e Env, name string) []check.Finding {
	subject := "store " + sc.Name
	var fs []check.Finding
	if e.Getenv != nil {
		fs = storetype.Secrets(sc, e.Getenv)
	}
	if check.Problems(fs) > 0 {
		return fs // New would stop at the first of them
	}
	s, err := New(sc, e)
	if err != nil {
		return append(fs, check.Bad(subject, err))
	}
	if sc.Path != "" {
		if _, err := os.Stat(e.Config.Path(sc.Path)); errors.Is(err, os.ErrNotExist) {
			return append(fs, check.Notef(subject, "%s: %s does not exist yet and is made by the first publish", sc.Type, sc.Path))
		}
	}
	have, err := s.Existing(ctx, name)
	if err != nil {
		return append(fs, check.Badf(subject, "%s: asked what it holds of %s: %v", sc.Type, name, err))
	}
	return append(fs, check.Good(subject, "%s: answers; holds %s", sc.Type, storetype.Holdings(have)))
}
