// Package store holds the places artifacts are published to (apt repositories,
// registries, package indexes), each of which can say what it already holds.
package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/gopythongo/gopythongo/internal/config"
)

// Release is something a store already holds under a name and version.
type Release struct {
	Name string
	// Version is the store's own rendering: Debian for apt stores.
	Version string
	Arch    string
	SHA256  string
	// Digest is an OCI manifest digest.
	Digest string
	// Commit is the source commit recorded with the artifact, when the store
	// keeps it (GoPythonGo's .debs carry it in a Gopythongo-Commit field).
	Commit string
}

// Store is a place artifacts are published to.
type Store interface {
	// Existing lists what the store holds for a package name.
	Existing(ctx context.Context, name string) ([]Release, error)
}

// factory makes a store from its configuration; c resolves relative paths.
type factory func(s config.StoreConfig, c *config.Config) (Store, error)

// types is the one table of store implementations.
var types = map[string]factory{
	"apt-dir": newAptDir,
}

// New makes the store a configuration names.
func New(s config.StoreConfig, c *config.Config) (Store, error) {
	f, ok := types[s.Type]
	if !ok {
		var have []string
		for t := range types {
			have = append(have, t)
		}
		return nil, fmt.Errorf("store %q: type %q cannot be queried by this GoPythonGo (supported: %s)", s.Name, s.Type, strings.Join(have, ", "))
	}
	return f(s, c)
}
