package versionstep

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/scaffold"
)

// initProject writes the starting .gopythongo.yaml of the project in dir (and
// the CI file of ci, if named), after checking that the configuration it
// wrote loads: a start that does not is GoPythonGo's bug, said as such.
func initProject(dir, ci string, log io.Writer) error {
	p, err := scaffold.Inspect(dir)
	if err != nil {
		return config.Usage(err)
	}
	data := scaffold.Config(p)
	if err := loads(dir, data); err != nil {
		return fmt.Errorf("the configuration --init made does not load, which is a bug of GoPythonGo (please report it with your pyproject.toml): %w", err)
	}
	files := []scaffold.File{{Path: config.DefaultFile, Data: data}}
	if ci != "" {
		path, b, err := scaffold.CIFile(ci)
		if err != nil {
			return config.Usage(err)
		}
		files = append(files, scaffold.File{Path: path, Data: b})
	}
	if err := scaffold.Write(dir, files); err != nil {
		return config.Usage(err)
	}
	for _, l := range describe(p) {
		fmt.Fprintf(log, "gopythongo-version: found %s\n", l)
	}
	for _, f := range files {
		fmt.Fprintf(log, "gopythongo-version: wrote %s\n", f.Path)
	}
	fmt.Fprintf(log, "gopythongo-version: next: gopythongo-version --check (and --check of each step), then the pipeline; every key is in docs/config.md\n")
	return nil
}

// loads says whether a configuration loads for the project in dir, as the
// steps will load it.
func loads(dir string, data []byte) error {
	tmp, err := os.MkdirTemp("", "gopythongo-init-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	f := filepath.Join(tmp, config.DefaultFile)
	if err := os.WriteFile(f, data, 0o644); err != nil {
		return err
	}
	_, err = config.Load(config.Options{File: f, Dir: dir})
	return err
}

// describe is what init read, a line each.
func describe(p *scaffold.Project) []string {
	out := []string{fmt.Sprintf("project %s (%s)", p.Name, p.NameFrom)}
	if p.Backend != "" {
		out = append(out, "build backend "+p.Backend)
	}
	if len(p.Scripts) > 0 {
		out = append(out, "console scripts "+strings.Join(p.Scripts, ", "))
	}
	if len(p.Suites) > 0 {
		var s []string
		for _, n := range slices.Sorted(maps.Keys(p.Suites)) {
			s = append(s, n+" ("+p.Suites[n]+")")
		}
		out = append(out, fmt.Sprintf("tests %s, run with %s", strings.Join(s, ", "), p.Runner))
	} else {
		out = append(out, "no tests/ or test/ directory")
	}
	switch {
	case p.Lock != "":
		out = append(out, "lock file "+p.Lock)
	case len(p.Requirements) > 0:
		out = append(out, "requirements "+strings.Join(p.Requirements, ", "))
	}
	if p.SourceURL != "" {
		out = append(out, "remote "+p.SourceURL)
	}
	if p.Tagged {
		out = append(out, "version tags: the version comes from git")
	}
	if len(p.CI) > 0 {
		out = append(out, "CI files "+strings.Join(p.CI, ", "))
	}
	return out
}
