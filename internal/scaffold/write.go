package scaffold

import (
	"embed"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

//go:embed ci
var ciFiles embed.FS

// CIKind is a CI system init can write a pipeline for.
type CIKind string

// ciKinds is the one table of the CI files: where each goes and its template.
var ciKinds = map[CIKind]struct{ path, template string }{
	"github":   {".github/workflows/gopythongo.yml", "ci/github.yml"},
	"gitlab":   {".gitlab-ci.yml", "ci/gitlab-ci.yml"},
	"jenkins":  {"Jenkinsfile", "ci/Jenkinsfile"},
	"circleci": {".circleci/config.yml", "ci/circleci.yml"},
}

// CIKinds are the names --ci takes.
func CIKinds() []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(ciKinds)) {
		out = append(out, string(k))
	}
	return out
}

// CIFile is the pipeline file of a CI system: its path in the project and
// its content.
func CIFile(kind string) (string, []byte, error) {
	k, ok := ciKinds[CIKind(kind)]
	if !ok {
		return "", nil, fmt.Errorf("--ci %q: no such CI (valid: %s)", kind, strings.Join(CIKinds(), ", "))
	}
	b, err := ciFiles.ReadFile(k.template)
	return k.path, b, err
}

// File is one file init writes, relative to the project.
type File struct {
	Path string
	Data []byte
}

// Write writes the files into dir, all or none: any that exists already (or
// a symlink in its place) is an error naming it before anything is written;
// each is written under a temporary name and linked into place, which fails
// rather than replaces should it appear meanwhile.
func Write(dir string, files []File) error {
	var exist []string
	for _, f := range files {
		if !filepath.IsLocal(f.Path) {
			return fmt.Errorf("%s is not inside the project", f.Path)
		}
		if _, err := os.Lstat(filepath.Join(dir, f.Path)); err == nil {
			exist = append(exist, f.Path)
		}
	}
	if len(exist) > 0 {
		return fmt.Errorf("%s: there already, and not overwritten (nothing was written): move it away to have a new one written", strings.Join(exist, ", "))
	}
	var written []string
	for _, f := range files {
		if err := writeNew(dir, f); err != nil {
			for _, w := range written {
				os.Remove(filepath.Join(dir, w))
			}
			return err
		}
		written = append(written, f.Path)
	}
	return nil
}

// writeNew writes one file that must not exist, making its parents below
// dir; a parent that is a symlink is refused: the file would land elsewhere.
func writeNew(dir string, f File) error {
	target := filepath.Join(dir, f.Path)
	for d := filepath.Dir(f.Path); d != "."; d = filepath.Dir(d) {
		if fi, err := os.Lstat(filepath.Join(dir, d)); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symlink: %s is not written through it", d, f.Path)
		}
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), ".gopythongo-init-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(f.Data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), target); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s appeared while init ran: not overwritten", f.Path)
		}
		return err
	}
	return nil
}
