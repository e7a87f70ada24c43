package version

import (
	"strconv"
	"strings"
)

const maxOCITag = 128

// Renderings bundles the four strings of one version.
type Renderings struct {
	SemVer string `json:"semver"`
	PEP440 string `json:"pep440"`
	Debian string `json:"debian"`
	OCITag string `json:"oci_tag"`
}

// Render returns all four renderings.
func (v Version) Render() Renderings {
	return Renderings{SemVer: v.SemVer(), PEP440: v.PEP440(), Debian: v.Debian(), OCITag: v.OCITag()}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func (v Version) core() string {
	return itoa(v.Major) + "." + itoa(v.Minor) + "." + itoa(v.Patch)
}

// SemVer renders SemVer 2.0: 1.3.0-rc.1, 1.3.0-dev.42+g1a2b3c4d5e, 1.2.3+rev.2.
// SemVer has no epoch; it is dropped.
func (v Version) SemVer() string {
	s := v.core()
	if v.Pre != nil {
		s += "-" + v.semverPre()
	}
	var build []string
	if v.Post > 0 {
		build = append(build, "post", itoa(v.Post))
	}
	build = append(build, v.Build...)
	if r := v.rev(); r > 1 {
		build = append(build, "rev", strconv.Itoa(r))
	}
	if len(build) > 0 {
		s += "+" + strings.Join(build, ".")
	}
	return s
}

func (v Version) semverPre() string {
	p := v.Pre
	switch p.Label {
	case LabelFeature, LabelPR:
		return p.Label + "." + p.Name + "." + itoa(p.Number)
	default:
		return p.Label + "." + itoa(p.Number)
	}
}

// OCITag renders the SemVer string with "+" mapped to "_" (Helm's convention): tags
// allow no "+", and "-" would turn build metadata into a pre-release.
func (v Version) OCITag() string {
	return strings.ReplaceAll(v.SemVer(), "+", "_")
}

// PEP440 renders a canonical PEP 440 version: 1.3.0rc1, 1.3.0.dev42+g1a2b3c4d5e,
// 1.3.0.dev3+feature.login.page, 1.2.3.post1 (revision 2).
//
// Dev, feature and PR builds are all ".devN"; feature and PR names go into the local
// part, which PyPI refuses: such builds are for private indexes only.
func (v Version) PEP440() string {
	var b strings.Builder
	if v.Epoch > 0 {
		b.WriteString(strconv.Itoa(v.Epoch) + "!")
	}
	b.WriteString(v.core())
	var local []string
	devLike := false
	if p := v.Pre; p != nil {
		switch p.Label {
		case LabelAlpha:
			b.WriteString("a" + itoa(p.Number))
		case LabelBeta:
			b.WriteString("b" + itoa(p.Number))
		case LabelRC:
			b.WriteString("rc" + itoa(p.Number))
		case LabelDev:
			devLike = true
			b.WriteString(".dev" + itoa(p.Number))
		case LabelFeature:
			devLike = true
			b.WriteString(".dev" + itoa(p.Number))
			local = append(local, LabelFeature)
			local = append(local, strings.Split(p.Name, "-")...)
		case LabelPR:
			devLike = true
			b.WriteString(".dev" + itoa(p.Number))
			local = append(local, LabelPR, p.Name)
		}
	}
	r := v.rev()
	switch {
	case v.Post > 0:
		b.WriteString(".post" + itoa(v.Post))
	case r > 1 && !devLike:
		// The table of versions.md: revision 2 of 1.2.3 is 1.2.3.post1.
		b.WriteString(".post" + strconv.Itoa(r-1))
		r = 1
	}
	local = append(local, v.Build...)
	if r > 1 {
		// A ".postN" after ".devN" would mean a different version; the revision of a
		// dev build lives in the local part, which sorts it after the first.
		local = append(local, "rev", strconv.Itoa(r))
	}
	if len(local) > 0 {
		b.WriteString("+" + strings.Join(local, "."))
	}
	return b.String()
}

// Debian renders a Debian version, always with a revision: 1.2.3-1, 1.3.0~rc1-1,
// 1.3.0~dev42+g1a2b3c4d5e-1, 1.3.0~feature.login.page.3-1, 1.3.0~pr123.5-1, 1:2.0.0-1.
// "~" sorts before everything, so pre-releases sort before their release.
func (v Version) Debian() string {
	var b strings.Builder
	if v.Epoch > 0 {
		b.WriteString(strconv.Itoa(v.Epoch) + ":")
	}
	b.WriteString(v.core())
	if p := v.Pre; p != nil {
		b.WriteByte('~')
		switch p.Label {
		case LabelFeature:
			b.WriteString(LabelFeature + "." + strings.ReplaceAll(p.Name, "-", ".") + "." + itoa(p.Number))
		case LabelPR:
			b.WriteString(LabelPR + p.Name + "." + itoa(p.Number))
		default:
			b.WriteString(p.Label + itoa(p.Number))
		}
	}
	if v.Post > 0 {
		b.WriteString("+post" + itoa(v.Post))
	}
	if len(v.Build) > 0 {
		b.WriteString("+" + strings.Join(v.Build, "."))
	}
	b.WriteString("-" + strconv.Itoa(v.rev()))
	return b.String()
}

// In renders v in format f; FormatTag renders SemVer.
func (v Version) In(f Format) string {
	switch f {
	case FormatPEP440:
		return v.PEP440()
	case FormatDebian:
		return v.Debian()
	case FormatOCI:
		return v.OCITag()
	}
	return v.SemVer()
}
