package pep508_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/python/pep508"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

// corpusRequirements reads every Requires-Dist of the corpus' wheels, and the
// versions the corpus holds of each distribution.
func corpusRequirements(t *testing.T) (reqs []string, versions map[string][]string) {
	t.Helper()
	versions = map[string][]string{}
	seen := map[string]bool{}
	for _, p := range testutil.CorpusFiles(t, ".whl") {
		w, err := python.ParseWheelName(filepath.Base(p))
		require.NoError(t, err)
		versions[python.Normalize(w.Name)] = append(versions[python.Normalize(w.Name)], w.Version)
		md, err := python.WheelMetadata(p)
		require.NoError(t, err)
		for _, r := range md.RequiresDist {
			if !seen[r] {
				seen[r] = true
				reqs = append(reqs, r)
			}
		}
	}
	return reqs, versions
}

// TestRequirementsAgreeWithPackaging evaluates every marker and specifier of
// the corpus' metadata (several thousand requirements of real wheels) for this
// interpreter with every extra they name, and holds each answer against
// Debian's python3-packaging: the markers, and the specifiers against every
// version of the corpus and some pre-releases.
func TestRequirementsAgreeWithPackaging(t *testing.T) {
	in, err := python.Probe(t.Context(), nil, testutil.DebianPython)
	require.NoError(t, err)
	require.Equal(t, "3.11", in.Markers["python_version"])
	reqs, versions := corpusRequirements(t)
	require.Greater(t, len(reqs), 500)
	type query struct {
		Marker, Extra, Spec, Version string
	}
	var qs []query
	var ours []bool
	for _, text := range reqs {
		r, err := pep508.ParseRequirement(text)
		require.NoError(t, err, text)
		if r.Marker != nil {
			extras := []string{""}
			for _, tok := range strings.FieldsFunc(r.Marker.String(), func(c rune) bool { return c == '"' || c == '\'' }) {
				extras = append(extras, strings.TrimSpace(tok))
			}
			for _, e := range extras[:min(len(extras), 6)] {
				got, err := r.Marker.Eval(in.Markers.With("extra", e))
				require.NoError(t, err, text)
				qs, ours = append(qs, query{Marker: r.Marker.String(), Extra: e}), append(ours, got)
			}
		}
		if r.Specifier.String() != "" {
			for _, v := range append(versions[r.Name], "0.1", "1.0rc1", "2.0.0.dev3", "99.0a1", "1.0.post1", "2.0+local", "3.0.0") {
				qs, ours = append(qs, query{Spec: r.Specifier.String(), Version: v}), append(ours, r.Specifier.Contains(v))
			}
		}
	}
	env, err := json.Marshal(in.Markers)
	require.NoError(t, err)
	script := `
import json, sys
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
env = json.loads(sys.argv[1])
for line in sys.stdin:
    q = json.loads(line)
    if q["Marker"]:
        print(int(Marker(q["Marker"]).evaluate(dict(env, extra=q["Extra"]))))
    else:
        print(int(SpecifierSet(q["Spec"]).contains(q["Version"], prereleases=True)))
`
	var stdin bytes.Buffer
	for _, q := range qs {
		b, _ := json.Marshal(q)
		stdin.Write(append(b, '\n'))
	}
	cmd := exec.Command(testutil.DebianPython, "-c", script, string(env))
	cmd.Stdin = &stdin
	out, err := cmd.Output()
	require.NoError(t, err, "python3-packaging (make test installs it)")
	sc := bufio.NewScanner(bytes.NewReader(out))
	i, wrong := 0, 0
	for sc.Scan() {
		if want := sc.Text() == "1"; ours[i] != want {
			wrong++
			assert.Fail(t, "disagrees with packaging", "%+v: ours %v, packaging %v", qs[i], ours[i], want)
		}
		i++
	}
	require.Equal(t, len(qs), i)
	t.Logf("%d requirements, %d questions, %d disagreements", len(reqs), len(qs), wrong)
}

func TestBadRequirementsAreRefused(t *testing.T) {
	for _, bad := range []string{"", "foo >= ", "foo ; python_version >", "foo ; os_name == linux", "foo ; bogus == '1'", "foo || bar", "foo ; (python_version > '3'"} {
		_, err := pep508.ParseRequirement(bad)
		assert.Error(t, err, bad)
	}
}
