package storetype_test

import (
	"testing"

	"github.com/gopythongo/gopythongo/internal/storetype"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

// TestCheckConfig: what a store type needs is refused with its key and line.
func TestCheckConfig(t *testing.T) {
	testutil.RefusedByCheck(t, storetype.CheckConfig, []testutil.ConfigCase{
		{Name: "store without type", YAML: "publish:\n  stores:\n    - name: apt\n",
			Want: []string{".gopythongo.yaml:3", `store "apt" needs a type`}},
		{Name: "aptly without url", YAML: "publish:\n  stores:\n    - {name: a, type: aptly}\n",
			Want: []string{`store "a" of type aptly needs url`}},
		{Name: "pypi without url", YAML: "publish:\n  stores:\n    - {name: p, type: pypi}\n",
			Want: []string{`store "p" of type pypi needs url`}},
		{Name: "store distribution", YAML: "publish:\n  stores:\n    - {name: r, type: apt-dir, path: x, distribution: 'a/b'}\n",
			Want: []string{"publish.stores[0].distribution", "single word"}},
	})
}
