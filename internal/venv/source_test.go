package venv

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/testutil"
)

// TestSourceFilesLeaveOutTheDistDirectory lists a project's source in git
// (with dist/ not ignored, so that git's search for untracked files would go
// through the last build's tree) and outside git: nothing of the dist
// directory, of .egg-info or of the directories no source is in, and the
// same hash both ways.
func TestSourceFilesLeaveOutTheDistDirectory(t *testing.T) {
	t.Parallel()
	want := []string{".gitignore", "[weird] name*.py", "pkg/__init__.py", "pyproject.toml"}
	write := func(dir string) {
		for _, f := range append(want, "dist/root/opt/app/lib/x.py", "dist/gopythongo.json", "pkg.egg-info/PKG-INFO",
			"build/lib/pkg/__init__.py", "pkg/__pycache__/x.pyc") {
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644))
		}
	}
	r := testutil.NewGitRepo(t)
	write(r.Dir)
	require.NoError(t, os.WriteFile(filepath.Join(r.Dir, ".gitignore"), []byte("__pycache__/\n*.egg-info/\nbuild/\n"), 0o644))
	r.Git("add", ".gitignore", "pyproject.toml")
	r.Commit("tracked, the rest untracked")
	plain := t.TempDir()
	write(plain)
	require.NoError(t, os.WriteFile(filepath.Join(plain, ".gitignore"), []byte("__pycache__/\n*.egg-info/\nbuild/\n"), 0o644))

	var hashes []string
	for _, dir := range []string{r.Dir, plain} {
		files, err := sourceFiles(context.Background(), dir, filepath.Join(dir, "dist"))
		require.NoError(t, err)
		assert.Equal(t, want, files, dir)
		h, err := hashSource(dir, files)
		require.NoError(t, err)
		hashes = append(hashes, h)
	}
	assert.Equal(t, hashes[0], hashes[1], "git and the walk give the same source")
}
