package testrun

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJUnitRoundTrip(t *testing.T) {
	cases := []Case{
		{Name: "a", ClassName: "m.C", File: "t.py", Line: 3, Time: 0.5, Outcome: "passed"},
		{Name: "b <&>", ClassName: "m.C", Outcome: "failed", Message: "AssertionError: 1 != 2\nmore", Detail: "Traceback <here>"},
		{Name: "c", ClassName: "m.C", Outcome: "error", Message: "boom"},
		{Name: "d", ClassName: "m.C", Outcome: "skipped", Message: "later"},
	}
	p := filepath.Join(t.TempDir(), "r.xml")
	require.NoError(t, WriteJUnit(p, "unit", cases))
	got, err := readJUnitFile(p)
	require.NoError(t, err)
	require.Len(t, got, 4)
	assert.Equal(t, "t.py", got[0].File)
	assert.Equal(t, 3, got[0].Line)
	assert.Equal(t, "AssertionError: 1 != 2", got[1].Message)
	assert.Equal(t, "Traceback <here>", got[1].Detail)
	assert.Equal(t, Counts{Tests: 4, Failures: 1, Errors: 1, Skipped: 1, Time: 0.5}, Count(got))
	_, err = ReadJUnit(strings.NewReader("not xml"))
	assert.Error(t, err)
}
