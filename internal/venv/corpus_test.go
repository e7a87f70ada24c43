package venv

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/testutil"
)

// corpusWheels are the corpus' wheels that run on Debian's interpreter.
func corpusWheels(t *testing.T, in python.Interpreter) []WheelFile {
	t.Helper()
	var out []WheelFile
	for _, p := range testutil.CorpusFiles(t, ".whl") {
		w, err := python.ParseWheelName(filepath.Base(p))
		require.NoError(t, err)
		if _, ok := in.Supports(w.Tags); !ok {
			continue
		}
		out = append(out, WheelFile{Path: p, File: filepath.Base(p)})
	}
	return out
}

// TestNativeInstallerEqualsPipOnTheCorpus installs every wheel of the corpus
// once with pip (Debian's, the reference) and once natively into a venv at the
// same path, and compares the trees: paths, modes, links, contents, RECORD,
// scripts and metadata files.
func TestNativeInstallerEqualsPipOnTheCorpus(t *testing.T) {
	t.Parallel()
	in, err := python.Probe(t.Context(), nil, testutil.DebianPython)
	require.NoError(t, err)
	wheels := corpusWheels(t, in)
	require.GreaterOrEqual(t, len(wheels), 150, "the corpus holds at least 150 wheels for this interpreter")
	dir := t.TempDir()
	venv := filepath.Join(dir, "venv")
	trees := map[string]map[string]string{}
	for _, inst := range []string{"pip", "native"} {
		b, err := exec.Command(testutil.DebianPython, "-m", "venv", "--without-pip", venv).CombinedOutput()
		require.NoError(t, err, "%s", b)
		if inst == "pip" {
			// By name and version from the corpus, as from an index.
			args := []string{"-m", "pip", "--python", filepath.Join(venv, "bin", "python"), "install", "-q", "--no-index", "--no-deps", "--no-compile", "--no-warn-script-location", "--find-links", testutil.Corpus(t)}
			for _, w := range wheels {
				pw, err := python.ParseWheelName(w.File)
				require.NoError(t, err)
				args = append(args, pw.Name+"=="+pw.Version)
			}
			cmd := exec.Command(testutil.DebianPython, args...)
			cmd.Env = testutil.CleanEnv()
			b, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", b)
		} else {
			n := &nativeInstaller{staging: venv, deploy: venv, layout: layout{pyver: "3.11"}, limits: python.DefaultWheelLimits()}
			require.NoError(t, n.Install(t.Context(), nil, wheels))
		}
		trees[inst] = installedTree(t, venv)
		require.NoError(t, os.Rename(venv, filepath.Join(dir, inst)))
	}
	// The one difference, by design: INSTALLER names the tool that installed
	// the distribution (the installed-project spec), so it says gopythongo,
	// and RECORD's line for it has that file's hash and size.
	pipLine := "INSTALLER," + python.RecordHash([]byte("pip\n")) + ",4"
	nativeLine := "INSTALLER," + python.RecordHash([]byte("gopythongo\n")) + ",11"
	for f, want := range trees["pip"] {
		if filepath.Base(filepath.Dir(filepath.Dir(f))) != "site-packages" {
			continue // a dist-info vendored inside a package is just a file
		}
		switch filepath.Base(f) {
		case "INSTALLER":
			require.Equal(t, "644 pip\n", want, f)
			trees["pip"][f] = "644 gopythongo\n"
		case "RECORD":
			require.Contains(t, want, pipLine, f)
			trees["pip"][f] = strings.Replace(want, pipLine, nativeLine, 1)
		}
	}
	differences := 0
	for f, want := range trees["pip"] {
		if !assert.Equal(t, want, trees["native"][f], f) {
			differences++
		}
	}
	for f := range trees["native"] {
		if _, ok := trees["pip"][f]; !ok {
			differences++
			t.Errorf("only the native installer made %s", f)
		}
	}
	t.Logf("%d wheels, %d paths, %d differences", len(wheels), len(trees["pip"]), differences)
}

// installedTree reads every file and link of a venv as mode and content.
func installedTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			out[rel+"/"] = fmt.Sprintf("%o", fi.Mode())
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "-> " + target
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			// Large files by their hash: the corpus' trees hold 600 MiB.
			if len(b) > 64<<10 && d.Name() != "RECORD" {
				sum := sha256.Sum256(b)
				b = []byte(fmt.Sprintf("%d bytes, sha256 %x", len(b), sum))
			}
			out[rel] = fmt.Sprintf("%o %s", fi.Mode(), b)
		}
		return nil
	}))
	return out
}
