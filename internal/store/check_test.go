package store_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/store"
)

// TestCheckConfig: what a store type needs is refused with its key and line.
func TestCheckConfig(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"store without type", "publish:\n  stores:\n    - name: apt\n",
			[]string{".gopythongo.yaml:3", `store "apt" needs a type`}},
		{"aptly without url", "publish:\n  stores:\n    - {name: a, type: aptly}\n",
			[]string{`store "a" of type aptly needs url`}},
		{"pypi without url", "publish:\n  stores:\n    - {name: p, type: pypi}\n",
			[]string{`store "p" of type pypi needs url`}},
		{"store distribution", "publish:\n  stores:\n    - {name: r, type: apt-dir, path: x, distribution: 'a/b'}\n",
			[]string{"publish.stores[0].distribution", "single word"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, config.DefaultFile), []byte(tt.yaml), 0o644))
			_, err := config.Load(config.Options{Dir: dir})
			require.NoError(t, err, "the configuration's own rules leave this to the store")
			_, err = config.Load(config.Options{Dir: dir, Checks: []config.Check{store.CheckConfig}})
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
