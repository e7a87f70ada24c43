package state

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/fileread"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	dist := filepath.Join(t.TempDir(), "dist")
	s := &State{
		Commit:  Commit{SHA: "abc123", Branch: "develop", Provider: "local", Time: 1700000000},
		Version: &Version{SemVer: "1.3.0-dev.4", PEP440: "1.3.0.dev4", Debian: "1.3.0~dev4-1", OCITag: "1.3.0-dev.4", Channel: "dev"},
	}
	require.NoError(t, s.Save(dist))
	got, err := Load(dist)
	require.NoError(t, err)
	assert.Equal(t, Schema, got.Schema)
	assert.Equal(t, s.Commit, got.Commit)
	assert.Equal(t, *s.Version, *got.Version)
	entries, _ := os.ReadDir(dist)
	require.Len(t, entries, 1, "no temporary files are left behind")
}

func TestSaveLeavesAnIdenticalStateFileAsItIs(t *testing.T) {
	dist := t.TempDir()
	s := &State{Commit: Commit{SHA: "abc123", Branch: "main", Time: 1700000000}}
	require.NoError(t, s.Save(dist))
	first, err := os.Stat(Path(dist))
	require.NoError(t, err)

	require.NoError(t, s.Save(dist))
	again, err := os.Stat(Path(dist))
	require.NoError(t, err)
	assert.True(t, os.SameFile(first, again), "the same state is not written again")

	s.Commit.SHA = "def456"
	require.NoError(t, s.Save(dist))
	changed, err := os.Stat(Path(dist))
	require.NoError(t, err)
	assert.False(t, os.SameFile(first, changed), "another state replaces the file")
	got, err := Load(dist)
	require.NoError(t, err)
	assert.Equal(t, "def456", got.Commit.SHA)

	// A link in its place is replaced, not kept because it points at the
	// same bytes.
	elsewhere := filepath.Join(t.TempDir(), "other.json")
	data, err := os.ReadFile(Path(dist))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(elsewhere, data, 0o644))
	require.NoError(t, os.Remove(Path(dist)))
	require.NoError(t, os.Symlink(elsewhere, Path(dist)))
	require.NoError(t, s.Save(dist))
	fi, err := os.Lstat(Path(dist))
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular())
	entries, _ := os.ReadDir(dist)
	assert.Len(t, entries, 1, "no temporary files are left behind")
}

func TestLoadRefusesWhatIsNoStateFile(t *testing.T) {
	fifo := t.TempDir()
	require.NoError(t, syscall.Mkfifo(Path(fifo), 0o644))
	done := make(chan error, 1)
	go func() { _, err := Load(fifo); done <- err }()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, fileread.ErrNotRegular)
		assert.ErrorContains(t, err, "run gopythongo-version again")
	case <-time.After(10 * time.Second):
		t.Fatal("Load waits on a pipe in place of the state file")
	}

	large := t.TempDir()
	f, err := os.Create(Path(large))
	require.NoError(t, err)
	require.NoError(t, f.Truncate(MaxSize+1))
	require.NoError(t, f.Close())
	_, err = Load(large)
	assert.ErrorIs(t, err, fileread.ErrTooLarge)
}

func TestLoadErrors(t *testing.T) {
	dist := t.TempDir()
	_, err := Load(dist)
	require.ErrorIs(t, err, ErrMissing)
	assert.Contains(t, err.Error(), "run gopythongo-version first")

	require.NoError(t, os.WriteFile(Path(dist), []byte("{not json"), 0o644))
	_, err = Load(dist)
	assert.ErrorContains(t, err, "is not a valid state file")

	require.NoError(t, os.WriteFile(Path(dist), []byte(`{"schema": 9}`), 0o644))
	_, err = Load(dist)
	assert.ErrorContains(t, err, "has schema 9, this GoPythonGo reads schema 1")
}

func TestCheckCommit(t *testing.T) {
	s := &State{Commit: Commit{SHA: "1111111111aaaa"}}
	assert.NoError(t, s.CheckCommit("1111111111aaaa", false))
	err := s.CheckCommit("2222222222bbbb", false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "made for commit 1111111111, but this is 2222222222")
	assert.Contains(t, err.Error(), "--force")
	assert.NoError(t, s.CheckCommit("2222222222bbbb", true))
}

func TestSourceDateEpoch(t *testing.T) {
	s := &State{Commit: Commit{Time: 1700000000}}
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	ts, err := s.SourceDateEpoch(get)
	require.NoError(t, err)
	assert.Equal(t, time.Unix(1700000000, 0).UTC(), ts)
	env["SOURCE_DATE_EPOCH"] = "42"
	ts, err = s.SourceDateEpoch(get)
	require.NoError(t, err)
	assert.Equal(t, int64(42), ts.Unix())
	env["SOURCE_DATE_EPOCH"] = "yesterday"
	_, err = s.SourceDateEpoch(get)
	assert.ErrorContains(t, err, "not a number of seconds")
}

func TestWriteFileAtomicFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	// A non-empty directory under the target name makes the final rename fail.
	target := filepath.Join(dir, "f")
	require.NoError(t, os.MkdirAll(filepath.Join(target, "x"), 0o755))
	require.Error(t, WriteFileAtomic(target, []byte("new"), 0o644))
	entries, _ := os.ReadDir(dir)
	require.Len(t, entries, 1, "the temporary file is removed")
	assert.True(t, entries[0].IsDir())
}
