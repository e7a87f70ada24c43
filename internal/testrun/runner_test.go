package testrun

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnknownRunnerNamesTheChoices(t *testing.T) {
	_, err := RunnerFor("nose")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown test runner "nose" (valid: custom, pytest, unittest)`)
}
