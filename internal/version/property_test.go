package version

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/testutil/oracle"
)

func pep440Oracle(t *testing.T, pairs [][2]string) ([][2]bool, []int) {
	return oracle.PEP440(t, pairs)
}

func dpkgOracle(t *testing.T, pairs [][2]string) []int { return oracle.Dpkg(t, pairs) }

func randomVersion(r *rand.Rand) Version {
	v := Version{Major: uint64(r.IntN(3)), Minor: uint64(r.IntN(4)), Patch: uint64(r.IntN(3))}
	if r.IntN(10) == 0 {
		v.Epoch = 1
	}
	switch r.IntN(6) {
	case 0, 1:
	case 2:
		v.Pre = &Pre{Label: LabelRC, Number: uint64(r.IntN(13))}
	case 3, 4:
		v.Pre = &Pre{Label: LabelDev, Number: uint64(r.IntN(60))}
	case 5:
		v.Pre = &Pre{Label: []string{LabelAlpha, LabelBeta}[r.IntN(2)], Number: uint64(r.IntN(4))}
	}
	if r.IntN(4) == 0 {
		v.Revision = 1 + r.IntN(3)
	}
	return v
}

// neighbour changes one part of v a little, so that many pairs are close.
func neighbour(r *rand.Rand, v Version) Version {
	w := v
	if v.Pre != nil {
		p := *v.Pre
		w.Pre = &p
	}
	switch r.IntN(4) {
	case 0:
		if w.Pre != nil {
			w.Pre.Number = uint64(max(0, int(w.Pre.Number)+r.IntN(5)-2))
		}
	case 1:
		w.Revision = 1 + r.IntN(3)
	case 2:
		w.Pre = nil
	case 3:
		w.Patch = uint64(max(0, int(w.Patch)+r.IntN(3)-1))
	}
	return w
}

// The documented exception of Compare: PEP 440 puts .devN below aN and bN.
func devAgainstAlphaBeta(a, b Version) bool {
	if a.Pre == nil || b.Pre == nil || a.Epoch != b.Epoch || cmpCore(a, b) != 0 {
		return false
	}
	ab := func(l string) bool { return l == LabelAlpha || l == LabelBeta }
	return a.Pre.Label == LabelDev && ab(b.Pre.Label) || b.Pre.Label == LabelDev && ab(a.Pre.Label)
}

// TestOrderAgreesWithReferenceTools compares Compare with dpkg --compare-versions
// and packaging.version on at least 10,000 random pairs of non-feature versions, and
// checks every rendering with its validator. Set GOPYTHONGO_PROPERTY_SEED to replay.
func TestOrderAgreesWithReferenceTools(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("GOPYTHONGO_PROPERTY_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	const n = 10000
	var vs [][2]Version
	for len(vs) < n {
		a := randomVersion(r)
		b := randomVersion(r)
		if r.IntN(2) == 0 {
			b = neighbour(r, a)
		}
		if devAgainstAlphaBeta(a, b) {
			continue
		}
		vs = append(vs, [2]Version{a, b})
	}
	deb := make([][2]string, n)
	pep := make([][2]string, n)
	for i, p := range vs {
		deb[i] = [2]string{p[0].Debian(), p[1].Debian()}
		pep[i] = [2]string{p[0].PEP440(), p[1].PEP440()}
	}
	pepValid, pepCmp := pep440Oracle(t, pep)
	debCmp := dpkgOracle(t, deb)

	disagree := 0
	for i, p := range vs {
		want := Compare(p[0], p[1])
		if !pepValid[i][0] || !pepValid[i][1] {
			t.Errorf("PEP 440 not canonical: %s / %s", pep[i][0], pep[i][1])
			disagree++
			continue
		}
		if pepCmp[i] != want {
			t.Errorf("PEP 440 %s vs %s: packaging %d, ours %d", pep[i][0], pep[i][1], pepCmp[i], want)
			disagree++
		}
		if debCmp[i] != want {
			t.Errorf("Debian %s vs %s: dpkg %d, ours %d", deb[i][0], deb[i][1], debCmp[i], want)
			disagree++
		}
		for _, v := range p {
			if _, err := semver.StrictNewVersion(v.SemVer()); err != nil {
				t.Errorf("SemVer %s: %v", v.SemVer(), err)
				disagree++
			}
		}
		// SemVer orders neither epochs nor revisions (build metadata).
		if p[0].Epoch == p[1].Epoch && p[0].rev() == p[1].rev() {
			a, _ := semver.StrictNewVersion(p[0].SemVer())
			b, _ := semver.StrictNewVersion(p[1].SemVer())
			if a != nil && b != nil && a.Compare(b) != want {
				t.Errorf("SemVer %s vs %s: Masterminds %d, ours %d", a, b, a.Compare(b), want)
				disagree++
			}
		}
		if disagree > 20 {
			t.Fatal("too many disagreements")
		}
	}
	t.Logf("%d pairs, %d disagreements", n, disagree)
	require.Zero(t, disagree)
}

// TestRenderingsAreValid checks feature, PR, dirty and long-branch renderings, which
// the ordering test leaves out, with the validators of all four formats.
func TestRenderingsAreValid(t *testing.T) {
	names := []string{"login-page", "Ünïcödé/ブランチ", strings.Repeat("very_long/Branch-", 20), "UPPER_case", "a", "0042", "x/y/z"}
	var vs []Version
	for i, name := range names {
		sha := []string{"g0123456789", "dirty"}
		vs = append(vs,
			Version{Major: 1, Minor: uint64(i), Pre: &Pre{Label: LabelFeature, Name: Slug(name), Number: uint64(i)}, Build: sha},
			Version{Epoch: i % 2, Major: 2, Pre: &Pre{Label: LabelPR, Name: strconv.Itoa(i + 1), Number: 7}, Build: sha[:1], Revision: i},
			Version{Major: 3, Patch: uint64(i), Post: uint64(i + 1), Build: sha[:1]},
		)
	}
	var pep, deb [][2]string
	for _, v := range vs {
		require.NoError(t, v.Validate(), v.SemVer())
		_, err := semver.StrictNewVersion(v.SemVer())
		require.NoError(t, err, v.SemVer())
		require.Regexp(t, `^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`, v.OCITag())
		pep = append(pep, [2]string{v.PEP440(), v.PEP440()})
		deb = append(deb, [2]string{v.Debian(), v.Debian()})
	}
	valid, _ := pep440Oracle(t, pep)
	for i, ok := range valid {
		require.True(t, ok[0], "PEP 440 %s", pep[i][0])
	}
	for i, c := range dpkgOracle(t, deb) {
		require.Zero(t, c, "Debian %s", deb[i][0])
	}
}
