package lazy

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRegexpCompilesOnceOnFirstUse(t *testing.T) {
	re := Regexp(`^a+$`)
	assert.True(t, re().MatchString("aaa"))
	assert.Same(t, re(), re(), "compiled once")
	bad := Regexp(`(`)
	assert.Panics(t, func() { bad() }, "an invalid expression fails where it is first used")
}
