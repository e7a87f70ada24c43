package store

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/deb822"
)

// CommitField is the control field in which GoPythonGo's .debs record their
// source commit, so that a store can tell a rebuild of the same commit.
const CommitField = "Gopythongo-Commit"

// aptDir is a Debian repository in a directory: pool/ and dists/.
type aptDir struct {
	root, dist, component string
}

func newAptDir(s config.StoreConfig, c *config.Config) (Store, error) {
	return &aptDir{root: c.Path(s.Path), dist: s.Distribution, component: s.Component}, nil
}

// Existing reads the Packages indexes of every architecture of the
// distribution and component.
func (a *aptDir) Existing(ctx context.Context, name string) ([]Release, error) {
	dirs, err := filepath.Glob(filepath.Join(a.root, "dists", a.dist, a.component, "binary-*"))
	if err != nil {
		return nil, err
	}
	var out []Release
	for _, d := range dirs {
		paras, err := readPackages(d)
		if err != nil {
			return nil, fmt.Errorf("apt-dir %s: %w", a.root, err)
		}
		for _, p := range paras {
			if p.Get("Package") != name {
				continue
			}
			out = append(out, Release{
				Name:    name,
				Version: p.Get("Version"),
				Arch:    p.Get("Architecture"),
				SHA256:  p.Get("SHA256"),
				Commit:  p.Get(CommitField),
			})
		}
	}
	return out, nil
}

// readPackages reads dir/Packages, or dir/Packages.gz when there is no plain one.
func readPackages(dir string) ([]deb822.Paragraph, error) {
	f, err := os.Open(filepath.Join(dir, "Packages"))
	var r io.Reader = f
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.Open(filepath.Join(dir, "Packages.gz"))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name(), err)
		}
		r = gz
	} else if err != nil {
		return nil, err
	} else {
		defer f.Close()
	}
	paras, err := deb822.Parse(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "Packages"), err)
	}
	return paras, nil
}
