package state

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEncodeIsEncodingJSON: the state file is byte for byte what
// json.MarshalIndent writes, for states with each field set or left empty
// at random (a field added to State without its encoding fails here), and
// for strings encoding/json escapes.
func TestEncodeIsEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", "a\"b\\c", "<html>&amp;", "tab\there\nline", "\u2028\u2029", "caf\u00e9", "bad \xff utf-8", "\x00\x1f"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		var s State
		fill(reflect.ValueOf(&s).Elem(), rng, strs, i == 0)
		want, err := json.MarshalIndent(&s, "", "  ")
		require.NoError(t, err)
		got, err := s.encode()
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "state %d", i)
	}
	want, _ := json.MarshalIndent(&State{}, "", "  ")
	got, err := (&State{}).encode()
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "the empty state")
}

// fill sets every field of v, or (unless all) leaves some empty, nil or of
// no elements.
func fill(v reflect.Value, rng *rand.Rand, strs []string, all bool) {
	if !all && v.Kind() != reflect.Struct && rng.IntN(3) == 0 {
		return // the zero value
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i), rng, strs, all)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), rng, strs, all)
	case reflect.Slice:
		n := 2
		if !all {
			n = rng.IntN(3)
		}
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			fill(v.Index(i), rng, strs, all)
		}
	case reflect.String:
		v.SetString(strs[1+rng.IntN(len(strs)-1)])
	case reflect.Int, reflect.Int64:
		v.SetInt(rng.Int64N(1<<40) - 1<<39)
	case reflect.Bool:
		v.SetBool(true)
	default:
		panic("fill: no value for " + v.Type().String())
	}
}
