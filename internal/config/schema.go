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
		k := Key{
			Path:    joinPath(prefix, name),
			Doc:     f.Tag.Get("doc"),
			Default: f.Tag.Get("default"),
			Secret:  f.Tag.Get("secret"),
			Type:    f.Type,
		}
		// Keys inside maps and lists of mappings have no index from Config.
		if index != nil || prefix == "" {
			k.Index = append(append([]int(nil), index...), i)
		}
		if e := f.Tag.Get("enum"); e != "" {
			k.Enum = strings.Split(e, ",")
		}
		k.Section = f.Type.Kind() == reflect.Struct
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

// LookupKey finds a key by its dotted path (only keys outside maps and lists).
func LookupKey(path string) (Key, bool) {
	for _, k := range allKeys() {
		if k.Path == path && k.Index != nil {
			return k, true
		}
	}
	return Key{}, false
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
