package testrun

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/config"
)

func TestUnknownRunnerNamesTheChoices(t *testing.T) {
	_, err := RunnerFor("nose")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown test runner "nose" (valid: custom, pytest, unittest)`)
}

// TestUnittestFindsSuitesWithoutInitFiles: suite directories need no
// __init__.py, as with python -m unittest discover -s; packages still import
// as packages.
func TestUnittestFindsSuitesWithoutInitFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(dir, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	test := "import unittest\nclass T(unittest.TestCase):\n    def test_ok(self):\n        self.assertTrue(True)\n    def test_bad(self):\n        self.assertEqual(1, 2)\n"
	write("tests/unit/test_plain.py", test)
	write("pkgtests/__init__.py", "")
	write("pkgtests/test_pkg.py", test)
	for _, paths := range [][]string{{"tests/unit"}, {"pkgtests"}, {"tests/unit", "pkgtests"}} {
		var out bytes.Buffer
		cases, err := unittestRunner{}.Run(context.Background(), RunSpec{Suite: "s", Python: "/usr/bin/python3", Dir: dir, JUnit: filepath.Join(t.TempDir(), "s.xml"),
			Config: config.TestSuite{Paths: paths}, Output: &out, Env: os.Environ()})
		require.NoError(t, err, "%v: %s", paths, out.String())
		require.Len(t, cases, 2*len(paths), "%v: %s", paths, out.String())
		for _, c := range cases {
			assert.NotEmpty(t, c.File, "%v: %+v", paths, c)
			if c.Name == "test_bad" {
				assert.Equal(t, "failed", c.Outcome)
				assert.Equal(t, 6, c.Line, "the failing assertion's line")
			}
		}
	}
}
