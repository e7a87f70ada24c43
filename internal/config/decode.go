package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a usage problem: a configuration value at a known place, or, with
// Err, a flag or input the user got wrong (cli.Main exits 2 for both).
type Error struct {
	Origin Origin
	Path   string
	Msg    string
	Err    error
}

// Usage marks err as the user's to fix (a flag, the state file): exit 2, its
// message as it is.
func Usage(err error) error { return &Error{Err: err} }

// Usagef is Usage of a formatted error.
func Usagef(format string, args ...any) error { return Usage(fmt.Errorf(format, args...)) }

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	// A flag or variable that names the key already (--set
	// package.deb.maintainer=) is not followed by the key again.
	if o := e.Origin.String(); e.Path == "" || strings.Contains(o, e.Path) {
		return fmt.Sprintf("%s: %s", o, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.Origin, e.Path, e.Msg)
}

// decoder turns YAML nodes into Config values, recording origins and collecting
// every error instead of stopping at the first.
type decoder struct {
	origin  func(n *yaml.Node) Origin
	origins map[string]Origin
	errs    []error
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{Origin: d.origin(n), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// decode sets v from n. tag carries the enum of the field that holds v.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, tag reflect.StructTag) {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.origins[path] = d.origin(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" && v.Kind() != reflect.String {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	switch v.Kind() {
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "expected a string, got %s", kindName(n))
			return
		}
		if n.Tag == "!!null" {
			v.SetString("")
			return
		}
		d.checkEnum(n, path, tag, n.Value)
		v.SetString(n.Value)
	case reflect.Bool:
		b, ok := parseBool(n)
		if !ok {
			d.errorf(n, path, "expected true or false, got %q", n.Value)
			return
		}
		v.SetBool(b)
	case reflect.Int:
		i, err := strconv.Atoi(n.Value)
		if n.Kind != yaml.ScalarNode || err != nil {
			d.errorf(n, path, "expected a whole number, got %q", n.Value)
			return
		}
		v.SetInt(int64(i))
	case reflect.Slice:
		d.decodeSlice(n, v, path, tag)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	default:
		panic("config: unsupported field type " + v.Type().String())
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, tag reflect.StructTag) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected a list, e.g. [a, b], got %s", kindName(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, item := range n.Content {
		e := reflect.New(v.Type().Elem()).Elem()
		if e.Kind() == reflect.Struct {
			applyDefaults(e)
		}
		ipath := fmt.Sprintf("%s[%d]", path, i)
		if e.Kind() == reflect.Slice { // an argv list inside a list
			tag = ""
		}
		d.decode(item, e, ipath, tag)
		out = reflect.Append(out, e)
	}
	v.Set(out)
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping of names, got %s", kindName(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		e := reflect.New(v.Type().Elem()).Elem()
		if e.Kind() == reflect.Struct {
			applyDefaults(e)
		}
		d.decode(val, e, path+"."+k.Value, "")
		m.SetMapIndex(reflect.ValueOf(k.Value), e)
	}
	v.Set(m)
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping (key: value lines), got %s", kindName(n))
		return
	}
	t := v.Type()
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		kpath := joinPath(path, k.Value)
		if seen[k.Value] {
			d.errorf(k, kpath, "key appears twice")
			continue
		}
		seen[k.Value] = true
		idx := fieldIndex(t, k.Value)
		if idx < 0 {
			where := "at the top level"
			if path != "" {
				where = "in " + path
			}
			msg := fmt.Sprintf("unknown key %q %s (valid keys: %s)", k.Value, where, strings.Join(fieldNames(t), ", "))
			if s := Suggest(k.Value, fieldNames(t)); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			d.errs = append(d.errs, &Error{Origin: d.origin(k), Msg: msg})
			continue
		}
		f := t.Field(idx)
		d.decode(val, v.Field(idx), kpath, f.Tag)
		// The key's line is the one people look for.
		if o := d.origin(k); o.Kind == OriginFile {
			d.origins[kpath] = o
		}
	}
}

func (d *decoder) checkEnum(n *yaml.Node, path string, tag reflect.StructTag, value string) {
	e := tag.Get("enum")
	if e == "" {
		return
	}
	choices := strings.Split(e, ",")
	if !slices.Contains(choices, value) {
		d.errorf(n, path, "%q is not a valid choice (valid: %s)", value, strings.Join(choices, ", "))
	}
}

func fieldIndex(t reflect.Type, name string) int {
	for i := 0; i < t.NumField(); i++ {
		if yamlName(t.Field(i)) == name {
			return i
		}
	}
	return -1
}

func parseBool(n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode {
		return false, false
	}
	switch strings.ToLower(n.Value) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0":
		return false, true
	}
	return false, false
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// Suggest returns the choice closest to s when it is a likely typo (at most
// two edits away), or "".
func Suggest(s string, choices []string) string {
	best, bestD := "", 3
	for _, c := range choices {
		if max(len(s)-len(c), len(c)-len(s)) >= bestD {
			continue // the distance is at least the difference in length
		}
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// applyDefaults sets every field of a struct value (recursively) to its default.
func applyDefaults(v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if yamlName(f) == "" {
			continue
		}
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Struct {
			applyDefaults(fv)
			continue
		}
		def, ok := f.Tag.Lookup("default")
		if !ok || setScalarDefault(fv, def) {
			continue
		}
		n := valueNode(f.Type, def)
		d := &decoder{origin: func(*yaml.Node) Origin { return Origin{} }, origins: map[string]Origin{}}
		d.decode(n, fv, "", "")
		if len(d.errs) > 0 {
			panic(fmt.Sprintf("config: bad default for %s: %v", f.Name, d.errs))
		}
	}
}

// setScalarDefault sets a string, int, bool or comma-separated list of
// strings to its default as the decoder would read it, without building a
// YAML node and a decoder for each of the hundred keys that every step
// loads; it reports whether it did (TestScalarDefaultsAreWhatTheDecoderReads).
func setScalarDefault(v reflect.Value, def string) bool {
	switch v.Kind() {
	case reflect.String:
		v.SetString(def)
	case reflect.Int:
		n, err := strconv.Atoi(def)
		if err != nil {
			return false
		}
		v.SetInt(int64(n))
	case reflect.Bool:
		if def != "true" && def != "false" {
			return false
		}
		v.SetBool(def == "true")
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String || strings.HasPrefix(strings.TrimSpace(def), "[") {
			return false
		}
		out := reflect.MakeSlice(v.Type(), 0, strings.Count(def, ",")+1)
		if strings.TrimSpace(def) != "" {
			for _, item := range strings.Split(def, ",") {
				out = reflect.Append(out, reflect.ValueOf(strings.TrimSpace(item)).Convert(v.Type().Elem()))
			}
		}
		v.Set(out)
	default:
		return false
	}
	return true
}

// valueNode turns a string from the environment, a flag or a default into a node
// of the key's type: strings stay exactly as given; lists are comma separated or
// a YAML flow list ([a, "b,c"]); mappings and lists of mappings are YAML.
func valueNode(t reflect.Type, s string) *yaml.Node {
	scalar := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int:
		return scalar
	case reflect.Slice:
		trimmed := strings.TrimSpace(s)
		if t.Elem().Kind() == reflect.String && !strings.HasPrefix(trimmed, "[") {
			seq := &yaml.Node{Kind: yaml.SequenceNode}
			if trimmed == "" {
				return seq
			}
			for _, item := range strings.Split(s, ",") {
				seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.TrimSpace(item)})
			}
			return seq
		}
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil || len(n.Content) == 0 {
		return scalar // the decoder then says what was expected
	}
	return n.Content[0]
}
