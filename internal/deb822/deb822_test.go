package deb822

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAndWrite(t *testing.T) {
	in := "Package: hello\nVersion: 1.0-1\nDescription: short\n long line\n .\n more\n\n\nPackage: other\nversion: 2\n"
	ps, err := Parse(strings.NewReader(in))
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, "1.0-1", ps[0].Get("version"))
	assert.Equal(t, "2", ps[1].Get("Version"))
	assert.Equal(t, "short\nlong line\n.\nmore", ps[0].Get("Description"))
	var b strings.Builder
	require.NoError(t, ps[0].Write(&b))
	assert.Equal(t, "Package: hello\nVersion: 1.0-1\nDescription: short\n long line\n .\n more\n", b.String())
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{" leading continuation\n", "no colon here\n", ": empty name\n"} {
		_, err := Parse(strings.NewReader(in))
		assert.Error(t, err, in)
		assert.Contains(t, err.Error(), "line 1")
	}
}
