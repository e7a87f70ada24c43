package pack

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/state"
)

// CycloneDX 1.5, the parts GoPythonGo fills.
type bom struct {
	BOMFormat    string      `json:"bomFormat"`
	SpecVersion  string      `json:"specVersion"`
	SerialNumber string      `json:"serialNumber"`
	Version      int         `json:"version"`
	Metadata     bomMetadata `json:"metadata"`
	Components   []component `json:"components"`
}

type bomMetadata struct {
	Timestamp string    `json:"timestamp"`
	Tools     bomTools  `json:"tools"`
	Component component `json:"component"`
}

type bomTools struct {
	Components []component `json:"components"`
}

type component struct {
	Type     string       `json:"type"`
	BOMRef   string       `json:"bom-ref,omitempty"`
	Name     string       `json:"name"`
	Version  string       `json:"version,omitempty"`
	PURL     string       `json:"purl,omitempty"`
	Licenses []bomLicense `json:"licenses,omitempty"`
	Hashes   []bomHash    `json:"hashes,omitempty"`
}

type bomLicense struct {
	License bomLicenseID `json:"license"`
}

type bomLicenseID struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

type bomHash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

// spdxIDs are licence identifiers CycloneDX takes as ids; others go as names.
var spdxIDs = map[string]bool{"MIT": true, "ISC": true, "Apache-2.0": true, "BSD-3-Clause": true, "BSD-2-Clause": true,
	"GPL-2.0": true, "GPL-3.0": true, "LGPL-2.1": true, "LGPL-3.0": true, "MPL-2.0": true, "PSF-2.0": true}

func licenses(l string) []bomLicense {
	l = spdx(l)
	switch {
	case l == "":
		return nil
	case spdxIDs[l]:
		return []bomLicense{{License: bomLicenseID{ID: l}}}
	}
	return []bomLicense{{License: bomLicenseID{Name: l}}}
}

// SBOM writes the CycloneDX JSON of the Python distributions in an artifact.
// Everything in it comes from the inputs, the time from SOURCE_DATE_EPOCH, and
// the serial number from the artifact's hash: the same artifact, the same SBOM.
func SBOM(m *Meta, art state.Artifact) ([]byte, error) {
	sum := sha256.Sum256([]byte(art.SHA256 + art.Path))
	b := bom{
		BOMFormat: "CycloneDX", SpecVersion: "1.5", Version: 1,
		SerialNumber: fmt.Sprintf("urn:uuid:%x-%x-5%x-a%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16]),
		Metadata: bomMetadata{
			Timestamp: m.Epoch.UTC().Format("2006-01-02T15:04:05Z"),
			Tools:     bomTools{Components: []component{{Type: "application", Name: "gopythongo"}}},
			Component: component{Type: "application", BOMRef: m.Name, Name: m.Name, Version: m.Version.SemVer,
				Licenses: licenses(m.License), Hashes: []bomHash{{Alg: "SHA-256", Content: strings.TrimPrefix(art.SHA256, "sha256:")}}},
		},
		Components: []component{},
	}
	for _, d := range m.Venv.Distributions {
		c := component{Type: "library", Name: d.Name, Version: d.Version, BOMRef: "pkg:pypi/" + python.Normalize(d.Name) + "@" + d.Version,
			PURL: "pkg:pypi/" + python.Normalize(d.Name) + "@" + d.Version, Licenses: licenses(d.License)}
		if d.SHA256 != "" {
			c.Hashes = []bomHash{{Alg: "SHA-256", Content: d.SHA256}}
		}
		b.Components = append(b.Components, c)
	}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
