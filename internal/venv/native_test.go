package venv

import (
	"archive/zip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

type zipEntry struct {
	name string
	data string
	exec bool
}

// craftWheel writes a wheel with a correct RECORD unless tamper is set.
func craftWheel(t *testing.T, dir, name, version string, entries []zipEntry, tamper bool) string {
	t.Helper()
	info := name + "-" + version + ".dist-info"
	entries = append(entries,
		zipEntry{name: info + "/METADATA", data: "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\nLicense: MIT\n"},
		zipEntry{name: info + "/WHEEL", data: "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"})
	var record strings.Builder
	for _, e := range entries {
		sum := sha256.Sum256([]byte(e.data))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", e.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(e.data))
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", info)
	entries = append(entries, zipEntry{name: info + "/RECORD", data: record.String()})
	if tamper {
		entries[0].data = "#" + entries[0].data[1:] // changed after RECORD was written, same size
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	p := filepath.Join(dir, name+"-"+version+"-py3-none-any.whl")
	f, err := os.Create(p)
	require.NoError(t, err)
	zw := zip.NewWriter(f)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(0o644)
		if e.exec {
			h.SetMode(0o755)
		}
		w, err := zw.CreateHeader(h)
		require.NoError(t, err)
		_, err = w.Write([]byte(e.data))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	return p
}

var fancy = []zipEntry{
	{name: "fancy/__init__.py", data: "def gui():\n    return 0\n"},
	{name: "fancy/cli.py", data: "class app:\n    @staticmethod\n    def main():\n        print('fancy')\n"},
	{name: "fancy/tool.sh", data: "#!/bin/sh\necho tool\n", exec: true},
	{name: "fancy-1.0.data/scripts/fancy-run", data: "#!python\nimport fancy\nprint('run')\n"},
	{name: "fancy-1.0.data/scripts/plain.sh", data: "#!/bin/sh\necho plain\n"},
	{name: "fancy-1.0.data/data/share/fancy/readme.txt", data: "read me\n"},
	{name: "fancy-1.0.data/headers/fancy.h", data: "int fancy(void);\n"},
	{name: "fancy-1.0.data/purelib/fancy_extra.py", data: "X = 1\n"},
	{name: "fancy-1.0.dist-info/entry_points.txt", data: "[console_scripts]\nfancy = fancy.cli:app.main\nfancy-extra = fancy.cli:app.main [extra]\n\n[gui_scripts]\nfancy-gui = fancy:gui\n"},
}

// treeFiles reads every file and link of a tree, leaving out what only says
// which installer it was (INSTALLER, and its line in RECORD).
func treeFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, _ := d.Info()
		if d.Type()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			out[rel] = "-> " + target
			return nil
		}
		if filepath.Base(p) == "INSTALLER" {
			return nil
		}
		b, err := os.ReadFile(p)
		if filepath.Base(p) == "RECORD" {
			var keep []string
			for _, l := range strings.Split(string(b), "\n") {
				if !strings.Contains(l, "/INSTALLER,") {
					keep = append(keep, l)
				}
			}
			b = []byte(strings.Join(keep, "\n"))
		}
		out[rel] = fmt.Sprintf("%o %s", fi.Mode(), b)
		return err
	}))
	return out
}

// TestNativeInstallerMakesPipsTree holds the native and uv installers
// against pip on the example project and on a wheel using every corner of
// the format.
func TestNativeInstallerMakesPipsTree(t *testing.T) {
	p := testutil.HelloProject(t, helloConfig+"  packages: [fancy==1.0]\n  compile: false\n")
	craftWheel(t, filepath.Join(p.Dir, "wheels"), "fancy", "1.0", slices.Clone(fancy), false)
	cache := t.TempDir()
	trees := map[string]map[string]string{}
	for _, inst := range []string{"pip", "native", "uv"} {
		run := buildIn(t, p.Dir, cache, "GOPYTHONGO_VENV_INSTALLER="+inst, "GOPYTHONGO_VENV_UV="+testutil.PyTool(t, "uv"))
		require.NoError(t, run.err, run.log)
		trees[inst] = treeFiles(t, filepath.Join(p.Dir, "dist", "root"))
	}
	require.NotEmpty(t, trees["pip"])
	want := map[string]map[string]string{"native": trees["pip"], "uv": uvOwn(t, trees["uv"], trees["pip"], []string{"hello", "fancy", "fancy-extra", "fancy-gui"})}
	for _, other := range []string{"native", "uv"} {
		for f := range want[other] {
			assert.Equal(t, want[other][f], trees[other][f], "%s: %s", other, f)
		}
		for f := range trees[other] {
			_, ok := want[other][f]
			assert.True(t, ok, "only the %s installer made %s", other, f)
		}
	}
	root := filepath.Join(p.Dir, "dist", "root")
	assert.Equal(t, "fancy\n", inNamespace(t, root, "/opt/hello", "/opt/hello/bin/fancy"))
	assert.Equal(t, "run\n", inNamespace(t, root, "/opt/hello", "/opt/hello/bin/python", "/opt/hello/bin/fancy-run"))
}

func TestNativeInstallerRefusesBadWheels(t *testing.T) {
	tests := []struct {
		name    string
		entries []zipEntry
		tamper  bool
		want    string
	}{
		{"tampered file", []zipEntry{{name: "bad/__init__.py", data: "x = 1\n"}}, true, "does not match its RECORD hash"},
		{"escaping entry", []zipEntry{{name: "../../../../etc/evil", data: "x"}}, false, "could climb out of the venv"},
		{"escaping data entry", []zipEntry{{name: "bad-1.0.data/data/../../../../evil", data: "x"}}, false, "could climb out of the venv"},
		{"unknown scheme", []zipEntry{{name: "bad-1.0.data/elsewhere/x", data: "x"}}, false, "unknown install scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w := craftWheel(t, dir, "bad", "1.0", tt.entries, tt.tamper)
			staging := filepath.Join(t.TempDir(), "venv")
			sum, err := sha256File(w)
			require.NoError(t, err)
			require.NoError(t, os.MkdirAll(staging, 0o755))
			n := &nativeInstaller{staging: staging, deploy: "/opt/x", layout: layout{pyver: "3.11"}, limits: python.DefaultWheelLimits()}
			err = n.Install(t.Context(), nil, []WheelFile{{Path: w, File: filepath.Base(w), SHA256: sum}})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "bad-1.0-py3-none-any.whl")
		})
	}
	// Two wheels that write one file.
	dir := t.TempDir()
	a := craftWheel(t, dir, "aaa", "1.0", []zipEntry{{name: "shared/x.py", data: "a"}}, false)
	b := craftWheel(t, dir, "bbb", "1.0", []zipEntry{{name: "shared/x.py", data: "b"}}, false)
	n := &nativeInstaller{staging: t.TempDir(), deploy: "/opt/x", layout: layout{pyver: "3.11"}, limits: python.DefaultWheelLimits()}
	err := n.Install(t.Context(), nil, []WheelFile{{Path: a, File: filepath.Base(a)}, {Path: b, File: filepath.Base(b)}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a file of aaa-1.0-py3-none-any.whl")
}

// uvOwn takes out of uv's tree what uv does its own way, by design, after
// checking it: its entry-point scripts (another template, the same
// interpreter line and function) with their RECORD lines, and the
// executable bit it gives every script of bin/. It returns pip's tree as uv
// is to match it.
func uvOwn(t *testing.T, uv, pipTree map[string]string, scripts []string) map[string]string {
	t.Helper()
	pip := maps.Clone(pipTree)
	for f, content := range uv {
		switch {
		case strings.HasSuffix(f, "/RECORD"):
			var keep []string
			for _, l := range strings.Split(content, "\n") {
				if !isScriptLine(l, scripts) {
					keep = append(keep, l)
				}
			}
			uv[f] = strings.Join(keep, "\n")
			var pipKeep []string
			for _, l := range strings.Split(pip[f], "\n") {
				if !isScriptLine(l, scripts) {
					pipKeep = append(pipKeep, l)
				}
			}
			pip[f] = strings.Join(pipKeep, "\n")
		}
	}
	for _, s := range scripts {
		f := "opt/hello/bin/" + s
		require.Contains(t, uv, f)
		assert.Equal(t, strings.SplitN(pip[f], "\n", 2)[0], strings.SplitN(uv[f], "\n", 2)[0], f)
		uv[f] = pip[f]
	}
	for _, f := range []string{"opt/hello/bin/fancy-run", "opt/hello/bin/plain.sh"} { // the wheel's .data/scripts
		if strings.HasPrefix(pip[f], "644 ") {
			pip[f] = "755 " + pip[f][4:]
		}
	}
	return pip
}

func isScriptLine(l string, scripts []string) bool {
	for _, s := range scripts {
		if strings.HasPrefix(strings.TrimPrefix(l, "644 "), "../../../bin/"+s+",") {
			return true
		}
	}
	return false
}

// TestNativeRecordIsPipsWhateverTheWheelHashes: a member written as it is
// keeps the hash the wheel's RECORD gives (sha384, sha512, padded base64),
// not hashed again; a script whose #! line is rewritten is hashed as
// written. The installed RECORD is the one pip writes.
func TestNativeRecordIsPipsWhateverTheWheelHashes(t *testing.T) {
	digest := func(algo string, sum []byte) string { return algo + "=" + base64.RawURLEncoding.EncodeToString(sum) }
	s384, s512 := sha512.Sum384([]byte("B = 2\n")), sha512.Sum512([]byte("C = 3\n"))
	members := []member{
		{name: "mixed/__init__.py", data: "A = 1\n"},
		{name: "mixed/b.py", data: "B = 2\n", hash: digest("sha384", s384[:])},
		{name: "mixed/c.py", data: "C = 3\n", hash: digest("sha512", s512[:])},
		{name: "mixed/d.py", data: "D = 4\n", hash: "sha256=" + base64.URLEncoding.EncodeToString(sumOf("D = 4\n"))},
		{name: "mixed/empty.txt", data: ""},
		{name: "mixed-1.0.data/scripts/rewritten", data: "#!python\nprint('r')\n"},
		{name: "mixed-1.0.data/scripts/kept.sh", data: "#!/bin/sh\necho kept\n"},
	}
	cache := t.TempDir()
	records := map[string]string{}
	for _, inst := range []string{"pip", "native"} {
		p := testutil.HelloProject(t, fmt.Sprintf(evilConfig, testutil.DebianPython, "mixed==1.0"))
		evilWheel(t, filepath.Join(p.Dir, "wheels"), "mixed", members, "")
		run := buildIn(t, p.Dir, cache, "GOPYTHONGO_VENV_INSTALLER="+inst)
		require.NoError(t, run.err, run.log)
		files := treeFiles(t, filepath.Join(p.Dir, "dist", "root"))
		for rel, content := range files {
			if strings.HasSuffix(rel, "mixed-1.0.dist-info/RECORD") {
				records[inst] = content
			}
		}
		require.Contains(t, records[inst], "mixed/__init__.py,sha256=", inst)
	}
	assert.Contains(t, records["pip"], "mixed/b.py,sha384=")
	assert.Contains(t, records["pip"], "mixed/c.py,sha512=")
	assert.Equal(t, records["pip"], records["native"])
}

func sumOf(s string) []byte { sum := sha256.Sum256([]byte(s)); return sum[:] }
