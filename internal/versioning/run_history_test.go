package versioning

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/semver"

	"github.com/gopythongo/gopythongo/internal/ci"
	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/gitflow"
	"github.com/gopythongo/gopythongo/internal/testutil/oracle"
	"github.com/gopythongo/gopythongo/internal/version"
)

// history builds a random Git Flow history in a repository of its own,
// writing git's objects and refs itself (a git process per commit would make
// the test a hundred times slower), and keeps the porcelain commands that
// rebuild it, for the failure message.
type history struct {
	t     *testing.T
	r     *rand.Rand
	dir   string
	log   []string
	clock int
	tips  map[string]string // branch → commit

	features []string          // open feature branches
	releases []version.Version // open release branches, by version
	hotfixes []version.Version // open hotfix branches
	kept     []string          // finished release and hotfix branches not deleted
	released []version.Version // release tags
	rcTags   map[string]int    // pre-release tags made per release branch
	support  string            // the open support branch, ""
	supportV version.Version   // its newest release
	tagged   map[string]string // release tag → commit
	n        int               // names and messages
}

const emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

// object writes a loose object and returns its id.
func (h *history) object(kind, body string) string {
	h.t.Helper()
	raw := fmt.Sprintf("%s %d\x00%s", kind, len(body), body)
	sum := sha1.Sum([]byte(raw))
	id := hex.EncodeToString(sum[:])
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write([]byte(raw))
	require.NoError(h.t, w.Close())
	p := filepath.Join(h.dir, ".git", "objects", id[:2], id[2:])
	require.NoError(h.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(h.t, os.WriteFile(p, z.Bytes(), 0o444))
	return id
}

func (h *history) ref(name, id string) {
	p := filepath.Join(h.dir, ".git", filepath.FromSlash(name))
	require.NoError(h.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(h.t, os.WriteFile(p, []byte(id+"\n"), 0o644))
}

// commitOn makes a commit with these parents and moves the branch to it.
func (h *history) commitOn(branch, msg string, parents ...string) {
	h.clock++
	sig := fmt.Sprintf("T <t@example.com> %d +0000", 1700000000+h.clock*60)
	var b strings.Builder
	b.WriteString("tree " + emptyTree + "\n")
	for _, p := range parents {
		b.WriteString("parent " + p + "\n")
	}
	fmt.Fprintf(&b, "author %s\ncommitter %s\n\n%s\n", sig, sig, msg)
	id := h.object("commit", b.String())
	h.tips[branch] = id
	h.ref("refs/heads/"+branch, id)
}

func (h *history) say(cmd string) { h.log = append(h.log, cmd) }

func (h *history) script() string { return strings.Join(h.log, "\n") }

func (h *history) commit(branch string) {
	h.n++
	msg := fmt.Sprintf("work %d on %s", h.n, branch)
	h.say(fmt.Sprintf("git checkout -q %s && git commit -q --allow-empty -m '%s'", branch, msg))
	h.commitOn(branch, msg, h.tips[branch])
}

func (h *history) branch(name, from, msg string) {
	h.say(fmt.Sprintf("git checkout -q -b %s %s && git commit -q --allow-empty -m '%s'", name, from, msg))
	h.commitOn(name, msg, h.tips[from])
}

func (h *history) merge(from, into string) {
	msg := "Merge " + from + " into " + into
	h.say(fmt.Sprintf("git checkout -q %s && git merge -q --no-ff -m '%s' %s", into, msg, from))
	h.commitOn(into, msg, h.tips[into], h.tips[from])
}

func (h *history) tag(name, branch string) {
	require.NotContains(h.t, h.tagged, name, "the generator tagged %s twice:\n%s", name, h.script())
	h.tagged[name] = h.tips[branch]
	h.clock++
	h.say(fmt.Sprintf("git tag -a -m %s %s %s", name, name, branch))
	body := fmt.Sprintf("object %s\ntype commit\ntag %s\ntagger T <t@example.com> %d +0000\n\n%s\n", h.tips[branch], name, 1700000000+h.clock*60, name)
	h.ref("refs/tags/"+name, h.object("tag", body))
}

func (h *history) deleteBranch(name string) {
	h.say("git branch -q -D " + name)
	delete(h.tips, name)
	require.NoError(h.t, os.Remove(filepath.Join(h.dir, ".git", "refs", "heads", filepath.FromSlash(name))))
}

func (h *history) newest() version.Version {
	v := version.Version{}
	for _, r := range h.released {
		if version.Compare(r, v) > 0 {
			v = r
		}
	}
	return v
}

func (h *history) pick(n int) int { return h.r.IntN(n) }

// step does one random Git Flow action that the state allows.
func (h *history) step() {
	switch h.pick(14) {
	case 0, 1:
		h.commit("develop")
	case 2:
		h.n++
		name := fmt.Sprintf("feature/f%d", h.n)
		h.branch(name, "develop", "start "+name)
		h.features = append(h.features, name)
	case 3:
		if len(h.features) > 0 {
			h.commit(h.features[h.pick(len(h.features))])
		}
	case 4:
		if len(h.features) > 0 {
			i := h.pick(len(h.features))
			if h.pick(2) == 0 {
				h.merge("develop", h.features[i])
			} else {
				h.merge(h.features[i], "develop")
				if h.pick(3) > 0 {
					h.deleteBranch(h.features[i])
					h.features = slices.Delete(h.features, i, i+1)
				}
			}
		}
	case 5:
		if len(h.releases) < 2 {
			base := h.newest()
			for _, o := range h.releases {
				if version.Compare(o, base) > 0 {
					base = o
				}
			}
			v, _ := version.Bump(base.Core(), version.PartMinor)
			h.branch("release/"+v.SemVer(), "develop", "bump to "+v.SemVer())
			h.releases = append(h.releases, v)
		}
	case 6:
		if len(h.releases) > 0 {
			v := h.releases[h.pick(len(h.releases))]
			name := "release/" + v.SemVer()
			switch h.pick(4) {
			case 0:
				h.merge(name, "develop")
			case 1:
				h.merge("develop", name)
			case 2:
				h.rcTags[name] += 1 + h.pick(3)
				h.tag(fmt.Sprintf("v%s-rc.%d", v.SemVer(), h.rcTags[name]), name)
			default:
				h.commit(name)
			}
		}
	case 7:
		// Finish the oldest open release: merged into main and tagged there,
		// merged back into develop now or later, its branch deleted or kept.
		if len(h.releases) > 0 {
			v := h.releases[0]
			name := "release/" + v.SemVer()
			h.merge(name, "main")
			h.tag("v"+v.SemVer(), "main")
			h.released = append(h.released, v)
			if h.pick(3) > 0 {
				h.merge(name, "develop")
			}
			if h.pick(2) == 0 {
				h.deleteBranch(name)
			} else {
				h.kept = append(h.kept, name)
			}
			h.releases = h.releases[1:]
		}
	case 8:
		if len(h.hotfixes) == 0 && len(h.released) > 0 {
			main := h.newest()
			v, _ := version.Bump(main, version.PartPatch)
			h.branch("hotfix/"+v.SemVer(), "main", "fix for "+v.SemVer())
			h.hotfixes = append(h.hotfixes, v)
		}
	case 9:
		if len(h.hotfixes) > 0 {
			v := h.hotfixes[0]
			name := "hotfix/" + v.SemVer()
			if h.pick(3) == 0 {
				h.commit(name)
				return
			}
			h.merge(name, "main")
			h.tag("v"+v.SemVer(), "main")
			h.released = append(h.released, v)
			if h.pick(4) > 0 {
				h.merge(name, "develop")
			}
			if h.pick(2) == 0 {
				h.deleteBranch(name)
			} else {
				h.kept = append(h.kept, name)
			}
			h.hotfixes = nil
		}
	case 10:
		h.merge("main", "develop")
	case 12:
		// A support branch for an older minor, from its release tag.
		if h.support == "" {
			for _, v := range h.released {
				if v.Patch == 0 && v.Minor < h.newest().Minor {
					name := fmt.Sprintf("support/%d.%d.x", v.Major, v.Minor)
					tag := "v" + v.SemVer()
					h.tips[tag] = h.tagged[tag]
					h.branch(name, tag, "support "+name)
					delete(h.tips, tag)
					h.support, h.supportV = name, v
					return
				}
			}
		}
		h.commit("develop")
	case 13:
		if h.support != "" {
			if h.pick(2) == 0 {
				h.commit(h.support)
				return
			}
			// A patch release of the supported minor, tagged on the branch.
			v, _ := version.Bump(h.supportV, version.PartPatch)
			taken := func(r version.Version) bool { return version.Compare(r, v) == 0 }
			for slices.ContainsFunc(h.released, taken) || slices.ContainsFunc(h.hotfixes, taken) {
				v, _ = version.Bump(v, version.PartPatch)
			}
			h.commit(h.support)
			h.tag("v"+v.SemVer(), h.support)
			h.released = append(h.released, v)
			h.supportV = v
			return
		}
		h.commit("develop")
	case 11:
		for _, k := range h.kept {
			if h.pick(3) == 0 {
				h.commit(k) // a finished branch gets one more commit
				return
			}
		}
		h.commit("develop")
	}
}

// build is one build of a branch tip.
type build struct {
	branch, sha string
	v           version.Version
	newest      version.Version // the newest release at the time
	at          int             // the step after which it was built
}

// TestVersionsOnlyMoveForward builds every branch whose tip moved after each
// step of random Git Flow histories and checks, with the reference orders
// (golang.org/x/mod/semver, python3-packaging, dpkg), that each build of a
// branch sorts strictly above the branch's earlier builds, and that develop
// and the branches forked from it sort above the newest release.
// GOPYTHONGO_HISTORIES sets how many histories (make fuzz runs thousands).
func TestVersionsOnlyMoveForward(t *testing.T) {
	histories, steps := 200, 30
	if n, err := strconv.Atoi(os.Getenv("GOPYTHONGO_HISTORIES")); err == nil && n > 0 {
		histories = n
	}
	seed := uint64(1)
	if s, err := strconv.ParseUint(os.Getenv("GOPYTHONGO_HISTORY_SEED"), 10, 64); err == nil {
		seed = s
	}
	type check struct {
		earlier, later build
		why            string
		script         string
	}
	var checks []check
	builds := 0
	var runTime time.Duration
	start := time.Now()
	for i := range histories {
		h := &history{t: t, r: rand.New(rand.NewPCG(seed, uint64(i))), dir: t.TempDir(), rcTags: map[string]int{}, tips: map[string]string{}, tagged: map[string]string{}}
		out, err := exec.Command("git", "init", "-q", "-b", "main", h.dir).CombinedOutput()
		require.NoError(t, err, "%s", out)
		h.say("git init -q -b main && git commit -q --allow-empty -m init")
		require.Equal(t, emptyTree, h.object("tree", ""))
		h.commitOn("main", "init")
		h.tag("v1.0.0", "main")
		h.released = append(h.released, version.Version{Major: 1})
		h.say("git checkout -q -b develop")
		h.tips["develop"] = h.tips["main"]
		h.ref("refs/heads/develop", h.tips["main"])
		require.NoError(t, os.WriteFile(filepath.Join(h.dir, ".git", "HEAD"), []byte("ref: refs/heads/develop\n"), 0o644))
		// An index of the empty tree: the work tree reads as clean without git status.
		cmd := exec.Command("git", "read-tree", emptyTree)
		cmd.Dir = h.dir
		out, err = cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		cfg, err := config.Load(config.Options{Dir: h.dir})
		require.NoError(t, err)
		last := map[string]build{}
		for s := range steps {
			h.step()
			for _, branch := range slices.Sorted(maps.Keys(h.tips)) {
				sha := h.tips[branch]
				if branch == "main" || last[branch].sha == sha {
					continue
				}
				t0 := time.Now()
				res, err := Run(context.Background(), Request{Config: cfg, Env: ci.Env{Provider: ci.Local, Branch: branch, SHA: sha}})
				if err != nil {
					if strings.Contains(err.Error(), "is released") {
						continue // a finished branch is refused, never built below its release
					}
					require.NoError(t, err, "history %d, build of %s after step %d:\n%s", i, branch, s, h.script())
				}
				runTime += time.Since(t0)
				b := build{branch: branch, sha: sha, v: res.Version, newest: h.newest(), at: s}
				builds++
				if prev, ok := last[branch]; ok {
					checks = append(checks, check{prev, b, "a later build of " + branch, h.script()})
				}
				role, _ := patterns(cfg).Classify(branch)
				if role == gitflow.RoleDevelop || role == gitflow.RoleFeature {
					checks = append(checks, check{build{branch: "the newest release", v: b.newest}, b, "above the newest release", h.script()})
				}
				last[branch] = b
			}
		}
		if i == 0 {
			// The objects this test writes are git's own: git agrees.
			cmd := exec.Command("git", "fsck", "--strict", "--no-dangling")
			cmd.Dir = h.dir
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "git fsck: %s", out)
		}
	}
	t.Logf("%d histories of %d steps, %d builds, %d comparisons; %v building histories and versions, %v of it versioning", histories, steps, builds, len(checks), time.Since(start).Round(time.Millisecond), runTime.Round(time.Millisecond))

	pairs := make([][2]string, 0, len(checks))
	deb := make([][2]string, 0, len(checks))
	for _, c := range checks {
		a, b := c.earlier.v.Render(), c.later.v.Render()
		pairs = append(pairs, [2]string{a.PEP440, b.PEP440})
		deb = append(deb, [2]string{a.Debian, b.Debian})
	}
	_, pep := oracle.PEP440(t, pairs)
	dpkg := oracle.Dpkg(t, deb)
	failed := 0
	for k, c := range checks {
		a, b := c.earlier.v.Render(), c.later.v.Render()
		sv := semver.Compare("v"+a.SemVer, "v"+b.SemVer)
		if sv < 0 && pep[k] < 0 && dpkg[k] < 0 {
			continue
		}
		failed++
		if failed <= 3 {
			t.Errorf("%s: %s (after step %d) then %s (after step %d): semver %d, PEP 440 %d, dpkg %d (want -1 each)\nrebuild the history with:\n%s",
				c.why, a.SemVer, c.earlier.at, b.SemVer, c.later.at, sv, pep[k], dpkg[k], c.script)
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d comparisons went backwards or stood still", failed, len(checks))
	}
}
