package store

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/pgp"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

func aptDirConfig(path string) config.StoreConfig {
	sc := config.DefaultStore("apt", "apt-dir")
	sc.Path, sc.Distribution = path, "bookworm"
	return sc
}

func TestAptDirExisting(t *testing.T) {
	root := t.TempDir()
	st := newStore(t, aptDirConfig(root), nil)

	rels, err := st.Existing(context.Background(), "hello")
	require.NoError(t, err)
	assert.Empty(t, rels, "an empty or missing repository holds nothing")

	amd := filepath.Join(root, "dists", "bookworm", "main", "binary-amd64")
	all := filepath.Join(root, "dists", "bookworm", "main", "binary-all")
	require.NoError(t, os.MkdirAll(amd, 0o755))
	require.NoError(t, os.MkdirAll(all, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(all, "Packages"), []byte("Package: hello\nVersion: 1.0-1\nArchitecture: all\nSHA256: aa\nGopythongo-Commit: c1\n\nPackage: other\nVersion: 9\n"), 0o644))
	f, err := os.Create(filepath.Join(amd, "Packages.gz"))
	require.NoError(t, err)
	gz := gzip.NewWriter(f)
	_, _ = gz.Write([]byte("Package: hello\nVersion: 1.0-2\nArchitecture: amd64\nSHA256: bb\n\nPackage: hello\nVersion: 1.0-1\nArchitecture: all\nSHA256: aa\nGopythongo-Commit: c1\n"))
	require.NoError(t, gz.Close())
	require.NoError(t, f.Close())

	rels, err = st.Existing(context.Background(), "hello")
	require.NoError(t, err)
	assert.ElementsMatch(t, []Release{
		{Name: "hello", Version: "1.0-1", Arch: "all", SHA256: "aa", Commit: "c1"},
		{Name: "hello", Version: "1.0-2", Arch: "amd64", SHA256: "bb"},
	}, rels, "a package for all listed under several architectures counts once")

	require.NoError(t, os.WriteFile(filepath.Join(all, "Packages"), []byte(" broken\n"), 0o644))
	_, err = st.Existing(context.Background(), "hello")
	assert.ErrorContains(t, err, "continuation line")

	_, err = New(config.StoreConfig{Name: "x", Type: "nexus"}, Env{Config: &config.Config{}})
	assert.ErrorContains(t, err, `unknown type "nexus"`)
}

// readRelease parses the SHA256 section of a Release file.
func readRelease(t testing.TB, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	return parseSHA256(b)
}

func TestAptDirPublish(t *testing.T) {
	ctx := context.Background()
	dist, repo := t.TempDir(), t.TempDir()
	st := newStore(t, aptDirConfig(repo), nil)

	v1 := makeDeb(t, dist, "hello", "1.0-1", "all", "one")
	v2 := makeDeb(t, dist, "hello", "1.1-1", "amd64", "two")
	arm := makeDeb(t, dist, "hello", "1.1-1", "arm64", "two on arm")
	for _, it := range []Item{v1, v2, arm} {
		pub, err := st.Publish(ctx, it)
		require.NoError(t, err)
		assert.False(t, pub.Unchanged)
		assert.Contains(t, pub.Install, "apt-get install hello=")
		assert.Equal(t, "deb [trusted=yes] file:"+repo+" bookworm main", pub.Reference)
	}
	rels, err := st.Existing(ctx, "hello")
	require.NoError(t, err)
	assert.Len(t, rels, 3, "old versions are kept beside new ones")
	assert.FileExists(t, filepath.Join(repo, "pool/main/h/hello/hello_1.0-1_all.deb"))

	dists := filepath.Join(repo, "dists", "bookworm")
	rel := readRelease(t, filepath.Join(dists, "Release"))
	for _, f := range []string{"main/binary-amd64/Packages", "main/binary-amd64/Packages.gz", "main/binary-arm64/Packages", "main/binary-all/Packages"} {
		require.Contains(t, rel, f)
		assert.Equal(t, rel[f], sha256Of(t, filepath.Join(dists, f)), "%s matches the Release file", f)
		assert.FileExists(t, filepath.Join(dists, filepath.Dir(f), "by-hash", "SHA256", rel[f]))
	}
	release, _ := os.ReadFile(filepath.Join(dists, "Release"))
	for _, want := range []string{"Architectures: all amd64 arm64\n", "Components: main\n", "MD5Sum:\n", "SHA1:\n", "Acquire-By-Hash: yes\n", "Origin: hello\n"} {
		assert.Contains(t, string(release), want)
	}
	amd, _ := os.ReadFile(filepath.Join(dists, "main/binary-amd64/Packages"))
	assert.Contains(t, string(amd), "Version: 1.0-1\nArchitecture: all", "packages for all are in every architecture's index")
	assert.NotContains(t, string(amd), "arm64")
	assert.NoFileExists(t, filepath.Join(dists, "InRelease"), "no key, no signature")

	// A rerun of the same artifact writes nothing.
	before := sha256Of(t, filepath.Join(dists, "Release"))
	pub, err := st.Publish(ctx, v1)
	require.NoError(t, err)
	assert.True(t, pub.Unchanged)
	assert.Equal(t, before, sha256Of(t, filepath.Join(dists, "Release")))

	// A different artifact under an existing version names both hashes.
	other := t.TempDir()
	changed := makeDeb(t, other, "hello", "1.0-1", "all", "changed")
	_, err = st.Publish(ctx, changed)
	require.Error(t, err)
	assert.Contains(t, err.Error(), v1.Artifact.SHA256)
	assert.Contains(t, err.Error(), changed.Artifact.SHA256)
	assert.Contains(t, err.Error(), "--overwrite")
	assert.Equal(t, before, sha256Of(t, filepath.Join(dists, "Release")), "nothing written")
	assert.Equal(t, v1.Artifact.SHA256, sha256Of(t, filepath.Join(repo, "pool/main/h/hello/hello_1.0-1_all.deb")))

	changed.Overwrite = true
	_, err = st.Publish(ctx, changed)
	require.NoError(t, err)
	rels, _ = st.Existing(ctx, "hello")
	assert.Len(t, rels, 3)
	assert.Contains(t, rels, Release{Name: "hello", Version: "1.0-1", Arch: "all", File: "pool/main/h/hello/hello_1.0-1_all.deb", SHA256: changed.Artifact.SHA256, Commit: "c0ffee"})
}

// TestAptDirSignedInstall publishes signed, and apt-get in a Debian root
// verifies the signature with signed-by, installs and runs the package.
func TestAptDirSignedInstall(t *testing.T) {
	key, err := pgp.NewTestKey("Test Repo", "repo@example.com")
	require.NoError(t, err)
	ctx := context.Background()
	dist := t.TempDir()
	root := testutil.DebianRoot(t)
	repo := filepath.Join(root, "srv", "repo")
	sc := aptDirConfig(repo)
	sc.SigningKeyEnv = "REPO_KEY"
	var masked []string
	c := &config.Config{Dir: dist}
	c.Project.Name = "hello"
	st, err := New(sc, Env{Config: c, Getenv: func(k string) string { return map[string]string{"REPO_KEY": string(key)}[k] }, Mask: func(s string) { masked = append(masked, s) }, NewSigner: Signers(pgp.NewSigner)})
	require.NoError(t, err)
	assert.Equal(t, []string{string(key)}, masked, "the key is masked")

	for _, it := range []Item{makeDeb(t, dist, "hello-store", "1.0-1", "all", "hello one"), makeDeb(t, dist, "hello-store", "1.1-1", "amd64", "hello two")} {
		pub, err := st.Publish(ctx, it)
		require.NoError(t, err)
		assert.Equal(t, "deb [signed-by="+repo+"/key.asc] file:"+repo+" bookworm main", pub.Reference)
	}
	pubKey, err := os.ReadFile(filepath.Join(repo, "key.asc"))
	require.NoError(t, err)
	assert.NotContains(t, string(pubKey), "PRIVATE", "only the public key is published")
	for _, f := range []string{"InRelease", "Release.gpg"} {
		assert.FileExists(t, filepath.Join(repo, "dists/bookworm", f))
	}

	line := "deb [signed-by=" + testutil.AptKey + "] file:/srv/repo bookworm main"
	out, err := testutil.AptGet(root, line, string(pubKey), "install", "-y", "hello-store=1.0-1")
	require.NoError(t, err, out)
	got, err := exec.Command("chroot", root, "hello-store").CombinedOutput()
	require.NoError(t, err)
	assert.Equal(t, "hello one\n", string(got))
	out, err = testutil.AptGet(root, line, string(pubKey), "install", "-y", "hello-store")
	require.NoError(t, err, out)
	got, _ = exec.Command("chroot", root, "hello-store").CombinedOutput()
	assert.Equal(t, "hello two\n", string(got), "the newest version is the candidate")

	// Another key: apt refuses the repository.
	otherKey, _ := pgp.NewTestKey("Other", "other@example.com")
	other, _ := pgp.NewSigner(otherKey, nil)
	otherPub, _ := other.PublicKey()
	out, err = testutil.AptGet(root, line, string(otherPub), "install", "-y", "hello-store")
	assert.Error(t, err)
	assert.Contains(t, out, "NO_PUBKEY")
	// Unsigned repositories need trusted=yes.
	require.NoError(t, os.Remove(filepath.Join(repo, "dists/bookworm/InRelease")))
	require.NoError(t, os.Remove(filepath.Join(repo, "dists/bookworm/Release.gpg")))
	out, err = testutil.AptGet(root, "deb file:/srv/repo bookworm main", "", "install", "-y", "hello-store")
	assert.Error(t, err)
	assert.Contains(t, out, "is not signed")
}

// TestAptDirConcurrent: publishes of different versions at the same time all
// land; two of one version with different content: one wins, the other fails.
func TestAptDirConcurrent(t *testing.T) {
	ctx := context.Background()
	dist, repo := t.TempDir(), t.TempDir()
	var items []Item
	for i := range 6 {
		items = append(items, makeDeb(t, dist, "hello", fmt.Sprintf("1.%d-1", i), "all", fmt.Sprint(i)))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(items))
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = newStore(t, aptDirConfig(repo), nil).Publish(ctx, it)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	rels, err := newStore(t, aptDirConfig(repo), nil).Existing(ctx, "hello")
	require.NoError(t, err)
	assert.Len(t, rels, 6, "every publish landed")

	a, b := makeDeb(t, t.TempDir(), "hello", "2.0-1", "all", "a"), makeDeb(t, t.TempDir(), "hello", "2.0-1", "all", "b")
	var ok, conflicts atomic.Int32
	for _, it := range []Item{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := newStore(t, aptDirConfig(repo), nil).Publish(ctx, it)
			switch {
			case err == nil:
				ok.Add(1)
			case strings.Contains(err.Error(), "versions are immutable"):
				conflicts.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), ok.Load())
	assert.Equal(t, int32(1), conflicts.Load())
}

// TestAptDirReadersSeeWholeRepository reads the repository the way apt does
// while publishes run: every index the Release file names is there with the
// hash it names (by-hash), at every moment.
func TestAptDirReadersSeeWholeRepository(t *testing.T) {
	ctx := context.Background()
	dist, repo := t.TempDir(), t.TempDir()
	st := newStore(t, aptDirConfig(repo), nil)
	require.NoError(t, first(st.Publish(ctx, makeDeb(t, dist, "hello", "0.1-1", "all", "x"))))
	var items []Item
	for i := range 15 {
		items = append(items, makeDeb(t, dist, "hello", fmt.Sprintf("1.%d-1", i), []string{"all", "amd64", "arm64"}[i%3], fmt.Sprint(i)))
	}
	stop := make(chan struct{})
	var checks atomic.Int32
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		dists := filepath.Join(repo, "dists", "bookworm")
		for {
			select {
			case <-stop:
				return
			default:
			}
			rel, err := os.ReadFile(filepath.Join(dists, "Release"))
			if err != nil {
				t.Errorf("read Release: %v", err)
				return
			}
			for f, sum := range parseSHA256(rel) {
				data, err := os.ReadFile(filepath.Join(dists, filepath.Dir(f), "by-hash", "SHA256", sum))
				if err != nil {
					t.Errorf("Release names %s as %s, which is missing: %v", f, sum, err)
					return
				}
				if h := sha256.Sum256(data); hex.EncodeToString(h[:]) != sum {
					t.Errorf("%s by hash %s has other content", f, sum)
					return
				}
			}
			checks.Add(1)
		}
	}()
	for _, it := range items {
		_, err := st.Publish(ctx, it)
		require.NoError(t, err)
	}
	close(stop)
	wg.Wait()
	assert.Greater(t, checks.Load(), int32(5), "the reader ran during the publishes")
}

func parseSHA256(release []byte) map[string]string {
	out := map[string]string{}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(release))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case l == "SHA256:":
			in = true
		case strings.HasPrefix(l, " ") && in:
			f := strings.Fields(l)
			out[f[2]] = f[0]
		default:
			in = false
		}
	}
	return out
}

func first[T any](_ T, err error) error { return err }

func TestAptDirKeyFromFileVariable(t *testing.T) {
	key, err := pgp.NewTestKey("T", "t@example.com")
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "key.asc")
	require.NoError(t, os.WriteFile(file, key, 0o600))
	repo := t.TempDir()
	sc := aptDirConfig(repo)
	sc.SigningKeyFileEnv = "KEY_FILE"
	st := newStore(t, sc, map[string]string{"KEY_FILE": file})
	_, err = st.Publish(context.Background(), makeDeb(t, t.TempDir(), "hello", "1.0-1", "all", "x"))
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(repo, "dists/bookworm/InRelease"))

	_, err = New(sc, Env{Config: &config.Config{}, Getenv: func(string) string { return "/nonexistent/key" }})
	assert.ErrorContains(t, err, "the key file $KEY_FILE names")
}

// TestAptDirUnreadableComponentFails: another component's index that cannot
// be read fails the publish instead of vanishing from the Release file.
func TestAptDirUnreadableComponentFails(t *testing.T) {
	ctx := context.Background()
	dist, repo := t.TempDir(), t.TempDir()
	st := newStore(t, aptDirConfig(repo), nil)
	_, err := st.Publish(ctx, makeDeb(t, dist, "hello", "1.0-1", "all", "one"))
	require.NoError(t, err)
	other := filepath.Join(repo, "dists", "bookworm", "contrib", "binary-amd64")
	require.NoError(t, os.MkdirAll(other, 0o755))
	require.NoError(t, os.Symlink("Packages", filepath.Join(other, "Packages"))) // a loop: unreadable, even for root
	_, err = st.Publish(ctx, makeDeb(t, dist, "hello", "1.1-1", "all", "two"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "component contrib")
}
