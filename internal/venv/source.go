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

// SourceHash hashes a project's source: the files git knows and does not
// ignore (or, outside git, every file but build output), with their modes.
// Anything under exclude (the dist directory) is left out.
func SourceHash(ctx context.Context, dir string, exclude ...string) (string, error) {
	files, err := gitFiles(ctx, dir)
	if err != nil {
		files, err = walkFiles(dir)
		if err != nil {
			return "", err
		}
	}
	slices.Sort(files)
	h := sha256.New()
	for _, rel := range files {
		abs := filepath.Join(dir, rel)
		if excluded(abs, exclude) || strings.Contains(rel, ".egg-info/") {
			continue
		}
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

func excluded(abs string, exclude []string) bool {
	for _, e := range exclude {
		if e != "" && (abs == e || strings.HasPrefix(abs, e+string(filepath.Separator))) {
			return true
		}
	}
	return false
}

func gitFiles(ctx context.Context, dir string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
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

func walkFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && (skipDirs[d.Name()] || strings.HasSuffix(d.Name(), ".egg-info")) {
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
