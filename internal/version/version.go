// Package version is GoPythonGo's one model of a version and its four renderings
// (SemVer 2.0, PEP 440, Debian and OCI tag), with parsers for each, a lenient parser
// for tags people write, ordering and bump actions.
//
// Every rendering is computed from the model, never by editing another rendering, so
// that each is valid for its consumer and all sort the same way (see Compare for the
// documented exceptions).
package version

import (
	"fmt"
	"strconv"
	"strings"
)

// Channel is the Git Flow channel a build belongs to.
type Channel string

// The channels, from least to most stable. Post is the opt-in post-release of an
// untagged main branch.
const (
	ChannelPR      Channel = "pr"
	ChannelFeature Channel = "feature"
	ChannelDev     Channel = "dev"
	ChannelRC      Channel = "rc"
	ChannelPost    Channel = "post"
	ChannelRelease Channel = "release"
)

// Pre-release labels. Aliases people write (a, b, c, pre, preview, RC) are
// normalized to these by the parsers.
const (
	LabelAlpha   = "alpha"
	LabelBeta    = "beta"
	LabelRC      = "rc"
	LabelDev     = "dev"
	LabelFeature = "feature"
	LabelPR      = "pr"
)

// Version is the model all renderings come from.
type Version struct {
	// Epoch resets the ordering of a scheme (PEP 440 "N!", Debian "N:"). SemVer and
	// OCI tags have no epoch; they drop it.
	Epoch               int
	Major, Minor, Patch uint64
	// Pre is nil for a final release.
	Pre *Pre
	// Post counts the commits after a release on an untagged main branch (an
	// opt-in post-release); 0 means none.
	Post uint64
	// Build holds build metadata identifiers such as "g1a2b3c4d5e" and "dirty".
	// It takes no part in ordering.
	Build []string
	// Revision is the package revision: 0 and 1 both mean the first.
	Revision int
}

// Pre is a pre-release: a label, a name for feature and pull request builds, and a
// number (the RC number, or the commits counted for dev, feature and PR builds).
type Pre struct {
	Label  string
	Name   string
	Number uint64
}

// Channel derives the Git Flow channel from the model.
func (v Version) Channel() Channel {
	switch {
	case v.Pre == nil && v.Post > 0:
		return ChannelPost
	case v.Pre == nil:
		return ChannelRelease
	}
	switch v.Pre.Label {
	case LabelDev:
		return ChannelDev
	case LabelFeature:
		return ChannelFeature
	case LabelPR:
		return ChannelPR
	default:
		return ChannelRC
	}
}

// IsRelease reports whether v is a final release (no pre-release, no post-release).
func (v Version) IsRelease() bool { return v.Pre == nil && v.Post == 0 }

// Core returns v without pre-release, post-release, build metadata and revision.
func (v Version) Core() Version {
	return Version{Epoch: v.Epoch, Major: v.Major, Minor: v.Minor, Patch: v.Patch}
}

// WithoutRevision returns v with the first package revision.
func (v Version) WithoutRevision() Version {
	v.Revision = 0
	return v
}

// rev returns the package revision, 1 for the first.
func (v Version) rev() int {
	if v.Revision < 1 {
		return 1
	}
	return v.Revision
}

// Validate checks the model's invariants, so that every rendering is valid.
func (v Version) Validate() error {
	if v.Epoch < 0 {
		return fmt.Errorf("epoch %d is negative", v.Epoch)
	}
	if v.Revision < 0 {
		return fmt.Errorf("revision %d is negative", v.Revision)
	}
	if v.Pre != nil {
		if !isLower(v.Pre.Label) {
			return fmt.Errorf("pre-release label %q must be lowercase letters", v.Pre.Label)
		}
		switch v.Pre.Label {
		case LabelAlpha, LabelBeta, LabelRC, LabelDev:
			if v.Pre.Name != "" {
				return fmt.Errorf("pre-release label %q takes no name", v.Pre.Label)
			}
		case LabelFeature:
			if !isSlug(v.Pre.Name) {
				return fmt.Errorf("feature name %q is not a slug (lowercase letters, digits, single hyphens)", v.Pre.Name)
			}
		case LabelPR:
			if !isNumber(v.Pre.Name) {
				return fmt.Errorf("pull request number %q is not a number without leading zeros", v.Pre.Name)
			}
		default:
			return fmt.Errorf("pre-release label %q is not one of alpha, beta, rc, dev, feature, pr", v.Pre.Label)
		}
		if v.Post > 0 {
			return fmt.Errorf("a pre-release cannot also be a post-release")
		}
	}
	for _, b := range v.Build {
		if !isBuildIdent(b) {
			return fmt.Errorf("build metadata %q must be lowercase letters and digits", b)
		}
	}
	if n := len(v.OCITag()); n > maxOCITag {
		return fmt.Errorf("OCI tag is %d characters, more than %d", n, maxOCITag)
	}
	return nil
}

// String returns the SemVer rendering.
func (v Version) String() string { return v.SemVer() }

func isLower(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

func isNumber(s string) bool {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isBuildIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func u64(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }

func joinNonEmpty(sep string, parts ...string) string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
