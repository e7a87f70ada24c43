// Package state reads and writes dist/gopythongo.json, the file that carries what
// one step learned to the next, possibly on another CI agent.
package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gopythongo/gopythongo/internal/fileread"
)

// Schema is the version of the state file's format.
const Schema = 1

// FileName is the state file's name inside the dist directory.
const FileName = "gopythongo.json"

// MaxSize bounds the state file a step reads: it comes from an earlier
// stage, often as a CI artifact, and names a few dozen artifacts at most.
const MaxSize = 16 << 20

// State is the whole state file.
type State struct {
	Schema       int           `json:"schema"`
	Commit       Commit        `json:"commit"`
	Version      *Version      `json:"version,omitempty"`
	Venv         *Venv         `json:"venv,omitempty"`
	Artifacts    []Artifact    `json:"artifacts,omitempty"`
	Publications []Publication `json:"publications,omitempty"`
}

// DebCommitField is the control field in which GoPythonGo's .debs record
// their source commit, so that a store can tell a rebuild of the same commit.
const DebCommitField = "Gopythongo-Commit"

// Commit identifies what was built, and by which CI run.
type Commit struct {
	SHA         string `json:"sha"`
	Branch      string `json:"branch,omitempty"`
	Tag         string `json:"tag,omitempty"`
	PR          int    `json:"pr,omitempty"`
	PRSource    string `json:"pr_source,omitempty"`
	PRTarget    string `json:"pr_target,omitempty"`
	Provider    string `json:"provider"`
	BuildNumber string `json:"build_number,omitempty"`
	BuildURL    string `json:"build_url,omitempty"`
	SourceURL   string `json:"source_url,omitempty"`
	// Time is the commit time in Unix seconds: the default SOURCE_DATE_EPOCH.
	Time int64 `json:"time"`
}

// Version is what gopythongo-version computed.
type Version struct {
	SemVer   string `json:"semver"`
	PEP440   string `json:"pep440"`
	Debian   string `json:"debian"`
	OCITag   string `json:"oci_tag"`
	Channel  string `json:"channel"`
	Base     string `json:"base"`               // the version the rule started from
	Distance int    `json:"distance"`           // commits counted by the rule
	Source   string `json:"source"`             // git, pyproject, ...
	Rule     string `json:"rule"`               // the Git Flow rule applied, in words
	Revision int    `json:"revision,omitempty"` // the package revision
}

// Venv describes the built virtual environment.
type Venv struct {
	DeployPath    string         `json:"deploy_path"`
	Root          string         `json:"root"` // the staging tree, relative to the dist directory's parent
	Interpreter   Interpreter    `json:"interpreter"`
	Builder       string         `json:"builder"`
	Distributions []Distribution `json:"distributions"`
	Size          int64          `json:"size"`
	Files         int            `json:"files"`
	Digest        string         `json:"digest,omitempty"` // of the tree, for reproducibility checks
	// Target is the system an isolated builder (chroot, container) built in.
	Target *Target `json:"target,omitempty"`
	// Depends are the packages of the shared libraries the venv's compiled
	// code needs, as dpkg-shlibdeps finds them: zlib1g (>= 1:1.1.4).
	Depends []string `json:"depends,omitempty"`
}

// Target is the root or image a venv was built in.
type Target struct {
	Distribution string `json:"distribution,omitempty"`
	Architecture string `json:"architecture,omitempty"`
	Mirror       string `json:"mirror,omitempty"`
	// Key is the cached root's key, or the build image's ID.
	Key   string `json:"key,omitempty"`
	Image string `json:"image,omitempty"` // the container builder's build image
}

// Interpreter is the Python the venv was built with.
type Interpreter struct {
	Path           string `json:"path"`
	Executable     string `json:"executable"` // symlinks resolved
	Version        string `json:"version"`
	Implementation string `json:"implementation"`
	Package        string `json:"package,omitempty"` // the distribution package providing it, e.g. python3.11
}

// Distribution is one installed Python distribution.
type Distribution struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	SHA256    string `json:"sha256,omitempty"` // of the wheel installed
	License   string `json:"license,omitempty"`
	IsProject bool   `json:"project,omitempty"`
}

// Format is the kind of an artifact.
type Format string

// The artifact formats: what gopythongo-package and build-venv --dist-only make.
const (
	FormatDeb    Format = "deb"
	FormatRPM    Format = "rpm"
	FormatTarGz  Format = "tar.gz"
	FormatTarZst Format = "tar.zst"
	FormatTarXz  Format = "tar.xz"
	FormatOCI    Format = "oci"
	FormatWheel  Format = "wheel"
	FormatSdist  Format = "sdist"
)

// Artifact is one file (or image) made by gopythongo-package.
type Artifact struct {
	Path   string `json:"path"` // relative to the dist directory
	Format Format `json:"format"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Digest string `json:"digest,omitempty"` // OCI manifest digest
	Arch   string `json:"arch,omitempty"`
	// Tarball is the docker-load tarball of an OCI image, when one was made.
	Tarball string `json:"tarball,omitempty"`
	// SBOM is the CycloneDX file beside the artifact.
	SBOM string `json:"sbom,omitempty"`
}

// Publication records where an artifact went.
type Publication struct {
	Store     string   `json:"store"`
	Type      string   `json:"type"`
	Artifact  string   `json:"artifact"`
	Reference string   `json:"reference"` // a URL or image reference
	Digest    string   `json:"digest,omitempty"`
	Tags      []string `json:"tags,omitempty"`
	// Install is the command a user runs next, e.g. apt-get install hello=1.2.3-1.
	Install   string `json:"install,omitempty"`
	Unchanged bool   `json:"unchanged,omitempty"` // the identical artifact was already there
}

// SetArtifacts replaces the artifacts a step owns (those whose format owns
// says is its own) with arts, and forgets their publications; the artifacts
// of other steps stay.
func (s *State) SetArtifacts(owns func(Format) bool, arts []Artifact) {
	gone := map[string]bool{}
	var keep []Artifact
	for _, a := range s.Artifacts {
		if owns(a.Format) {
			gone[a.Path] = true
		} else {
			keep = append(keep, a)
		}
	}
	s.Artifacts = append(keep, arts...)
	var pubs []Publication
	for _, p := range s.Publications {
		if !gone[p.Artifact] {
			pubs = append(pubs, p)
		}
	}
	s.Publications = pubs
}

// Record adds a publication, replacing an earlier record of the same artifact
// in the same store.
func (s *State) Record(p Publication) {
	for i, q := range s.Publications {
		if q.Store == p.Store && q.Artifact == p.Artifact {
			s.Publications[i] = p
			return
		}
	}
	s.Publications = append(s.Publications, p)
}

// SourceDateEpoch is the time every timestamp of the artifacts uses: the
// SOURCE_DATE_EPOCH variable when set, else the commit time.
func (s *State) SourceDateEpoch(getenv func(string) string) (time.Time, error) {
	if v := getenv("SOURCE_DATE_EPOCH"); v != "" {
		var sec int64
		if _, err := fmt.Sscan(v, &sec); err != nil || sec < 0 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", v)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	return time.Unix(s.Commit.Time, 0).UTC(), nil
}

// Path is the state file in a dist directory.
func Path(dist string) string { return filepath.Join(dist, FileName) }

// ErrMissing means no state file exists yet.
var ErrMissing = errors.New("no state file")

// Load reads the state file of a dist directory.
func Load(dist string) (*State, error) {
	p := Path(dist)
	data, err := fileread.Read(p, MaxSize)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w; run gopythongo-version first (or hand the dist directory from the earlier stage to this one)", p, ErrMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w; delete it and run gopythongo-version again", err)
	}
	var s State
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s is not a valid state file: %w; delete it and run gopythongo-version again", p, err)
	}
	if s.Schema != Schema {
		return nil, fmt.Errorf("%s has schema %d, this GoPythonGo reads schema %d; run all steps with the same GoPythonGo version", p, s.Schema, Schema)
	}
	return &s, nil
}

// CheckCommit refuses a state file made for another commit, unless forced.
func (s *State) CheckCommit(sha string, force bool) error {
	if sha == "" || s.Commit.SHA == "" || s.Commit.SHA == sha || force {
		return nil
	}
	return fmt.Errorf("the state file was made for commit %s, but this is %s: run gopythongo-version again for this commit, or pass --force to use it anyway", ShortSHA(s.Commit.SHA), ShortSHA(sha))
}

// ShortSHA is a commit id as messages show it: its first 10 hex digits, as
// in the +g build metadata of versions.
func ShortSHA(sha string) string {
	if len(sha) > 10 {
		return sha[:10]
	}
	return sha
}

// Save writes the state file atomically: a temporary file in the same directory,
// then renamed over the old one.
func (s *State) Save(dist string) error {
	s.Schema = Schema
	data, err := s.encode()
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	data = append(data, '\n')
	p := Path(dist)
	// A run again on the same commit makes the same file: leave it as it
	// is rather than write it and rename it over itself (on ext4 that
	// rename starts writing the new file back: 0.25 ms, a twentieth of a
	// version run at a tag).
	if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && fi.Size() == int64(len(data)) {
		if old, err := fileread.Read(p, int64(len(data))); err == nil && bytes.Equal(old, data) {
			return nil
		}
	}
	return WriteFileAtomic(p, data, 0o644)
}

// WriteFileAtomic writes data to path through a temporary file and a rename, so
// that readers see the old file or the new one, never a part. It does not
// fsync: a CI workspace does not outlive a machine crash, and the sync costs
// more than the rest of a version run.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
