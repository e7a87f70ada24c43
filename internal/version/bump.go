package version

import "fmt"

// Part names what Bump increments.
type Part string

// The parts Bump understands.
const (
	PartMajor    Part = "major"
	PartMinor    Part = "minor"
	PartPatch    Part = "patch"
	PartRevision Part = "revision"
)

// Bump returns the next version for part. Like npm's semver and unlike
// Masterminds' IncMinor, bumping a pre-release whose lower numbers are already zero
// releases it: minor of 1.3.0-rc.1 is 1.3.0, patch of 1.2.4-dev.3 is 1.2.4.
// Major, minor and patch drop the pre-release, post-release, build metadata and
// revision. Revision increments the package revision (Debian -N, PEP 440 .postN,
// OCI _rev.N) and keeps everything else.
func Bump(v Version, part Part) (Version, error) {
	pre := v.Pre != nil
	next := v.Core()
	switch part {
	case PartMajor:
		if !(pre && v.Minor == 0 && v.Patch == 0) {
			next.Major, next.Minor, next.Patch = v.Major+1, 0, 0
		}
	case PartMinor:
		if !(pre && v.Patch == 0) {
			next.Minor, next.Patch = v.Minor+1, 0
		}
	case PartPatch:
		if !pre {
			next.Patch = v.Patch + 1
		}
	case PartRevision:
		v.Revision = v.rev() + 1
		return v, nil
	default:
		return Version{}, fmt.Errorf("unknown part %q to bump (valid: major, minor, patch, revision)", part)
	}
	return next, nil
}
