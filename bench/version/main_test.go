package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The generator makes the history the benchmark claims: a tag and a merge per
// 20 commits, the last 100 release and hotfix branches, an untagged line.
func TestGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	require.NoError(t, generate(dir, 4000))
	tags := strings.Fields(git(dir, "tag"))
	assert.Len(t, tags, 200+1)
	branches := strings.Fields(git(dir, "for-each-ref", "--format=%(refname:short)", "refs/heads/release", "refs/heads/hotfix"))
	assert.Len(t, branches, 100)
	assert.Equal(t, "v0.0.1", strings.TrimSpace(git(dir, "describe", "--tags", "--abbrev=0", "legacy")))
	assert.Equal(t, "6004", strings.TrimSpace(git(dir, "rev-list", "--count", "--all")), "the root, 2000 untagged, 200 cycles of 20, 3 after the last")
	for _, c := range cases(dir) {
		assert.NotEmpty(t, c.rev, c.name)
	}
}
