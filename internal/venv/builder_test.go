package venv

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnknownBuilderNamesTheChoices(t *testing.T) {
	_, err := NewBuilder("vagrant", BuilderOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `builder "vagrant" is not available in this GoPythonGo (available: chroot, container, host)`)
}
