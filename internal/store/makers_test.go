package store

import (
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gopythongo/gopythongo/internal/storetype"
)

// TestEveryStoreTypeHasAnImplementation: the implementations and the light
// table every step reads name the same types.
func TestEveryStoreTypeHasAnImplementation(t *testing.T) {
	assert.Equal(t, storetype.Names(), slices.Sorted(maps.Keys(makers)))
}
