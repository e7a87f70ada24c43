package pack

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/state"
)

// spdxIDs are licence identifiers CycloneDX takes as ids; others go as names.
var spdxIDs = map[string]bool{"MIT": true, "ISC": true, "Apache-2.0": true, "BSD-3-Clause": true, "BSD-2-Clause": true,
	"GPL-2.0": true, "GPL-3.0": true, "LGPL-2.1": true, "LGPL-3.0": true, "MPL-2.0": true, "PSF-2.0": true}

func licenses(l string) *cdx.Licenses {
	l = spdx(l)
	switch {
	case l == "":
		return nil
	case spdxIDs[l]:
		return &cdx.Licenses{{License: &cdx.License{ID: l}}}
	}
	return &cdx.Licenses{{License: &cdx.License{Name: l}}}
}

// serialNumber is a version 5 style UUID (RFC 9562: 8-4-4-4-12 hex digits,
// version and variant bits set) from the artifact's hash.
func serialNumber(art state.Artifact) string {
	sum := sha256.Sum256([]byte(art.SHA256 + art.Path))
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

// SBOM writes the CycloneDX JSON of the Python distributions in an artifact.
// Everything in it comes from the inputs, the time from SOURCE_DATE_EPOCH, and
// the serial number from the artifact's hash: the same artifact, the same SBOM.
func SBOM(m *Meta, art state.Artifact) ([]byte, error) {
	b := cdx.NewBOM()
	b.SerialNumber = serialNumber(art)
	b.Metadata = &cdx.Metadata{
		Timestamp: m.Epoch.UTC().Format("2006-01-02T15:04:05Z"),
		Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: "gopythongo"}}},
		Component: &cdx.Component{Type: cdx.ComponentTypeApplication, BOMRef: m.Name, Name: m.Name, Version: m.Version.SemVer,
			Licenses: licenses(m.License), Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: strings.TrimPrefix(art.SHA256, "sha256:")}}},
	}
	comps := []cdx.Component{}
	for _, d := range m.Venv.Distributions {
		purl := "pkg:pypi/" + python.Normalize(d.Name) + "@" + d.Version
		c := cdx.Component{Type: cdx.ComponentTypeLibrary, Name: d.Name, Version: d.Version, BOMRef: purl, PackageURL: purl, Licenses: licenses(d.License)}
		if d.SHA256 != "" {
			c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: d.SHA256}}
		}
		comps = append(comps, c)
	}
	b.Components = &comps
	var out bytes.Buffer
	if err := cdx.NewBOMEncoder(&out, cdx.BOMFileFormatJSON).SetPretty(true).EncodeVersion(b, cdx.SpecVersion1_5); err != nil {
		return nil, fmt.Errorf("write the SBOM: %w", err)
	}
	return out.Bytes(), nil
}
