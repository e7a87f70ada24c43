package testutil

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// CycloneDXValidator is the Python of the venv make deps fills with
// CycloneDX's own library and its JSON schema validation.
func CycloneDXValidator() string {
	return filepath.Join(RepoRoot(), "dist", "tools", "cyclonedx", "bin", "python")
}

// ValidateCycloneDX holds each SBOM against the official CycloneDX 1.5 JSON
// schema with cyclonedx-python-lib's strict validator.
func ValidateCycloneDX(t testing.TB, files ...string) {
	t.Helper()
	script := `
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
v = JsonStrictValidator(SchemaVersion.V1_5)
bad = 0
for p in sys.argv[1:]:
    err = v.validate_str(open(p).read())
    if err is not None:
        print(p + ": " + str(err))
        bad += 1
sys.exit(1 if bad else 0)
`
	out, err := exec.Command(CycloneDXValidator(), append([]string{"-c", script}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("CycloneDX validation (make deps installs the validator into dist/tools): %v\n%s", err, strings.TrimSpace(string(out)))
	}
}
