package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/python"
)

// The generated wheels are real wheels of the sizes the benchmark claims.
func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	names, size, err := Generate(dir, 3, 1)
	require.NoError(t, err)
	assert.Len(t, names, 3)
	assert.Greater(t, size, int64(3*50<<10))
	files, _ := filepath.Glob(filepath.Join(dir, "*.whl"))
	require.Len(t, files, 3)
	for _, f := range files {
		m, err := python.WheelMetadata(f)
		require.NoError(t, err)
		assert.Equal(t, "MIT", m.License)
	}
}
