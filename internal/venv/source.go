package venv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// skipDirs are never part of a project's source.
var skipDirs = map[string]bool{".git": true, "__pycache__": true, ".venv": true, ".tox": true, ".nox": true, "build": true, ".mypy_cache": true, ".pytest_cache": true}

// hashSource hashes a project's source, the files sourceFiles listed, with
// their modes.
func hashSource(dir string, files []string) (string, error) {
	h := sha256.New()
	for _, rel := range files {
		abs := filepath.Join(dir, rel)
		fi, err := os.Lstat(abs)
		if err != nil {
			continue // deleted but still in the index
		}
		fmt.Fprintf(h, "%s\x00%o\x00", rel, fi.Mode())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			t, _ := os.Readlink(abs)
			io.WriteString(h, t)
		case fi.Mode().IsRegular():
			f, err := os.Open(abs)
			if err != nil {
				return "", err
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return "", err
			}
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sourceFiles lists a project's source, sorted: the files git knows and
// does not ignore, or, outside git, every file but build output; nothing
// under exclude (the dist directory, which holds the last build's tree: a
// walk or git's search for untracked files would go through all of it) or
// in .egg-info.
func sourceFiles(ctx context.Context, dir string, exclude ...string) ([]string, error) {
	files, err := gitFiles(ctx, dir, exclude)
	if err != nil {
		if files, err = walkFiles(dir, exclude); err != nil {
			return nil, err
		}
	}
	files = slices.DeleteFunc(files, func(rel string) bool {
		return excluded(filepath.Join(dir, rel), exclude) || strings.Contains(rel, ".egg-info/")
	})
	slices.Sort(files)
	return files, nil
}

func excluded(abs string, exclude []string) bool {
	for _, e := range exclude {
		if e != "" && (abs == e || strings.HasPrefix(abs, e+string(filepath.Separator))) {
			return true
		}
	}
	return false
}

func gitFiles(ctx context.Context, dir string, exclude []string) ([]string, error) {
	args := []string{"ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."}
	for _, e := range exclude {
		if rel, err := filepath.Rel(dir, e); err == nil && e != "" && filepath.IsLocal(rel) {
			args = append(args, ":(exclude,literal)"+filepath.ToSlash(rel))
		}
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var files []string
	for _, f := range bytes.Split(out, []byte{0}) {
		if len(f) > 0 {
			files = append(files, string(f))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("git knows no files in %s", dir)
	}
	return files, nil
}

func walkFiles(dir string, exclude []string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && (skipDirs[d.Name()] || strings.HasSuffix(d.Name(), ".egg-info") || excluded(p, exclude)) {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return nil
	})
	return files, err
}
