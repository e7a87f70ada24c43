package venv

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/fixture"
	"github.com/gopythongo/gopythongo/internal/rootfs"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

// TestRootCache runs the chroot builder's root cache with a bootstrap that
// unpacks the fixture's Debian root (mmdebstrap itself makes the test roots):
// run_after_create runs inside the root once, the key ignores the order of
// packages, update makes a new generation and drops the old tree, and a
// failing command leaves nothing behind.
func TestRootCache(t *testing.T) {
	ctx := context.Background()
	base, err := fixture.DebianRoot(ctx, testutil.FixtureDir())
	require.NoError(t, err)
	var boots atomic.Int32
	dir := t.TempDir()
	cache := rootfs.Cache{Dir: dir, Run: runInRoot(t.TempDir()), Bootstrap: func(ctx context.Context, s rootfs.Spec, tree string, log io.Writer) (string, error) {
		boots.Add(1)
		return "fixture", rootfs.Unpack(ctx, base, tree)
	}}
	spec := rootfs.Spec{Distribution: "bookworm", Architecture: "amd64", Mirror: "http://deb.debian.org/debian", Variant: "minbase",
		Install:        []string{"python3", "passwd"},
		RunAfterCreate: [][]string{{"touch", "/etc/gopythongo-made"}, {"dpkg-query", "--show", "python3"}}}

	// Two builds at once: one makes the root, the other waits and takes it.
	var first, twin rootfs.Root
	var firstErr, twinErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); first, firstErr = cache.Ensure(ctx, spec, false) }()
	go func() { defer wg.Done(); twin, twinErr = cache.Ensure(ctx, spec, false) }()
	wg.Wait()
	require.NoError(t, firstErr)
	require.NoError(t, twinErr)
	if twin.Created {
		first, twin = twin, first
	}
	assert.True(t, first.Created)
	assert.False(t, twin.Created)
	assert.Equal(t, first.Tree, twin.Tree)
	assert.Equal(t, int32(1), boots.Load())
	assert.FileExists(t, filepath.Join(first.Tree, "etc", "gopythongo-made"), "run_after_create ran inside the root")
	assert.NoFileExists(t, "/etc/gopythongo-made", "and not on this machine")
	list, err := exec.Command("tar", "-tf", first.Tarball).Output()
	require.NoError(t, err)
	assert.Contains(t, string(list), "./etc/gopythongo-made\n")

	again := spec
	again.Install = []string{"passwd", "python3", "python3"}
	second, err := cache.Ensure(ctx, again, false)
	require.NoError(t, err)
	assert.False(t, second.Created)
	assert.Equal(t, int32(1), boots.Load(), "the same inputs in another order: the cached root")
	assert.Equal(t, first.Tree, second.Tree)

	updated, err := cache.Ensure(ctx, spec, true)
	require.NoError(t, err)
	assert.True(t, updated.Created)
	assert.Equal(t, int32(2), boots.Load())
	assert.NotEqual(t, first.Tree, updated.Tree)
	assert.DirExists(t, updated.Tree)
	assert.DirExists(t, first.Tree, "the old generation stays while builds run on it")
	first.Release()
	twin.Release()
	second.Release()
	later, err := cache.Ensure(ctx, spec, false)
	require.NoError(t, err)
	assert.Equal(t, updated.Tree, later.Tree)
	assert.NoDirExists(t, first.Tree, "and goes once none does")
	later.Release()
	updated.Release()

	// A tarball restored onto a fresh machine is unpacked on first use.
	require.NoError(t, os.RemoveAll(updated.Tree))
	restored, err := cache.Ensure(ctx, spec, false)
	require.NoError(t, err)
	assert.False(t, restored.Created)
	assert.FileExists(t, filepath.Join(restored.Tree, "etc", "gopythongo-made"))
	restored.Release()

	bad := spec
	bad.RunAfterCreate = [][]string{{"false"}}
	_, err = cache.Ensure(ctx, bad, false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "venv.chroot.run_after_create false")
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".lock") {
			names = append(names, e.Name())
		}
	}
	assert.Len(t, names, 3, "one tarball, its description and its tree; nothing of the failed root: %v", names)
}
