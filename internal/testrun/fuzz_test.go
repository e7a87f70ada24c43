package testrun

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadJUnit reads JUnit XML as a test runner may write it, or an attacker.
func FuzzReadJUnit(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.xml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`<testsuites><testsuite name="s"><testcase name="a" classname="c" time="0.1" line="3"><failure message="m">x</failure></testcase><testsuite><testcase name="b"><skipped/></testcase></testsuite></testsuite></testsuites>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cases, err := ReadJUnit(bytes.NewReader(data))
		if err != nil {
			return
		}
		c := Count(cases)
		if c.Tests != len(cases) || c.Passed() < 0 {
			t.Fatalf("counts %+v for %d cases", c, len(cases))
		}
	})
}
