package python

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProbeSaysWhatIsWrong: a program that is no Python, one that fails
// and a name that is nowhere each get a message naming the setting to fix,
// never the probe script or a JSON decoder's complaint.
func TestProbeSaysWhatIsWrong(t *testing.T) {
	chatty := filepath.Join(t.TempDir(), "chatty")
	require.NoError(t, os.WriteFile(chatty, []byte("#!/bin/sh\necho hello there\n"), 0o755))
	for _, tc := range []struct {
		path string
		want string
	}{
		{"/bin/true", "/bin/true is no Python interpreter: asked what it is, it printed nothing"},
		{chatty, `it printed "hello there\n"`},
		{"/bin/false", "/bin/false does not run"},
		{"python3.99", `"python3.99" is not found`},
	} {
		_, err := Probe(context.Background(), nil, tc.path)
		require.Error(t, err, tc.path)
		assert.ErrorIs(t, err, ErrNoInterpreter)
		assert.Contains(t, err.Error(), tc.want)
		assert.Contains(t, err.Error(), "project.python")
		assert.NotContains(t, err.Error(), "import ", "the probe script is not shown")
		assert.NotContains(t, err.Error(), "JSON")
	}
	assert.Equal(t, "python3 -I -c …", CommandLine([]string{"python3", "-I", "-c", "import sys\nprint(1)"}))
}
