package versioning

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/ci"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/state"
	"github.com/gopythongo/gopythongo/internal/store"
	"github.com/gopythongo/gopythongo/internal/storetype"
	"github.com/gopythongo/gopythongo/internal/testutil"
	"github.com/gopythongo/gopythongo/internal/version"
)

func local(branch string) ci.Env { return ci.Env{Provider: ci.Local, Branch: branch} }

func TestSources(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		yaml   string
		env    map[string]string
		branch string
		want   string
		err    string
	}{
		{"pyproject on develop", map[string]string{"pyproject.toml": "[project]\nname = \"hello\"\nversion = \"2.1.0\"\n"},
			"version: {source: pyproject}\n", nil, "develop", "2.1.0-dev.", ""},
		{"pyproject scheme none", map[string]string{"pyproject.toml": "[project]\nversion = \"2.1.0rc1\"\n"},
			"version: {source: pyproject, scheme: none}\n", nil, "develop", "2.1.0-rc.1", ""},
		{"pyproject dynamic", map[string]string{"pyproject.toml": "[project]\ndynamic = [\"version\"]\n"},
			"version: {source: pyproject}\n", nil, "develop", "", "declares the version dynamic"},
		{"pymodule", map[string]string{"src/hello/__init__.py": "\"\"\"Hello.\"\"\"\n__version__: str = '3.0.1'\n"},
			"version: {source: pymodule, file: src/hello/__init__.py, scheme: none}\n", nil, "main", "3.0.1", ""},
		{"pymodule on a release branch", map[string]string{"hello.py": "__version__ = \"3.1.0\"\n"},
			"version: {source: pymodule, file: hello.py}\n", nil, "release/3.1.0", "3.1.0-rc.0", ""},
		{"pymodule without version", map[string]string{"hello.py": "VERSION = 1\n"},
			"version: {source: pymodule, file: hello.py}\n", nil, "main", "", "__version__ = \"1.2.3\""},
		{"searchfile", map[string]string{"setup.cfg": "[metadata]\nversion = 4.5.6\n"},
			"version: {source: searchfile, file: setup.cfg, pattern: 'version = (\\S+)', scheme: none}\n", nil, "main", "4.5.6", ""},
		{"static on main", nil, "version: {source: static, value: 1.0.0}\n", nil, "main", "1.0.0", ""},
		{"env", nil, "version: {source: env, env: APP_VERSION, scheme: none}\n", map[string]string{"APP_VERSION": "v7.0.0"}, "main", "7.0.0", ""},
		{"env unset", nil, "version: {source: env, env: APP_VERSION}\n", nil, "main", "", "$APP_VERSION, which is not set"},
		{"invalid version in file", map[string]string{"VERSION": "banana\n"},
			"version: {source: searchfile, file: VERSION, pattern: '(\\w+)'}\n", nil, "main", "", `"banana" is not a valid tag version`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testutil.NewGitRepo(t)
			for f, c := range tt.files {
				r.WriteFile(f, c)
			}
			r.WriteFile(".gopythongo.yaml", tt.yaml)
			r.Git("add", "-A")
			r.Commit("init")
			r.Git("branch", "develop")
			res, err := Run(context.Background(), Request{Config: loadConfig(t, r.Dir), Env: local(tt.branch), Lookup: lookupMap(tt.env)})
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(res.Version.SemVer(), tt.want), "%s has not the prefix %s", res.Version.SemVer(), tt.want)
		})
	}
}

// TestSourcePreReleaseIsKeptOrExplained: a source version's pre-release is
// the version with scheme none; under Git Flow the rule says why not.
func TestSourcePreReleaseIsKeptOrExplained(t *testing.T) {
	r := testutil.NewGitRepo(t)
	r.WriteFile(".gopythongo.yaml", "version: {source: static, value: 3.0.0rc1}\n")
	r.Git("add", "-A")
	r.Commit("init")
	r.Git("branch", "develop")
	res, err := Run(context.Background(), Request{Config: loadConfig(t, r.Dir), Env: local("develop")})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(res.Version.SemVer(), "3.0.0-dev."), res.Version.SemVer())
	assert.Contains(t, res.Rule, "the pre-release of 3.0.0-rc.1 from the version source is not kept")
	assert.Contains(t, res.Rule, "version.scheme: none")

	r.WriteFile(".gopythongo.yaml", "version: {source: static, value: 3.0.0rc1, scheme: none}\n")
	r.Git("commit", "-qam", "scheme none")
	res, err = Run(context.Background(), Request{Config: loadConfig(t, r.Dir), Env: local("develop")})
	require.NoError(t, err)
	assert.Equal(t, "3.0.0-rc.1", res.Version.SemVer())
	assert.NotContains(t, res.Rule, "not kept")
}

func TestDirtyWorkTree(t *testing.T) {
	r := testutil.NewGitRepo(t)
	r.WriteFile("a.txt", "1")
	r.Git("add", "a.txt")
	r.Commit("init")
	r.Checkout("develop", true)
	r.WriteFile("a.txt", "2")
	r.WriteFile("untracked.txt", "ignored by the check")
	_, err := Run(context.Background(), Request{Config: loadConfig(t, r.Dir), Env: local("")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "uncommitted changes (a.txt)")
	assert.Contains(t, err.Error(), "version.dirty: true")

	res, err := Run(context.Background(), Request{Config: loadConfig(t, r.Dir, "GOPYTHONGO_VERSION_DIRTY=true"), Env: local("")})
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(res.Version.SemVer(), ".dirty"), res.Version.SemVer())
	assert.Equal(t, "develop", res.Commit.Branch, "the branch comes from git when the CI says nothing")

	// A dirty release sorts above the clean one in pip and apt: refused even
	// with version.dirty.
	r.Tag("v1.0.0")
	r.Checkout("main", false)
	r.Git("tag", "v1.1.0")
	r.WriteFile("a.txt", "3")
	_, err = Run(context.Background(), Request{Config: loadConfig(t, r.Dir, "GOPYTHONGO_VERSION_DIRTY=true"), Env: local("main")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1.1.0 is a release build")
	assert.Contains(t, err.Error(), "commit or stash")
}

func refsAndHead(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "for-each-ref").CombinedOutput()
	require.NoError(t, err)
	head, _ := os.ReadFile(filepath.Join(dir, ".git", "HEAD"))
	return string(out) + string(head)
}

func TestShallowClone(t *testing.T) {
	g := testutil.NewGitFlow(t)
	clone := testutil.ShallowClone(t, g.Dir, "develop")
	gh := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/heads/develop", "GITHUB_SHA": g.At["develop"]}

	// Never a guess: exit code 3 and the fix for this CI.
	_, err := run(t, clone, gh)
	var mh *MissingHistoryError
	require.ErrorAs(t, err, &mh)
	assert.Contains(t, err.Error(), "fetch-depth: 0")
	assert.Contains(t, err.Error(), "--fetch")

	// --fetch deepens just enough and changes no ref.
	before := refsAndHead(t, clone)
	full, err := run(t, g.Dir, gh)
	require.NoError(t, err)
	gh["GOPYTHONGO_VERSION_FETCH"] = "true"
	env := ci.Detect(lookupMap(gh), os.ReadFile)
	res, err := Run(context.Background(), Request{Config: loadConfig(t, clone, "GOPYTHONGO_VERSION_FETCH=true"), Env: env})
	require.NoError(t, err)
	assert.Equal(t, full.Version.SemVer(), res.Version.SemVer(), "the deepened clone gives the full clone's version")
	assert.Equal(t, before, refsAndHead(t, clone), "no ref was written")
	_, err = os.Stat(filepath.Join(clone, ".git", "FETCH_HEAD"))
	assert.True(t, os.IsNotExist(err), "no FETCH_HEAD")
	assert.Contains(t, strings.Join(res.Explain, "\n"), "deepened the clone")
}

func TestShallowTagBuildNeedsNoHistory(t *testing.T) {
	g := testutil.NewGitFlow(t)
	clone := testutil.ShallowClone(t, g.Dir, "v1.1.0")
	res, err := run(t, clone, map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/tags/v1.1.0", "GITHUB_SHA": g.At["v1.1.0"]})
	require.NoError(t, err)
	assert.Equal(t, "1.1.0", res.Version.SemVer())
	assert.NotZero(t, res.Commit.Time)

	_, err = run(t, clone, map[string]string{"GITLAB_CI": "true", "CI_COMMIT_TAG": "nightly", "CI_COMMIT_SHA": g.At["v1.1.0"]})
	assert.ErrorContains(t, err, `tag "nightly", which is not a version`)
}

func TestCIShaMissingFromClone(t *testing.T) {
	g := testutil.NewGitFlow(t)
	_, err := run(t, g.Dir, map[string]string{"CIRCLECI": "true", "CIRCLE_BRANCH": "develop", "CIRCLE_SHA1": strings.Repeat("ab", 20)})
	var mh *MissingHistoryError
	require.ErrorAs(t, err, &mh)
	assert.Contains(t, err.Error(), "git fetch --unshallow")
}

// buildDeb makes a real .deb with dpkg-deb, as later steps will.
func buildDeb(t *testing.T, dir, name, ver, commit string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "pkg")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755))
	control := "Package: " + name + "\nVersion: " + ver + "\nArchitecture: all\nMaintainer: T <t@example.com>\nDescription: test\n test\n" + state.DebCommitField + ": " + commit + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(root, "DEBIAN", "control"), []byte(control), 0o644))
	out, err := exec.Command("dpkg-deb", "--build", "--root-owner-group", root, filepath.Join(dir, name+"_"+ver+"_all.deb")).CombinedOutput()
	require.NoError(t, err, "dpkg-deb (make test installs dpkg-dev): %s", out)
}

// aptRepo writes an apt-dir with dpkg-scanpackages, Debian's own indexer.
func aptRepo(t *testing.T, root string) {
	t.Helper()
	pool := filepath.Join(root, "pool", "main")
	bin := filepath.Join(root, "dists", "bookworm", "main", "binary-all")
	require.NoError(t, os.MkdirAll(bin, 0o755))
	cmd := exec.Command("dpkg-scanpackages", "--multiversion", "pool")
	cmd.Dir = root
	out, err := cmd.Output()
	require.NoError(t, err, "dpkg-scanpackages")
	require.NoError(t, os.WriteFile(filepath.Join(bin, "Packages"), out, 0o644))
	_ = pool
}

// askStore asks a store in this process, with no secret set.
func askStore(ctx context.Context, sc config.StoreConfig, dir, pkg string) ([]storetype.Release, error) {
	return store.Env{Getenv: func(string) string { return "" }}.Existing(ctx, sc, dir, pkg)
}

func TestRevisionFromAptDir(t *testing.T) {
	r := testutil.NewGitRepo(t)
	r.WriteFile(".gopythongo.yaml", `project: {name: hello}
version: {revision_from: apt}
publish:
  stores:
    - {name: apt, type: apt-dir, path: repo, distribution: bookworm, component: main}
`)
	r.WriteFile(".gitignore", "repo/\ndist/\n")
	r.Git("add", "-A")
	r.Commit("init")
	r.Tag("v1.2.3")
	head := r.Head()
	pool := filepath.Join(r.Dir, "repo", "pool", "main")
	require.NoError(t, os.MkdirAll(pool, 0o755))

	versionOf := func() *Result {
		res, err := Run(context.Background(), Request{Config: loadConfig(t, r.Dir), Env: local("main"), Existing: askStore})
		require.NoError(t, err)
		return res
	}
	// Nothing published: revision 1.
	aptRepo(t, filepath.Join(r.Dir, "repo"))
	assert.Equal(t, "1.2.3-1", versionOf().Version.Debian())

	// Two revisions of 1.2.3 from other builds, and another version: the next is 3.
	buildDeb(t, pool, "hello", "1.2.3-1", "1111111111")
	buildDeb(t, pool, "hello", "1.2.3-2", "2222222222")
	buildDeb(t, pool, "hello", "1.2.4-7", "3333333333")
	buildDeb(t, pool, "other", "1.2.3-9", "4444444444")
	aptRepo(t, filepath.Join(r.Dir, "repo"))
	res := versionOf()
	assert.Equal(t, "1.2.3-3", res.Version.Debian())
	assert.Equal(t, "1.2.3.post2", res.Version.PEP440())
	assert.Equal(t, "1.2.3_rev.3", res.Version.OCITag())

	// This very build already there as revision 3: no bump on a rerun.
	buildDeb(t, pool, "hello", "1.2.3-3", head)
	aptRepo(t, filepath.Join(r.Dir, "repo"))
	res = versionOf()
	assert.Equal(t, "1.2.3-3", res.Version.Debian())
	assert.Contains(t, strings.Join(res.Explain, "\n"), "already holds this build")

	// Repackaged with other content: the advice of the refusal (the new
	// artifact's sha256) gives the next free revision, and a store with a
	// signing key needs no secret to be read.
	r.WriteFile(".gopythongo.yaml", `project: {name: hello}
version: {revision_from: apt}
publish:
  stores:
    - {name: apt, type: apt-dir, path: repo, distribution: bookworm, component: main, signing_key_env: APT_KEY, passphrase_env: APT_PASS}
`)
	r.Git("commit", "-qam", "sign the repository")
	r.Git("tag", "-f", "v1.2.3")
	res, err := Run(context.Background(), Request{Config: loadConfig(t, r.Dir), Env: local("main"), Artifact: strings.Repeat("e", 64), Existing: askStore})
	require.NoError(t, err)
	assert.Equal(t, "1.2.3-4", res.Version.Debian(), "not a revision already taken")
	buildDeb(t, pool, "hello", "1.2.3-4", r.Head())
	aptRepo(t, filepath.Join(r.Dir, "repo"))
	res, err = Run(context.Background(), Request{Config: loadConfig(t, r.Dir), Env: local("main"), Artifact: strings.Repeat("e", 64), Existing: askStore})
	require.NoError(t, err)
	assert.Equal(t, "1.2.3-5", res.Version.Debian(), "this commit's 1.2.3-4 holds other content")
}

func TestNextRevision(t *testing.T) {
	v := version.Version{Major: 1, Minor: 3, Pre: &version.Pre{Label: "dev", Number: 4}, Build: []string{"gabc"}}
	rels := []storetype.Release{
		{Version: "1.3.0~dev4+gabc-1", SHA256: "aa"},
		{Version: "1.3.0~dev4+gabc-2", SHA256: "bb"},
		{Version: "1.3.0~dev5+gabc-6"},
		{Version: "garbage"},
	}
	rev, _ := NextRevision(v, version.FormatDebian, rels, "", "")
	assert.Equal(t, 3, rev)
	rev, _ = NextRevision(v, version.FormatDebian, rels, "", "aa")
	assert.Equal(t, 1, rev)
	rev, _ = NextRevision(v, version.FormatDebian, nil, "", "")
	assert.Equal(t, 1, rev)

	// Python indexes hold .postN, registries _rev.N.
	r := version.Version{Major: 1, Minor: 2, Patch: 3}
	rev, why := NextRevision(r, version.FormatPEP440, []storetype.Release{{Version: "1.2.3"}, {Version: "1.2.3.post1"}, {Version: "1.2.4"}}, "", "")
	assert.Equal(t, 3, rev, why)
	assert.Equal(t, "1.2.3.post2", version.Version{Major: 1, Minor: 2, Patch: 3, Revision: rev}.PEP440())
	rev, _ = NextRevision(r, version.FormatOCI, []storetype.Release{{Version: "1.2.3", Digest: "sha256:aa"}, {Version: "1.2.3_rev.2", Digest: "sha256:bb"}, {Version: "latest"}}, "", "sha256:aa")
	assert.Equal(t, 1, rev, "the registry holds this image as the first revision")
	rev, _ = NextRevision(r, version.FormatOCI, []storetype.Release{{Version: "1.2.3"}, {Version: "1.2.3_rev.2"}}, "", "sha256:cc")
	assert.Equal(t, 3, rev)
	assert.Equal(t, "1.2.3_rev.3", version.Version{Major: 1, Minor: 2, Patch: 3, Revision: rev}.OCITag())

	// The same commit with other content (a rebuild with other packaging)
	// takes the next revision once the content is known; the commit alone
	// answers only when it is not.
	same := []storetype.Release{{Version: "1.2.3-1", SHA256: "aa", Commit: "c1"}}
	rev, _ = NextRevision(r, version.FormatDebian, same, "c1", "")
	assert.Equal(t, 1, rev)
	rev, why = NextRevision(r, version.FormatDebian, same, "c1", "bb")
	assert.Equal(t, 2, rev, why)
	rev, _ = NextRevision(r, version.FormatDebian, same, "c1", "aa")
	assert.Equal(t, 1, rev)
}

func TestFetchMissingBranchWithoutRefs(t *testing.T) {
	g := testutil.NewGitFlow(t)
	dst := filepath.Join(t.TempDir(), "clone")
	out, err := exec.Command("git", "clone", "-q", "--single-branch", "--no-tags", "--branch", "feature/login-page", "file://"+g.Dir, dst).CombinedOutput()
	require.NoError(t, err, string(out))
	vars := map[string]string{"JENKINS_URL": "x", "BRANCH_NAME": "feature/login-page", "GIT_COMMIT": g.At["feature"]}

	_, err = run(t, dst, vars)
	var mh *MissingHistoryError
	require.ErrorAs(t, err, &mh)
	assert.Contains(t, err.Error(), "the branch develop or main or master")
	assert.Contains(t, err.Error(), "refspec +refs/heads/develop")

	before := refsAndHead(t, dst)
	env := ci.Detect(lookupMap(vars), os.ReadFile)
	res, err := Run(context.Background(), Request{Config: loadConfig(t, dst, "GOPYTHONGO_VERSION_FETCH=1"), Env: env})
	require.NoError(t, err)
	assert.Equal(t, "1.3.0-feature.login-page.3+g"+g.At["feature"][:10], res.Version.SemVer())
	assert.Equal(t, before, refsAndHead(t, dst))
}
