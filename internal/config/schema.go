package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Origin says where a value came from.
type Origin struct {
	Kind OriginKind
	File string // for OriginFile
	Line int    // for OriginFile
	Name string // the variable for OriginEnv, the flag for OriginFlag
}

// OriginKind is the kind of an Origin.
type OriginKind int

// The places a value can come from, weakest first.
const (
	OriginDefault OriginKind = iota
	OriginFile
	OriginEnv
	OriginFlag
)

func (o Origin) String() string {
	switch o.Kind {
	case OriginFile:
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	case OriginEnv:
		return "env " + o.Name
	case OriginFlag:
		return "flag " + o.Name
	}
	if o.Name != "" {
		return "default from " + o.Name
	}
	return "default"
}

// Key describes one configuration key, derived from the Config struct's tags.
type Key struct {
	Path    string // dotted path, e.g. version.source
	Doc     string
	Default string
	Enum    []string
	Secret  string // "", "true" (mask the value) or "url" (mask passwords in URLs)
	Type    reflect.Type
	// Index is the field index path from Config.
	Index []int
	// Section is true for a struct that only groups keys.
	Section bool
}

// EnvName is the environment variable that overrides the key.
func (k Key) EnvName() string {
	// Keys are ASCII; every step maps all of them at start-up.
	return "GOPYTHONGO_" + strings.Map(func(r rune) rune {
		switch {
		case r == '.' || r == '-':
			return '_'
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, k.Path)
}

// InputEnvName is the variable a CI integration passes an input given for
// the key through (GOPYTHONGO_INPUT_VENV_CACHE_DIR). It wins over EnvName
// when it is not empty, and an empty one leaves EnvName alone: a GitHub
// composite action sets every input's variable, "" for those not given,
// and its own env would otherwise hide the workflow's and the job's.
func (k Key) InputEnvName() string {
	return "GOPYTHONGO_INPUT_" + strings.TrimPrefix(k.EnvName(), "GOPYTHONGO_")
}

// TypeName describes the key's type for people.
func (k Key) TypeName() string { return typeName(k.Type) }

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int:
		return "integer"
	case reflect.Slice:
		switch t.Elem().Kind() {
		case reflect.String:
			return "list of strings"
		case reflect.Slice:
			return "list of argv lists"
		case reflect.Struct:
			return "list of mappings"
		}
	case reflect.Map:
		if t.Elem().Kind() == reflect.Struct {
			return "mapping of name to mapping"
		}
		return "mapping of strings"
	case reflect.Struct:
		return "mapping"
	}
	return t.String()
}

// Keys lists every key of the configuration in file order, sections included.
// Keys inside maps and lists of mappings (test suites, stores) are listed once with
// "<name>" or "[]" in their path.
func Keys() []Key { return slices.Clone(allKeys()) }

// allKeys walks the Config type once; the result never changes.
var allKeys = sync.OnceValue(func() []Key {
	var keys []Key
	walkKeys(reflect.TypeFor[Config](), "", nil, &keys)
	return keys
})

func walkKeys(t reflect.Type, prefix string, index []int, keys *[]Key) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		// Keys inside maps and lists of mappings have no index from Config.
		var at []int
		if index != nil || prefix == "" {
			at = append(slices.Clip(index), i)
		}
		k := newKey(f, joinPath(prefix, name), at)
		*keys = append(*keys, k)
		switch {
		case f.Type.Kind() == reflect.Struct:
			walkKeys(f.Type, k.Path, k.Index, keys)
		case f.Type.Kind() == reflect.Map && f.Type.Elem().Kind() == reflect.Struct:
			walkKeys(f.Type.Elem(), k.Path+".<name>", nil, keys)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			walkKeys(f.Type.Elem(), k.Path+"[]", nil, keys)
		}
	}
}

// newKey describes the field f at path; index is nil inside maps and lists.
func newKey(f reflect.StructField, path string, index []int) Key {
	k := Key{
		Path:    path,
		Doc:     f.Tag.Get("doc"),
		Default: f.Tag.Get("default"),
		Secret:  f.Tag.Get("secret"),
		Type:    f.Type,
		Index:   index,
		Section: f.Type.Kind() == reflect.Struct,
	}
	if e := f.Tag.Get("enum"); e != "" {
		k.Enum = strings.Split(e, ",")
	}
	return k
}

// LookupKey finds a key by its dotted path (only keys outside maps and lists).
func LookupKey(path string) (Key, bool) {
	keys := findKeys(path, func(name, rest string) (int, bool) {
		n, ok := strings.CutPrefix(rest, name)
		return len(rest) - len(n), ok && (n == "" || n[0] == '.')
	})
	if len(keys) == 0 {
		return Key{}, false
	}
	return keys[0], true
}

// envKeys finds the leaf keys whose EnvName is GOPYTHONGO_ and suffix.
// Two paths can share a name (a.b_c, a_b.c); each is set, as by a table of
// EnvNames.
func envKeys(suffix string) []Key {
	var out []Key
	for _, k := range findKeys(suffix, func(name, rest string) (int, bool) {
		return len(name), len(rest) >= len(name) && envForm(name, rest[:len(name)]) &&
			(len(rest) == len(name) || rest[len(name)] == '_')
	}) {
		if !k.Section {
			out = append(out, k)
		}
	}
	return out
}

// envForm reports whether upper is name as a variable spells it: upper
// case, "." and "-" as "_".
func envForm(name, upper string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.' || c == '-':
			c = '_'
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}

// findKeys descends Config's sections to the keys whose path the spelling
// s names: match says whether a field's name begins the rest of s, and how
// many bytes of it the name takes (a separator follows, or nothing). Only
// the fields on the way are read, not the whole key table, whose tags are
// a tenth of a version step at a tag: a step looks up a few keys.
func findKeys(s string, match func(name, rest string) (int, bool)) []Key {
	var out []Key
	var descend func(t reflect.Type, path, rest string, index []int)
	descend = func(t reflect.Type, path, rest string, index []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := yamlName(f)
			if name == "" {
				continue
			}
			n, ok := match(name, rest)
			if !ok {
				continue
			}
			at := append(slices.Clip(index), i)
			switch {
			case n == len(rest):
				out = append(out, newKey(f, joinPath(path, name), at))
			case f.Type.Kind() == reflect.Struct:
				descend(f.Type, joinPath(path, name), rest[n+1:], at)
			}
		}
	}
	descend(reflect.TypeFor[Config](), "", s, nil)
	return out
}

// LeafKeys lists the keys that are set as one value, outside maps and lists.
func LeafKeys() []Key {
	var out []Key
	for _, k := range allKeys() {
		if !k.Section && k.Index != nil {
			out = append(out, k)
		}
	}
	return out
}

func yamlName(f reflect.StructField) string {
	tag := f.Tag.Get("yaml")
	if tag == "-" || !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	return name
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// fieldNames lists the yaml names of a struct type, for "valid keys" messages.
func fieldNames(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if n := yamlName(t.Field(i)); n != "" {
			names = append(names, n)
		}
	}
	return names
}
