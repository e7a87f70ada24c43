package version

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTagRevisionSpellings: a release tag with a package revision means what
// a Debian user reads in it, and spellings that mean opposite things to
// Debian and PEP 440 are refused with both readings named.
func TestTagRevisionSpellings(t *testing.T) {
	for _, tt := range []struct {
		tag    string
		debian string
		pep440 string
		err    string
	}{
		{tag: "1.2.3-1", debian: "1.2.3-1", pep440: "1.2.3"},
		{tag: "v1.2.3-2", debian: "1.2.3-2", pep440: "1.2.3.post1"},
		{tag: "1.2.3.post1", debian: "1.2.3-2", pep440: "1.2.3.post1"},
		{tag: "1.2.3-0", err: "PEP 440's post-release 0"},
		{tag: "1.2.3.post0", err: "post-release 0 cannot be told apart"},
		{tag: "1.2.3-post", err: "post-release 0 cannot be told apart"},
		{tag: "v1.2.3.rev0", err: "post-release 0 cannot be told apart"},
	} {
		v, err := ParseTag(tt.tag)
		if tt.err != "" {
			require.Error(t, err, tt.tag)
			assert.Contains(t, err.Error(), tt.err, tt.tag)
			continue
		}
		require.NoError(t, err, tt.tag)
		r := v.Render()
		assert.Equal(t, tt.debian, r.Debian, tt.tag)
		assert.Equal(t, tt.pep440, r.PEP440, tt.tag)
	}
}
