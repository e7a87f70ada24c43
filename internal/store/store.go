// Package store holds the places artifacts are published to (apt repositories,
// registries, package indexes). Each can say what it already holds, so that a
// rerun publishes nothing twice and never overwrites a different artifact.
package store

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/httpx"
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

// kind is a store implementation: how it is made, what it takes, how it
// spells versions, and what its configuration must hold.
type kind struct {
	new      func(s config.StoreConfig, e Env) (Store, error)
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

// kinds is the one table of store implementations, by type name.
var kinds = map[string]kind{
	"apt-dir":  {new: newAptDir, accepts: []state.Format{state.FormatDeb}, versions: version.FormatDebian, hint: debHint, needs: needsPath},
	"aptly":    {new: newAptly, accepts: []state.Format{state.FormatDeb}, versions: version.FormatDebian, hint: debHint, needs: needsURL("its API, e.g. http://127.0.0.1:8080")},
	"registry": {new: newRegistry, accepts: []state.Format{state.FormatOCI}, versions: version.FormatOCI, hint: ociHint, needs: needsRepository},
	"oci-dir":  {new: newOCIDir, accepts: []state.Format{state.FormatOCI}, versions: version.FormatOCI, hint: ociHint, needs: needsPath},
	"pypi":     {new: newPyPI, accepts: []state.Format{state.FormatWheel, state.FormatSdist}, versions: version.FormatPEP440, hint: distsHint, needs: needsURL("the upload endpoint, e.g. https://upload.pypi.org/legacy/")},
	"pypi-dir": {new: newPyPIDir, accepts: []state.Format{state.FormatWheel, state.FormatSdist}, versions: version.FormatPEP440, hint: distsHint, needs: needsPath},
}

// Accepts reports whether a store type takes artifacts of a format.
func Accepts(storeType string, f state.Format) bool {
	return slices.Contains(kinds[storeType].accepts, f)
}

// VersionFormat is the rendering of a store type's versions.
func VersionFormat(storeType string) version.Format { return kinds[storeType].versions }

// Hint says how to make what a store type takes.
func Hint(storeType string) string { return kinds[storeType].hint }

// New makes the store a configuration names.
func New(s config.StoreConfig, e Env) (Store, error) {
	k, ok := kinds[s.Type]
	if !ok {
		return nil, fmt.Errorf("store %q: unknown type %q (valid: %s)", s.Name, s.Type, strings.Join(slices.Sorted(maps.Keys(kinds)), ", "))
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
	return k.new(s, e)
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
