// Package lazy makes values on first use, so that a run that never needs one
// does not pay for it at start-up (every step's start counts: the version
// step runs in about the time git describe does).
package lazy

import (
	"regexp"
	"sync"
)

// Regexp compiles expr on first use; it panics, as regexp.MustCompile does,
// if expr is invalid.
func Regexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
