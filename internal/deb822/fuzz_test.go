package deb822

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// FuzzParse: what Parse accepts, Write writes so that Parse reads the same
// names back (control files and Packages indexes go through both).
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/Packages"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("Package: hello\nVersion: 1.0-1\nDescription: short\n long line\n .\n more\n\nPackage: other\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, p := range ps {
			var b bytes.Buffer
			if err := p.Write(&b); err != nil {
				t.Fatal(err)
			}
			again, err := Parse(&b)
			if err != nil {
				t.Fatalf("what Write wrote does not parse: %v\n%q", err, b.String())
			}
			if len(again) != 1 || len(again[0]) != len(p) {
				t.Fatalf("%d fields became %v", len(p), again)
			}
			for i := range p {
				if again[0][i].Name != p[i].Name || !strings.EqualFold(strings.Join(strings.Fields(again[0][i].Value), " "), strings.Join(strings.Fields(p[i].Value), " ")) {
					t.Fatalf("field %q: %q became %q", p[i].Name, p[i].Value, again[0][i].Value)
				}
			}
		}
	})
}
