package testutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
)

// ConfigCase is a configuration that one implementation's rules refuse,
// with what the error must say.
type ConfigCase struct {
	Name string
	YAML string
	Want []string
}

// RefusedByCheck loads each case's configuration: the configuration's own
// rules take it, and with check added it is refused with every Want.
func RefusedByCheck(t *testing.T, check config.Check, cases []ConfigCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, config.DefaultFile), []byte(tt.YAML), 0o644))
			_, err := config.Load(config.Options{Dir: dir})
			require.NoError(t, err, "the configuration's own rules leave this to the implementation")
			_, err = config.Load(config.Options{Dir: dir, Checks: []config.Check{check}})
			require.Error(t, err)
			for _, w := range tt.Want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
