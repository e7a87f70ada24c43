package gitread

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/gopythongo/gopythongo/internal/testutil"
)

// TestHostileRepositoryFilesAreRefusedNotWaitedOn: a pipe, or a file far
// larger than git ever writes, in place of one of the repository's own
// files is refused with an error that names it, never read (a pipe would
// hold the reader for ever); the index only makes QuickClean unsure, so
// that git is asked.
func TestHostileRepositoryFilesAreRefusedNotWaitedOn(t *testing.T) {
	use := func(dir string) (err error, clean, sure bool) {
		repo, err := Open(dir)
		if err != nil {
			return err, false, false
		}
		defer repo.Close()
		if _, _, err := repo.Head(); err != nil {
			return err, false, false
		}
		if _, err := repo.Refs("refs/"); err != nil {
			return err, false, false
		}
		clean, sure = repo.QuickClean()
		return nil, clean, sure
	}
	for _, tc := range []struct {
		file  string // below .git
		sized int64  // a sparse file of this size instead of a pipe
		want  string // in the error; "" for none
	}{
		{file: "HEAD", want: "HEAD is not a regular file"},
		{file: "HEAD", sized: maxRefFile + 1, want: "HEAD holds 65537 bytes, more than the 64 KiB"},
		{file: "refs/heads/hostile", want: "hostile is not a regular file"},
		{file: "packed-refs", want: "packed-refs is not a regular file"},
		{file: "config", want: "config is not a regular file"},
		{file: "commondir", want: "commondir is not a regular file"},
		{file: "shallow", want: "shallow is not a regular file"},
		{file: "objects/info/alternates", want: "alternates is not a regular file"},
		{file: "index"},
	} {
		r := testutil.NewGitRepo(t)
		r.Commit("root")
		r.Git("tag", "v1.0.0")
		r.Git("pack-refs", "--all")
		p := filepath.Join(r.Dir, ".git", filepath.FromSlash(tc.file))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.RemoveAll(p))
		if tc.sized > 0 {
			require.NoError(t, os.WriteFile(p, nil, 0o644))
			require.NoError(t, os.Truncate(p, tc.sized))
		} else {
			require.NoError(t, unix.Mkfifo(p, 0o644))
		}
		type result struct {
			err         error
			clean, sure bool
		}
		done := make(chan result, 1)
		go func() {
			err, clean, sure := use(r.Dir)
			done <- result{err, clean, sure}
		}()
		select {
		case res := <-done:
			if tc.want == "" {
				require.NoError(t, res.err, tc.file)
				assert.False(t, res.sure, "%s: QuickClean leaves it to git", tc.file)
				continue
			}
			require.Error(t, res.err, tc.file)
			assert.ErrorIs(t, res.err, ErrCorrupt, tc.file)
			assert.ErrorContains(t, res.err, tc.want, tc.file)
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: a pipe in its place holds the reader", tc.file)
		}
	}
}
