package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Corpus is the directory of real PyPI distributions that scripts/fetch-corpus
// downloads (make deps): tools/corpus/requirements.txt as pip chooses it for
// /usr/bin/python3, some sdists and wheels for other targets.
func Corpus(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(FixtureDir(), "pypi", "files")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the PyPI corpus is missing (%v): run make deps, which downloads it once", err)
	}
	return dir
}

// CorpusFiles lists the corpus' files whose names end with suffix (".whl",
// ".tar.gz").
func CorpusFiles(t testing.TB, suffix string) []string {
	t.Helper()
	entries, err := os.ReadDir(Corpus(t))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), suffix) {
			out = append(out, filepath.Join(Corpus(t), e.Name()))
		}
	}
	return out
}

// PyTool is a tool of dist/tools/pytools (uv, poetry, pip-compile,
// pypi-server, devpi-server, twine), installed by make deps.
func PyTool(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(RepoRoot(), "dist", "tools", "pytools", "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing (%v): run make deps, which installs tools/pytools", name, err)
	}
	return p
}

// CITool is a program of dist/tools/citools (bin/act,
// node_modules/.bin/gitlab-ci-local, jpu/), installed by make deps.
func CITool(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(RepoRoot(), "dist", "tools", "citools", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing (%v): run make deps, which runs scripts/install-citools", name, err)
	}
	return p
}
