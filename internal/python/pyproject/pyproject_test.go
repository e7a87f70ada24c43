package pyproject

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"hello": true, "Hello_World-2.0": true, "a": true, "9lives": true,
		"": false, "-hello": false, "hello.": false, "hel lo": false, "héllo": false, "../x": false,
	} {
		assert.Equal(t, want, ValidName(name), "%q", name)
	}
}

func TestDecode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pyproject.toml")
	var py struct {
		Project struct{ Name string } `toml:"project"`
	}
	require.ErrorIs(t, Decode(p, &py), fs.ErrNotExist)
	require.NoError(t, os.WriteFile(p, []byte("[project]\nname = \"hello\"\n"), 0o644))
	require.NoError(t, Decode(p, &py))
	assert.Equal(t, "hello", py.Project.Name)
	require.NoError(t, os.WriteFile(p, []byte("[project\n"), 0o644))
	assert.ErrorContains(t, Decode(p, &py), p, "a syntax error names the file")
}
