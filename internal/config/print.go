package config

import (
	"fmt"
	"io"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Print writes each effective value with its origin, secrets masked.
func (c *Config) Print(w io.Writer) error {
	src := "no configuration file; defaults, environment and flags"
	if c.File != "" {
		src = c.File
	}
	fmt.Fprintf(w, "# effective configuration (%s)\n", src)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	root := reflect.ValueOf(c).Elem()
	for _, k := range LeafKeys() {
		val := format(root.FieldByIndex(k.Index), k.Secret)
		fmt.Fprintf(tw, "%s\t%s\t%s\n", k.Path, val, c.Origins[k.Path])
	}
	return tw.Flush()
}

// format renders a value in YAML flow style on one line.
func format(v reflect.Value, secret string) string {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		switch {
		case s == "":
			return `""`
		case secret == "true":
			return "***"
		case secret == "url":
			s = MaskURL(s)
		}
		if strings.ContainsAny(s, ",[]{}:#\"' ") {
			return strconv.Quote(s)
		}
		return s
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = format(v.Index(i), secret)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k.String() + ": " + format(v.MapIndex(k), secret)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case reflect.Struct:
		var parts []string
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if name := yamlName(f); name != "" && !v.Field(i).IsZero() {
				parts = append(parts, name+": "+format(v.Field(i), f.Tag.Get("secret")))
			}
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v.Interface())
}

// MaskURL hides the password of a URL with credentials in it.
func MaskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "***")
		return strings.Replace(u.String(), "%2A%2A%2A", "***", 1)
	}
	return s
}
