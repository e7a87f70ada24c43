package pack

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gopythongo/gopythongo/internal/fileread"
	"github.com/gopythongo/gopythongo/internal/state"
)

// LayerCacheDir is where, in the cache directory, the listings of base image
// layers are kept.
const LayerCacheDir = "oci-layers"

// maxListing bounds a cached listing (Debian's largest images list a few
// hundred thousand entries, some tens of MiB).
const maxListing = 256 << 20

// listing is a layer's entries as the cache keeps them: a pure function of
// the layer's digest, which names the file.
type listing struct {
	Schema  int            `json:"schema"`
	Digest  string         `json:"digest"`
	Entries []listingEntry `json:"entries"`
}

type listingEntry struct {
	Name string `json:"n"`
	Type byte   `json:"t"`
	Link string `json:"l,omitempty"`
}

// listLayer is layerEntries through the cache in dir ("": none). The
// listing of a layer is read once: gunzipping a base of 90 MB is most of an
// image's packing when the venv is small. On a hit the layer's compressed
// bytes are still hashed, because the check is also what verifies a base
// linked from a local layout; a listing that is not one (damaged, another
// schema, a name that climbs out) is read again from the layer.
func listLayer(l v1.Layer, total *atomic.Int64, dir string) ([]layerEntry, error) {
	digest, err := l.Digest()
	if err != nil {
		return nil, err
	}
	// The digest names a file: go-containerregistry's own parse holds it to
	// an algorithm and hex of its size, whatever made the layer.
	if _, err := v1.NewHash(digest.String()); dir == "" || digest.Algorithm != "sha256" || err != nil {
		return layerEntries(l, total)
	}
	file := filepath.Join(dir, digest.Hex+".json")
	if es, ok := readListing(file, digest.String()); ok {
		if err := verifyLayer(l, digest); err != nil {
			return nil, err
		}
		if total.Add(int64(len(es))) > maxImageEntries {
			return nil, fmt.Errorf("the image's file system has more than %d entries: a base image that large is not read", maxImageEntries)
		}
		return es, nil
	}
	es, err := layerEntries(l, total)
	if err != nil {
		return nil, err
	}
	// A cache that cannot be written costs the next run a gunzip, no more.
	_ = writeListing(dir, file, digest.String(), es)
	return es, nil
}

// readListing reads a cached listing; false when there is none to trust.
func readListing(file, digest string) ([]layerEntry, bool) {
	data, err := fileread.Read(file, maxListing)
	if err != nil {
		return nil, false
	}
	var li listing
	if err := json.Unmarshal(data, &li); err != nil || li.Schema != 1 || li.Digest != digest {
		return nil, false
	}
	es := make([]layerEntry, len(li.Entries))
	for i, e := range li.Entries {
		if e.Name == "" || path.Clean(e.Name) != e.Name || climbsOut(e.Name) {
			return nil, false
		}
		es[i] = layerEntry{name: e.Name, typeflag: e.Type, link: e.Link}
	}
	return es, true
}

func writeListing(dir, file, digest string, es []layerEntry) error {
	li := listing{Schema: 1, Digest: digest, Entries: make([]listingEntry, len(es))}
	for i, e := range es {
		li.Entries[i] = listingEntry{Name: e.name, Type: e.typeflag, Link: e.link}
	}
	data, err := json.Marshal(li)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return state.WriteFileAtomic(file, data, 0o644)
}

// verifyLayer hashes a layer's compressed bytes against its digest.
func verifyLayer(l v1.Layer, digest v1.Hash) error {
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, rc); err != nil {
		return fmt.Errorf("layer %s: %w", digest, err)
	}
	return checkDigest(digest, sum)
}

// checkDigest holds a layer's sha256, taken as it was read, to its digest.
func checkDigest(digest v1.Hash, sum hash.Hash) error {
	if got := hex.EncodeToString(sum.Sum(nil)); got != digest.Hex {
		return fmt.Errorf("layer %s of the base image is not what its digest says (sha256 %s): the image is damaged", digest, got)
	}
	return nil
}

// climbsOut reports whether a cleaned path in a layer leaves its root.
func climbsOut(name string) bool { return name == ".." || strings.HasPrefix(name, "../") }
