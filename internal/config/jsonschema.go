package config

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// SchemaURL is where the JSON Schema of .gopythongo.yaml is published, for
// the yaml-language-server line of a generated file.
const SchemaURL = "https://raw.githubusercontent.com/gopythongo/gopythongo/main/docs/gopythongo.schema.json"

// JSONSchema renders docs/gopythongo.schema.json from the Config struct, as
// Reference renders docs/config.md: editors (VS Code and JetBrains, through
// yaml-language-server) complete and check the file with it. It accepts what
// the decoder accepts: null for any key (the default), a scalar for a
// string, true/false (and yes/no/on/off/1/0) for a boolean, a number or its
// digits for an integer; it refuses unknown keys and invalid choices.
func JSONSchema() []byte {
	s := schemaOf(reflect.TypeFor[Config](), "")
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = SchemaURL
	s["title"] = "GoPythonGo configuration (.gopythongo.yaml)"
	s["description"] = "The configuration of every GoPythonGo step; docs/config.md explains each key."
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err) // plain data
	}
	return b.Bytes()
}

type schema = map[string]any

// schemaOf is the schema of a value of type t; enum is the field's choices.
func schemaOf(t reflect.Type, enum string) schema {
	switch t.Kind() {
	case reflect.String:
		if enum != "" {
			return schema{"enum": append(anys(strings.Split(enum, ",")), nil)}
		}
		// Any scalar is read as its text: 3.11 and 2024 are strings too.
		return schema{"type": []string{"string", "number", "boolean", "null"}}
	case reflect.Bool:
		return schema{"anyOf": []schema{
			{"type": []string{"boolean", "null"}},
			{"enum": anys([]string{"yes", "no", "on", "off", "Yes", "No", "On", "Off", "YES", "NO", "ON", "OFF", "True", "False", "TRUE", "FALSE"})},
			{"enum": []any{0, 1}},
		}}
	case reflect.Int:
		return schema{"anyOf": []schema{{"type": []string{"integer", "null"}}, {"type": "string", "pattern": "^[+-]?[0-9]+$"}}}
	case reflect.Slice:
		items := schemaOf(t.Elem(), enum)
		if t.Elem().Kind() == reflect.Slice { // an argv list inside a list
			items = schemaOf(t.Elem(), "")
		}
		return schema{"type": []string{"array", "null"}, "items": items}
	case reflect.Map:
		return schema{"type": []string{"object", "null"}, "additionalProperties": schemaOf(t.Elem(), "")}
	case reflect.Struct:
		props := schema{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := yamlName(f)
			if name == "" {
				continue
			}
			p := schemaOf(f.Type, f.Tag.Get("enum"))
			if doc := f.Tag.Get("doc"); doc != "" {
				p["description"] = doc
			}
			if def, ok := f.Tag.Lookup("default"); ok {
				p["default"] = defaultValue(f.Type, def)
			}
			props[name] = p
		}
		return schema{"type": []string{"object", "null"}, "properties": props, "additionalProperties": false}
	}
	panic("config: no schema for " + t.String())
}

// defaultValue is a default tag as the JSON value it stands for, read by
// the decoder as the key's own value is.
func defaultValue(t reflect.Type, def string) any {
	v := reflect.New(t).Elem()
	d := &decoder{origin: func(*yaml.Node) Origin { return Origin{} }, origins: map[string]Origin{}}
	d.decode(valueNode(t, def), v, "", "")
	if len(d.errs) > 0 {
		panic("config: bad default " + def)
	}
	// Through YAML, so that a mapping's keys are its YAML names.
	data, err := yaml.Marshal(v.Interface())
	if err != nil {
		panic(err)
	}
	var out any
	if err := yaml.Unmarshal(data, &out); err != nil {
		panic(err)
	}
	return out
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
