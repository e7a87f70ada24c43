package config

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestScalarDefaultsAreWhatTheDecoderReads: every default that
// setScalarDefault sets is what the decoder makes of it, and valid for its
// key (its enum); the others go through the decoder.
func TestScalarDefaultsAreWhatTheDecoderReads(t *testing.T) {
	fast := 0
	var walk func(t reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := yamlName(f)
			if name == "" {
				continue
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, path+name+".")
				continue
			}
			def, ok := f.Tag.Lookup("default")
			if !ok {
				continue
			}
			got := reflect.New(f.Type).Elem()
			if !setScalarDefault(got, def) {
				continue
			}
			fast++
			want := reflect.New(f.Type).Elem()
			d := &decoder{origin: func(*yaml.Node) Origin { return Origin{} }, origins: map[string]Origin{}}
			d.decode(valueNode(f.Type, def), want, path+name, f.Tag)
			require.Empty(t, d.errs, "%s%s: default %q", path, name, def)
			assert.Equal(t, want.Interface(), got.Interface(), "%s%s: default %q", path, name, def)
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	walk(reflect.TypeOf(StoreConfig{}), "publish.stores[].")
	walk(reflect.TypeOf(TestSuite{}), "test.suites.*.")
	walk(reflect.TypeOf(ExtraFile{}), "venv.extra_files[].")
	assert.Greater(t, fast, 50, "most defaults are scalars")
}
