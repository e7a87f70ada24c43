package store

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gopythongo/gopythongo/internal/config"
)

// CheckConfig checks each store of publish.stores for what its type needs,
// beside the implementations (a config.Check): a type, the fields the type
// reads, one signing key, and apt names that are single words.
func CheckConfig(c *config.Config) []error {
	var errs []error
	for i, s := range c.Publish.Stores {
		key := fmt.Sprintf("publish.stores[%d]", i)
		bad := func(k, format string, args ...any) { errs = append(errs, c.Errorf(k, format, args...)) }
		if k, ok := kinds[s.Type]; !ok {
			bad(key, "store %q needs a type (valid: %s)", s.Name, strings.Join(slices.Sorted(maps.Keys(kinds)), ", "))
		} else if lack := k.needs(s); lack != "" {
			bad(key, "store %q of type %s needs %s", s.Name, s.Type, lack)
		}
		if n := btoi(s.SigningKeyFile != "") + btoi(s.SigningKeyEnv != "") + btoi(s.SigningKeyFileEnv != ""); n > 1 {
			bad(key, "store %q: set one of signing_key_file, signing_key_env and signing_key_file_env", s.Name)
		}
		for _, w := range []struct{ key, val string }{{"distribution", s.Distribution}, {"component", s.Component}} {
			if strings.ContainsAny(w.val, "/ \t") || w.val == "" || w.val == "." || w.val == ".." {
				bad(key+"."+w.key, "%q must be a single word such as bookworm or main", w.val)
			}
		}
	}
	return errs
}

func needsPath(s config.StoreConfig) string {
	if s.Path == "" {
		return "a path"
	}
	return ""
}

func needsRepository(s config.StoreConfig) string {
	if s.Repository == "" {
		return "a repository, e.g. 127.0.0.1:5000/hello"
	}
	return ""
}

func needsURL(what string) func(config.StoreConfig) string {
	return func(s config.StoreConfig) string {
		if s.URL == "" {
			return "url, " + what
		}
		return ""
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
