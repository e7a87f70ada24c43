// Package store holds the places artifacts are published to (apt repositories,
// registries, package indexes). Each can say what it already holds, so that a
// rerun publishes nothing twice and never overwrites a different artifact.
package store

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/httpx"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/storetype"
)

// Release is something a store already holds under a name and version.
type Release = storetype.Release

// Item is one artifact to publish, with what the pipeline knows of it.
type Item struct {
	Artifact state.Artifact
	// Dist is the dist directory; Artifact.Path is relative to it.
	Dist    string
	Name    string // the package name
	Version state.Version
	Commit  string
	// Overwrite replaces a different artifact under the same version.
	Overwrite bool
	// DryRun asks what Publish would do: the publication as it would be
	// (reference, tags, Unchanged when the store holds it), or the error it
	// would stop with; nothing is written, no directory made or locked.
	DryRun bool
}

// Path is the artifact on disk.
func (i Item) Path() string { return i.Dist + "/" + i.Artifact.Path }

// Store is a place artifacts are published to.
type Store interface {
	// Existing lists what the store holds for a package name.
	Existing(ctx context.Context, name string) ([]Release, error)
	// Accepts reports whether the store takes artifacts of a format.
	// Publish puts the artifact into the store, or nothing when the identical
	// artifact is there already (Unchanged); a different artifact under the
	// same version is an error naming both hashes, unless Overwrite.
	Publish(ctx context.Context, it Item) (state.Publication, error)
}

// Env is what stores need from their surroundings.
type Env struct {
	Config *config.Config
	Getenv func(string) string
	// Log receives retries and notes.
	Log func(format string, args ...any)
	// Mask hides secrets read from the environment (GitHub ::add-mask::).
	Mask func(string)
	// ReadOnly makes a store that is only asked what it holds
	// (gopythongo-version --revision-from): no signing key is read.
	ReadOnly bool
	// NewSigner reads an armored private key (pgp.NewSigner): given by the
	// step that publishes, so that the others do not link OpenPGP.
	NewSigner func(armored, passphrase []byte) (Signer, error)
}

// Signer signs a repository's indexes.
type Signer interface {
	Clearsign(data []byte) ([]byte, error) // InRelease
	Detach(data []byte) ([]byte, error)    // Release.gpg
	PublicKey() ([]byte, error)            // armored, for clients' signed-by
}

// Signers makes Env.NewSigner of a constructor of a concrete signer
// (store.Signers(pgp.NewSigner)).
func Signers[S Signer](newSigner func(armored, passphrase []byte) (S, error)) func(armored, passphrase []byte) (Signer, error) {
	return func(armored, passphrase []byte) (Signer, error) {
		s, err := newSigner(armored, passphrase)
		if err != nil {
			return nil, err // not a nil S in a Signer
		}
		return s, nil
	}
}

// makers is the one table of store implementations, one for each type of
// storetype's table (TestEveryStoreTypeHasAnImplementation).
var makers = map[string]func(s config.StoreConfig, e Env) (Store, error){
	"apt-dir":  newAptDir,
	"aptly":    newAptly,
	"registry": newRegistry,
	"oci-dir":  newOCIDir,
	"pypi":     newPyPI,
	"pypi-dir": newPyPIDir,
}

// New makes the store a configuration names.
func New(s config.StoreConfig, e Env) (Store, error) {
	newStore, ok := makers[s.Type]
	if !ok {
		return nil, fmt.Errorf("store %q: unknown type %q (valid: %s)", s.Name, s.Type, strings.Join(storetype.Names(), ", "))
	}
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.Log == nil {
		e.Log = func(string, ...any) {}
	}
	if e.Mask == nil {
		e.Mask = func(string) {}
	}
	return newStore(s, e)
}

// secret reads a variable the configuration names, and masks it.
func (e Env) secret(key, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	v := e.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("%s names $%s, which is not set", key, name)
	}
	e.Mask(v)
	return v, nil
}

// Existing asks the store sc, of the project in dir, what it holds of pkg,
// reading no signing key: what version.revision_from reads (e.Existing is
// a storeask.Existing).
func (e Env) Existing(ctx context.Context, sc config.StoreConfig, dir, pkg string) ([]Release, error) {
	e.Config = &config.Config{Dir: dir}
	e.Config.Project.Name = pkg
	e.ReadOnly = true
	st, err := New(sc, e)
	if err != nil {
		return nil, err
	}
	return st.Existing(ctx, pkg)
}

// client makes the store's HTTP client: timeouts, retries, TLS as configured.
func (e Env) client(s config.StoreConfig, host string) (*http.Client, error) {
	timeout, err := time.ParseDuration(s.Timeout)
	if err != nil {
		return nil, fmt.Errorf("store %s: timeout %q: %w", s.Name, s.Timeout, err)
	}
	o := httpx.Options{Timeout: timeout, Retries: s.Retries, CAFile: s.CAFile, Log: e.Log}
	if s.InsecureSkipVerify {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		o.InsecureHost = host
	}
	if o.CAFile != "" {
		o.CAFile = e.Config.Path(o.CAFile)
	}
	return httpx.New(o)
}

// conflict is the error of a different artifact under an existing version.
func conflict(store, what, have, want string) error {
	return fmt.Errorf("store %s already holds %s with sha256 %s, and this artifact is %s: versions are immutable; take the next revision (gopythongo-version --revision-from %s --artifact-sha256 %s, then package and publish again) or pass --overwrite to replace it", store, what, have, want, store, want)
}
