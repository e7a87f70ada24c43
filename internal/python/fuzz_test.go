package python

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// realWheel is one of Debian's wheels, the seed every wheel fuzzer starts from.
func realWheel(f *testing.F) string {
	files, _ := filepath.Glob("/usr/share/python-wheels/wheel-*.whl")
	if len(files) == 0 {
		f.Fatal("make test installs python3-wheel-whl")
	}
	return files[0]
}

// member reads one file of a real wheel, as a seed.
func member(f *testing.F, suffix string) []byte {
	zr, err := zip.OpenReader(realWheel(f))
	if err != nil {
		f.Fatal(err)
	}
	defer zr.Close()
	for _, m := range zr.File {
		if strings.HasSuffix(m.Name, suffix) {
			rc, _ := m.Open()
			var b bytes.Buffer
			b.ReadFrom(rc)
			rc.Close()
			return b.Bytes()
		}
	}
	f.Fatalf("no %s in %s", suffix, realWheel(f))
	return nil
}

func FuzzParseMetadata(f *testing.F) {
	f.Add(member(f, ".dist-info/METADATA"))
	f.Add([]byte("Metadata-Version: 2.1\nName: x\nVersion: 1\nLicense-Expression: MIT\n\nbody"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMetadata(bytes.NewReader(data))
		if err == nil && (m.Name == "" || m.Version == "") {
			t.Fatal("metadata without a name or version was accepted")
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	f.Add(member(f, ".dist-info/RECORD"))
	f.Add([]byte("\"a,b\",sha256=x,1\r\nc,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := ParseRecord(data)
		if err != nil {
			return
		}
		for _, e := range es {
			if e.Path == "" || e.Size < -1 {
				t.Fatalf("bad entry %+v accepted", e)
			}
		}
	})
}

func FuzzParseEntryPoints(f *testing.F) {
	f.Add(member(f, ".dist-info/entry_points.txt"))
	f.Add([]byte("[console_scripts]\nhello = hello.cli:main [extra]\n; comment\n[gui_scripts]\ng=m:f\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		eps, err := ParseEntryPoints(data)
		if err != nil {
			return
		}
		for _, ep := range eps {
			if !validScriptName(ep.Name) || strings.ContainsAny(ep.Name, "/\\\n") || !validDotted(ep.Module) || !validDotted(ep.Attr) {
				t.Fatalf("entry point %+v accepted", ep)
			}
		}
	})
}

func FuzzParseWheelName(f *testing.F) {
	f.Add(filepath.Base(realWheel(f)))
	f.Add("numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
	f.Fuzz(func(t *testing.T, s string) {
		if w, err := ParseWheelName(s); err == nil && (w.Name == "" || w.Version == "" || len(w.Tags) == 0) {
			t.Fatalf("%q accepted as %+v", s, w)
		}
	})
}

// FuzzOpenWheel opens and verifies archives as wheels: whatever it accepts
// has safe member names, each listed in RECORD with an accepted hash.
func FuzzOpenWheel(f *testing.F) {
	b, err := os.ReadFile(realWheel(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "fuzz-1.0-py3-none-any.whl")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := OpenWheel(p, WheelLimits{MaxEntrySize: 1 << 20, MaxSize: 4 << 20, MaxRatio: 200})
		if err != nil {
			return
		}
		defer a.Close()
		for _, m := range a.Members {
			if err := checkMemberName(m.Name); err != nil {
				t.Fatalf("%q accepted: %v", m.Name, err)
			}
			if _, _, err := parseRecordHash(a.record[m.Name].Hash); err != nil {
				t.Fatalf("%q accepted with hash %q", m.Name, a.record[m.Name].Hash)
			}
		}
		a.Verify()
	})
}
