package version

import "strings"

// Compare orders two versions: -1 if a < b, 0 if equal, +1 if a > b.
//
// The order is the one Debian and SemVer agree on, and PEP 440 too for everything
// but these documented cases:
//   - pre-release labels sort alphabetically: alpha < beta < dev < feature < pr < rc.
//     PEP 440 puts ".devN" below "aN" and "bN", so 1.3.0-dev.5 > 1.3.0-alpha.1 here
//     and in Debian and SemVer, but not in PEP 440. Avoid mixing dev builds with
//     alpha and beta tags of the same release.
//   - feature and pull request builds are all ".devN" in PEP 440, their names in the
//     local part; they do not sort against each other there.
//   - build metadata (the commit id, "dirty") takes no part in the order, as in
//     SemVer; Debian and PEP 440 compare it as text.
//   - a post-release (untagged main) and a package revision both become ".postN" in
//     PEP 440; do not mix the two for one release.
//
// SemVer and OCI have no epoch and no revision; the model compares both.
func Compare(a, b Version) int {
	if c := cmpInt(a.Epoch, b.Epoch); c != 0 {
		return c
	}
	if c := cmpCore(a, b); c != 0 {
		return c
	}
	if c := cmpPre(a.Pre, b.Pre); c != 0 {
		return c
	}
	if c := cmpU(a.Post, b.Post); c != 0 {
		return c
	}
	return cmpInt(a.rev(), b.rev())
}

// Less reports whether a sorts before b.
func Less(a, b Version) bool { return Compare(a, b) < 0 }

func cmpCore(a, b Version) int {
	if c := cmpU(a.Major, b.Major); c != 0 {
		return c
	}
	if c := cmpU(a.Minor, b.Minor); c != 0 {
		return c
	}
	return cmpU(a.Patch, b.Patch)
}

func cmpPre(a, b *Pre) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	if c := strings.Compare(a.Label, b.Label); c != 0 {
		return c
	}
	if c := cmpName(a.Name, b.Name); c != 0 {
		return c
	}
	return cmpU(a.Number, b.Number)
}

// cmpName compares pull request numbers as numbers and feature slugs as text.
func cmpName(a, b string) int {
	if isDigits(a) && isDigits(b) {
		if c := cmpInt(len(a), len(b)); c != 0 {
			return c
		}
	}
	return strings.Compare(a, b)
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Max returns the highest of vs by Compare; ok is false when vs is empty.
func Max(vs []Version) (max Version, ok bool) {
	for i, v := range vs {
		if i == 0 || Compare(v, max) > 0 {
			max = v
		}
	}
	return max, len(vs) > 0
}
