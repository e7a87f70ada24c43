package version

import (
	"fmt"
	"testing"
	"time"
	"unicode/utf8"
)

// Each parser either refuses its input or returns a valid model whose rendering in
// the same format parses back to the same renderings. Seeds live in testdata/fuzz.

// slow turns an input that takes seconds into a crash that names it: a hang
// would only end the fuzzing run with a deadline, the input unknown.
func slow(s string) (stop func()) {
	tm := time.AfterFunc(5*time.Second, func() { panic(fmt.Sprintf("input %q takes more than 5s", s)) })
	return func() { tm.Stop() }
}

func roundTrip(t *testing.T, f Format, v Version, render func(Version) string) {
	t.Helper()
	if err := v.Validate(); err != nil {
		t.Fatalf("parsed into an invalid model: %v", err)
	}
	s := render(v)
	w, err := ParseFormat(f, s)
	if err != nil {
		t.Fatalf("rendering %q does not parse back: %v", s, err)
	}
	if f == FormatSemVer || f == FormatOCI {
		w.Epoch = v.Epoch
	}
	if got := render(w); got != s {
		t.Fatalf("round trip %q -> %q", s, got)
	}
	for _, r := range []string{v.SemVer(), v.PEP440(), v.Debian(), v.OCITag()} {
		if r == "" || !utf8.ValidString(r) {
			t.Fatalf("empty or invalid rendering %q", r)
		}
	}
}

func FuzzParseSemVer(f *testing.F) {
	f.Add("1.3.0-dev.42+g1a2b3c4d5e")
	f.Fuzz(func(t *testing.T, s string) {
		defer slow(s)()
		if v, err := ParseSemVer(s); err == nil {
			roundTrip(t, FormatSemVer, v, Version.SemVer)
		}
	})
}

func FuzzParsePEP440(f *testing.F) {
	f.Add("1.3.0.dev3+feature.login.page")
	f.Fuzz(func(t *testing.T, s string) {
		defer slow(s)()
		if v, err := ParsePEP440(s); err == nil {
			roundTrip(t, FormatPEP440, v, Version.PEP440)
		}
	})
}

func FuzzParseDebian(f *testing.F) {
	f.Add("1:1.3.0~pr123.5+g1a2b3c4d5e-2")
	f.Fuzz(func(t *testing.T, s string) {
		defer slow(s)()
		if v, err := ParseDebian(s); err == nil {
			roundTrip(t, FormatDebian, v, Version.Debian)
		}
	})
}

func FuzzParseOCITag(f *testing.F) {
	f.Add("1.3.0-feature.login-page.3_g1a2b3c4d5e")
	f.Fuzz(func(t *testing.T, s string) {
		defer slow(s)()
		if v, err := ParseOCITag(s); err == nil {
			roundTrip(t, FormatOCI, v, Version.OCITag)
		}
	})
}

func FuzzParseTag(f *testing.F) {
	f.Add("V2024.01.15-RC1+Build-5")
	f.Fuzz(func(t *testing.T, s string) {
		defer slow(s)()
		if v, err := ParseTag(s); err == nil {
			roundTrip(t, FormatSemVer, v, Version.SemVer)
			roundTrip(t, FormatDebian, v, Version.Debian)
		}
	})
}

func FuzzRegexParser(f *testing.F) {
	p, err := NewRegexParser(`^(?:(?P<epoch>\d+)!)?r(?P<major>\d+)(?:\.(?P<minor>\d+))?(?:\.(?P<patch>\d+))?(?:-(?P<pre>[a-zA-Z]+)(?P<pre_number>\d*))?(?:\+(?P<build>.*))?$`)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("r1.2-rc3+abc")
	f.Fuzz(func(t *testing.T, s string) {
		defer slow(s)()
		if v, err := p.Parse(s); err == nil {
			roundTrip(t, FormatDebian, v, Version.Debian)
		}
	})
}

func FuzzSlug(f *testing.F) {
	f.Add("feature/JIRA-0042_Login Page")
	f.Fuzz(func(t *testing.T, name string) {
		s := Slug(name)
		if !isSlug(s) {
			t.Fatalf("Slug(%q) = %q is not a slug", name, s)
		}
		if Slug(name) != s {
			t.Fatal("not deterministic")
		}
		v := Version{Major: 1, Pre: &Pre{Label: LabelFeature, Name: s, Number: 3}, Build: []string{"g0123456789"}}
		if err := v.Validate(); err != nil {
			t.Fatalf("feature version for %q invalid: %v", name, err)
		}
		roundTrip(t, FormatDebian, v, Version.Debian)
		roundTrip(t, FormatPEP440, v, Version.PEP440)
		roundTrip(t, FormatOCI, v, Version.OCITag)
	})
}
