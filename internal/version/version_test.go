package version

import (
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pre(label, name string, n uint64) *Pre { return &Pre{Label: label, Name: name, Number: n} }

// The table of ../shared/reference/versions.md, row by row.
func TestRenderingsTable(t *testing.T) {
	sha := []string{"g1a2b3c4d5e"}
	tests := []struct {
		name    string
		v       Version
		want    Renderings
		channel Channel
	}{
		{"tag v1.2.3 on main", Version{Major: 1, Minor: 2, Patch: 3},
			Renderings{"1.2.3", "1.2.3", "1.2.3-1", "1.2.3"}, ChannelRelease},
		{"first RC", Version{Major: 1, Minor: 3, Pre: pre("rc", "", 1)},
			Renderings{"1.3.0-rc.1", "1.3.0rc1", "1.3.0~rc1-1", "1.3.0-rc.1"}, ChannelRC},
		{"tenth RC", Version{Major: 1, Minor: 3, Pre: pre("rc", "", 10)},
			Renderings{"1.3.0-rc.10", "1.3.0rc10", "1.3.0~rc10-1", "1.3.0-rc.10"}, ChannelRC},
		{"develop 42 after 1.2.3", Version{Major: 1, Minor: 3, Pre: pre("dev", "", 42)},
			Renderings{"1.3.0-dev.42", "1.3.0.dev42", "1.3.0~dev42-1", "1.3.0-dev.42"}, ChannelDev},
		{"develop with commit id", Version{Major: 1, Minor: 3, Pre: pre("dev", "", 42), Build: sha},
			Renderings{"1.3.0-dev.42+g1a2b3c4d5e", "1.3.0.dev42+g1a2b3c4d5e", "1.3.0~dev42+g1a2b3c4d5e-1", "1.3.0-dev.42_g1a2b3c4d5e"}, ChannelDev},
		{"feature/login-page", Version{Major: 1, Minor: 3, Pre: pre("feature", "login-page", 3)},
			Renderings{"1.3.0-feature.login-page.3", "1.3.0.dev3+feature.login.page", "1.3.0~feature.login.page.3-1", "1.3.0-feature.login-page.3"}, ChannelFeature},
		{"PR 123", Version{Major: 1, Minor: 3, Pre: pre("pr", "123", 5)},
			Renderings{"1.3.0-pr.123.5", "1.3.0.dev5+pr.123", "1.3.0~pr123.5-1", "1.3.0-pr.123.5"}, ChannelPR},
		{"revision 2", Version{Major: 1, Minor: 2, Patch: 3, Revision: 2},
			Renderings{"1.2.3+rev.2", "1.2.3.post1", "1.2.3-2", "1.2.3_rev.2"}, ChannelRelease},
		{"dirty", Version{Major: 1, Minor: 3, Pre: pre("dev", "", 42), Build: []string{"g1a2b3c4d5e", "dirty"}},
			Renderings{"1.3.0-dev.42+g1a2b3c4d5e.dirty", "1.3.0.dev42+g1a2b3c4d5e.dirty", "1.3.0~dev42+g1a2b3c4d5e.dirty-1", "1.3.0-dev.42_g1a2b3c4d5e.dirty"}, ChannelDev},
		{"no tag yet", Version{Minor: 1, Pre: pre("dev", "", 17)},
			Renderings{"0.1.0-dev.17", "0.1.0.dev17", "0.1.0~dev17-1", "0.1.0-dev.17"}, ChannelDev},
		// Beyond the table.
		{"epoch", Version{Epoch: 1, Major: 2},
			Renderings{"2.0.0", "1!2.0.0", "1:2.0.0-1", "2.0.0"}, ChannelRelease},
		{"feature with commit id", Version{Major: 1, Minor: 3, Pre: pre("feature", "login-page", 3), Build: sha},
			Renderings{"1.3.0-feature.login-page.3+g1a2b3c4d5e", "1.3.0.dev3+feature.login.page.g1a2b3c4d5e", "1.3.0~feature.login.page.3+g1a2b3c4d5e-1", "1.3.0-feature.login-page.3_g1a2b3c4d5e"}, ChannelFeature},
		{"dev revision 2", Version{Major: 1, Minor: 3, Pre: pre("dev", "", 4), Revision: 2},
			Renderings{"1.3.0-dev.4+rev.2", "1.3.0.dev4+rev.2", "1.3.0~dev4-2", "1.3.0-dev.4_rev.2"}, ChannelDev},
		{"rc revision 3", Version{Major: 1, Minor: 3, Pre: pre("rc", "", 2), Revision: 3},
			Renderings{"1.3.0-rc.2+rev.3", "1.3.0rc2.post2", "1.3.0~rc2-3", "1.3.0-rc.2_rev.3"}, ChannelRC},
		{"post-release of untagged main", Version{Major: 1, Minor: 2, Patch: 3, Post: 4, Build: sha},
			Renderings{"1.2.3+post.4.g1a2b3c4d5e", "1.2.3.post4+g1a2b3c4d5e", "1.2.3+post4+g1a2b3c4d5e-1", "1.2.3_post.4.g1a2b3c4d5e"}, ChannelPost},
		{"alpha", Version{Major: 2, Pre: pre("alpha", "", 1)},
			Renderings{"2.0.0-alpha.1", "2.0.0a1", "2.0.0~alpha1-1", "2.0.0-alpha.1"}, ChannelRC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.v.Validate())
			assert.Equal(t, tt.want, tt.v.Render())
			assert.Equal(t, tt.channel, tt.v.Channel())
			_, err := semver.StrictNewVersion(tt.want.SemVer)
			assert.NoError(t, err, "SemVer validator")
			// Each rendering parses back to the same model.
			for f, s := range map[Format]string{FormatSemVer: tt.want.SemVer, FormatPEP440: tt.want.PEP440, FormatDebian: tt.want.Debian, FormatOCI: tt.want.OCITag} {
				got, err := ParseFormat(f, s)
				require.NoError(t, err, "%s %s", f, s)
				if f == FormatSemVer || f == FormatOCI {
					got.Epoch = tt.v.Epoch // SemVer and OCI have no epoch
				}
				if f == FormatPEP440 && tt.v.Post > 0 {
					continue // .postN reads back as a revision: documented in Compare
				}
				assert.Equal(t, tt.want, got.Render(), "%s %s round trip", f, s)
			}
		})
	}
}

func TestParseTag(t *testing.T) {
	tests := []struct {
		in   string
		want string // SemVer, or "" for an error
		pep  string
	}{
		{"v1.2.3", "1.2.3", "1.2.3"},
		{"V1.2.3", "1.2.3", "1.2.3"},
		{"1.2.3", "1.2.3", "1.2.3"},
		{"1.0.0-RC1", "1.0.0-rc.1", "1.0.0rc1"},
		{"1.0.0-rc.1", "1.0.0-rc.1", "1.0.0rc1"},
		{"1.0.0rc1", "1.0.0-rc.1", "1.0.0rc1"},
		{"1.0-dev", "1.0.0-dev.0", "1.0.0.dev0"},
		{"1.0.0.dev3", "1.0.0-dev.3", "1.0.0.dev3"},
		{"2024.01.15", "2024.1.15", "2024.1.15"},
		{"v2024.01", "2024.1.0", "2024.1.0"},
		{"1!2.0.0", "2.0.0", "1!2.0.0"},
		{"1:2.0.0", "2.0.0", "1!2.0.0"},
		{"1.2.3+build.5", "1.2.3+build.5", "1.2.3+build.5"},
		{"1.2.3+Build-5", "1.2.3+build.5", "1.2.3+build.5"},
		{"1.0.0-alpha", "1.0.0-alpha.0", "1.0.0a0"},
		{"1.0.0-beta.2", "1.0.0-beta.2", "1.0.0b2"},
		{"1.0.0-preview.2", "1.0.0-rc.2", "1.0.0rc2"},
		{"1.0b2", "1.0.0-beta.2", "1.0.0b2"},
		{"1.0.post1", "1.0.0+rev.2", "1.0.0.post1"},
		{"1.3.0~rc1-1", "1.3.0-rc.1", "1.3.0rc1"},
		{"1.2.3.4", "", ""},
		{"release-1", "", ""},
		{"1.0.0-foo.1", "", ""},
		{"v", "", ""},
		{"", "", ""},
		{"1.2.3-", "", ""},
		{"99999999999999999999999.0.0", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := ParseTag(tt.in)
			if tt.want == "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "not a valid")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, v.SemVer())
			assert.Equal(t, tt.pep, v.PEP440())
		})
	}
}

func TestParseErrorsNameTheFix(t *testing.T) {
	_, err := ParseSemVer("v1.2.3")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `without leading zeros or a "v"`)
	_, err = ParseTag("1.2.3.4")
	assert.ErrorContains(t, err, "at most three")
	_, err = ParsePEP440("1.0rc1.dev2")
	assert.ErrorContains(t, err, "cannot be represented")
	_, err = ParseFormat("yaml", "1")
	assert.ErrorContains(t, err, "valid: semver, pep440, debian, oci, tag")
}

func TestRegexParser(t *testing.T) {
	p, err := NewRegexParser(`^rel-(?P<major>\d+)_(?P<minor>\d+)(?:_(?P<patch>\d+))?(?:-(?P<pre>[a-z]+)(?P<pre_number>\d+))?$`)
	require.NoError(t, err)
	v, err := p.Parse("rel-2_5-rc3")
	require.NoError(t, err)
	assert.Equal(t, "2.5.0-rc.3", v.SemVer())
	v, err = p.Parse("rel-2_5_1")
	require.NoError(t, err)
	assert.Equal(t, "2.5.1", v.SemVer())
	_, err = p.Parse("v2.5")
	assert.ErrorContains(t, err, "does not match")

	_, err = NewRegexParser(`(?P<minor>\d+)`)
	assert.ErrorContains(t, err, "(?P<major>")
	_, err = NewRegexParser(`(?P<major>\d+)(?P<nope>x)`)
	assert.ErrorContains(t, err, `unknown group "nope"`)
	_, err = NewRegexParser(`(`)
	assert.Error(t, err)
}

func TestBump(t *testing.T) {
	tests := []struct {
		in   string
		part Part
		want string
	}{
		{"1.2.3", PartMajor, "2.0.0"},
		{"1.2.3", PartMinor, "1.3.0"},
		{"1.2.3", PartPatch, "1.2.4"},
		{"1.2.3", PartRevision, "1.2.3+rev.2"},
		{"1.2.3+rev.2", PartRevision, "1.2.3+rev.3"},
		{"1.3.0-rc.1", PartMinor, "1.3.0"}, // Masterminds would say 1.4.0
		{"1.3.0-rc.1", PartMajor, "2.0.0"},
		{"2.0.0-rc.1", PartMajor, "2.0.0"},
		{"1.2.4-dev.3", PartPatch, "1.2.4"},
		{"1.2.4-dev.3+g1a2b3c4d5e", PartMinor, "1.3.0"},
		{"1.3.0-dev.4+g1a2b3c4d5e", PartRevision, "1.3.0-dev.4+g1a2b3c4d5e.rev.2"},
	}
	for _, tt := range tests {
		v, err := ParseSemVer(tt.in)
		require.NoError(t, err)
		got, err := Bump(v, tt.part)
		require.NoError(t, err)
		assert.Equal(t, tt.want, got.SemVer(), "%s %s", tt.part, tt.in)
	}
	_, err := Bump(Version{}, "micro")
	assert.ErrorContains(t, err, "valid: major, minor, patch, revision")
}

func TestSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"login-page", "login-page"},
		{"Login_Page", "login-page"},
		{"feature/JIRA-123/Fix.Thing", "feature-jira-123-fix-thing"},
		{"--x--", "x"},
		{"jira-0042", "jira-42"},
		{"123", "n123"},
		{"0123", "n123"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Slug(tt.in), tt.in)
	}
	// Unicode only and very long names: still valid, still distinct.
	u1, u2 := Slug("日本語"), Slug("中文")
	assert.NotEqual(t, u1, u2)
	assert.True(t, isSlug(u1), u1)
	long := strings.Repeat("abcdefghij", 30)
	l1, l2 := Slug(long+"1"), Slug(long+"2")
	assert.NotEqual(t, l1, l2)
	assert.LessOrEqual(t, len(l1), maxSlug)
	assert.True(t, isSlug(l1), l1)
}

func TestCompareBasics(t *testing.T) {
	order := []string{"0.1.0-dev.17", "1.2.3", "1.2.3+rev.2", "1.3.0-alpha.1", "1.3.0-beta.1", "1.3.0-dev.4", "1.3.0-dev.42",
		"1.3.0-rc.1", "1.3.0-rc.9", "1.3.0-rc.10", "1.3.0", "1.3.1"}
	var vs []Version
	for _, s := range order {
		v, err := ParseSemVer(s)
		require.NoError(t, err)
		vs = append(vs, v)
	}
	for i := 1; i < len(vs); i++ {
		assert.Equal(t, -1, Compare(vs[i-1], vs[i]), "%s < %s", order[i-1], order[i])
		assert.Equal(t, 1, Compare(vs[i], vs[i-1]))
		assert.Equal(t, 0, Compare(vs[i], vs[i]))
	}
	m, ok := Max(vs)
	require.True(t, ok)
	assert.Equal(t, "1.3.1", m.SemVer())
	_, ok = Max(nil)
	assert.False(t, ok)
	// Build metadata takes no part in the order.
	a, _ := ParseSemVer("1.3.0-dev.4+g0000000000")
	b, _ := ParseSemVer("1.3.0-dev.4+gffffffffff")
	assert.Equal(t, 0, Compare(a, b))
	// A release beats its pre-releases; epochs beat everything.
	e, _ := ParseTag("1!0.1.0")
	assert.Equal(t, 1, Compare(e, vs[len(vs)-1]))
}

func TestValidateRejects(t *testing.T) {
	bad := []Version{
		{Pre: &Pre{Label: "Rc"}},
		{Pre: &Pre{Label: "rc", Name: "x"}},
		{Pre: &Pre{Label: "feature", Name: "Bad_Name"}},
		{Pre: &Pre{Label: "pr", Name: "01"}},
		{Pre: &Pre{Label: "nightly"}},
		{Pre: &Pre{Label: "rc"}, Post: 1},
		{Build: []string{"Upper"}},
		{Epoch: -1},
		{Revision: -1},
	}
	for _, v := range bad {
		assert.Error(t, v.Validate(), "%+v", v)
	}
}
