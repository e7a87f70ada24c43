// Package storetype is what every step knows of the store types without
// linking their implementations (the registry client, OpenPGP): each type's
// name, what it takes, how it spells versions and what its configuration
// needs, and what a store answers when asked what it holds. The
// implementations are in package store, one for each type named here.
package storetype

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gopythongo/gopythongo/internal/check"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/version"
)

// Release is something a store already holds under a name and version.
type Release struct {
	Name string
	// Version is the store's own rendering: Debian for apt stores, the OCI tag
	// for registries, PEP 440 for Python indexes.
	Version string
	Arch    string
	// File names the artifact, where the store keeps files.
	File   string
	SHA256 string
	// Digest is an OCI manifest digest.
	Digest string
	// Commit is the source commit recorded with the artifact, when the store
	// keeps it (GoPythonGo's .debs carry it in a Gopythongo-Commit field).
	Commit string
}

// kind is a store type: what it takes, how it spells versions, and what its
// configuration must hold.
type kind struct {
	accepts  []state.Format
	versions version.Format
	// hint says how to make what the store takes.
	hint string
	// needs says what a configuration of this type lacks ("": nothing).
	needs func(s config.StoreConfig) string
}

const (
	debHint   = "make a .deb with gopythongo-package --format deb"
	ociHint   = "make an image with gopythongo-package --format oci"
	distsHint = "make the wheel and sdist with gopythongo-build-venv --dist-only (or venv.dists: true)"
)

// types is the one table of store types, by name.
var types = map[string]kind{
	"apt-dir":  {accepts: []state.Format{state.FormatDeb}, versions: version.FormatDebian, hint: debHint, needs: needsPath},
	"aptly":    {accepts: []state.Format{state.FormatDeb}, versions: version.FormatDebian, hint: debHint, needs: needsURL("its API, e.g. http://127.0.0.1:8080")},
	"registry": {accepts: []state.Format{state.FormatOCI}, versions: version.FormatOCI, hint: ociHint, needs: needsRepository},
	"oci-dir":  {accepts: []state.Format{state.FormatOCI}, versions: version.FormatOCI, hint: ociHint, needs: needsPath},
	"pypi":     {accepts: []state.Format{state.FormatWheel, state.FormatSdist}, versions: version.FormatPEP440, hint: distsHint, needs: needsURL("the upload endpoint, e.g. https://upload.pypi.org/legacy/")},
	"pypi-dir": {accepts: []state.Format{state.FormatWheel, state.FormatSdist}, versions: version.FormatPEP440, hint: distsHint, needs: needsPath},
}

// Names are the store types, sorted.
func Names() []string { return slices.Sorted(maps.Keys(types)) }

// Accepts reports whether a store type takes artifacts of a format.
func Accepts(storeType string, f state.Format) bool {
	return slices.Contains(types[storeType].accepts, f)
}

// VersionFormat is the rendering of a store type's versions.
func VersionFormat(storeType string) version.Format { return types[storeType].versions }

// Hint says how to make what a store type takes.
func Hint(storeType string) string { return types[storeType].hint }

// Holdings says briefly what a store holds of a package: how many releases,
// and the last few versions.
func Holdings(have []Release) string {
	if len(have) == 0 {
		return "nothing of this package"
	}
	var vs []string
	for _, r := range have {
		v := r.Version
		if r.Arch != "" {
			v += " " + r.Arch
		}
		if r.File != "" && r.Arch == "" {
			v = r.File
		}
		vs = append(vs, v)
	}
	more := ""
	if len(vs) > 5 {
		more = ", …"
		vs = vs[len(vs)-5:]
	}
	n := "releases"
	if len(have) == 1 {
		n = "release"
	}
	return fmt.Sprintf("%d %s (%s%s)", len(have), n, strings.Join(vs, ", "), more)
}

// Secrets are the findings of the variables a store's configuration names
// for its secrets: each set, or not.
func Secrets(sc config.StoreConfig, getenv func(string) string) []check.Finding {
	var fs []check.Finding
	for _, v := range []struct{ key, name string }{{"password_env", sc.PasswordEnv}, {"username_env", sc.UsernameEnv}, {"signing_key_env", sc.SigningKeyEnv}, {"signing_key_file_env", sc.SigningKeyFileEnv}, {"passphrase_env", sc.PassphraseEnv}} {
		if v.name != "" {
			fs = append(fs, check.Secret("store "+sc.Name+" "+v.key, v.name, getenv))
		}
	}
	return fs
}

// CheckConfig checks each store of publish.stores for what its type needs,
// beside the implementations (a config.Check): a type, the fields the type
// reads, one signing key, and apt names that are single words.
func CheckConfig(c *config.Config) []error {
	var errs []error
	for i, s := range c.Publish.Stores {
		key := fmt.Sprintf("publish.stores[%d]", i)
		bad := func(k, format string, args ...any) { errs = append(errs, c.Errorf(k, format, args...)) }
		if k, ok := types[s.Type]; !ok {
			bad(key, "store %q needs a type (valid: %s)", s.Name, strings.Join(Names(), ", "))
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
