package versioning

import (
	"fmt"
	"regexp"

	"github.com/gopythongo/gopythongo/internal/config"
	"github.com/gopythongo/gopythongo/internal/fileread"
	"github.com/gopythongo/gopythongo/internal/python/pyproject"
	"github.com/gopythongo/gopythongo/internal/version"
)

// readSource reads the base version of a non-git source, and says where from.
func readSource(c *config.Config, lookup func(string) (string, bool)) (version.Version, string, error) {
	vc := c.Version
	var raw, where string
	switch vc.Source {
	case "static":
		raw, where = vc.Value, "version.value"
	case "env":
		v, ok := lookup(vc.Env)
		if !ok || v == "" {
			return version.Version{}, "", fmt.Errorf("the env version source reads $%s, which is not set", vc.Env)
		}
		raw, where = v, "$"+vc.Env
	case "pyproject":
		file := vc.File
		if file == "" {
			file = "pyproject.toml"
		}
		var py struct {
			Project struct {
				Version string   `toml:"version"`
				Dynamic []string `toml:"dynamic"`
			} `toml:"project"`
		}
		if err := pyproject.Decode(c.Path(file), &py); err != nil {
			return version.Version{}, "", fmt.Errorf("version source pyproject: %w", err)
		}
		if py.Project.Version == "" {
			for _, d := range py.Project.Dynamic {
				if d == "version" {
					return version.Version{}, "", fmt.Errorf("%s declares the version dynamic; read it with source pymodule or searchfile, or use source git", file)
				}
			}
			return version.Version{}, "", fmt.Errorf("%s has no [project] version", file)
		}
		raw, where = py.Project.Version, file+" [project].version"
	case "pymodule":
		re := regexp.MustCompile(`(?m)^__version__\s*(?::\s*str\s*)?=\s*['"]([^'"]+)['"]`)
		m, err := search(c.Path(vc.File), re)
		if err != nil {
			return version.Version{}, "", fmt.Errorf("version source pymodule: %w (it looks for a line __version__ = \"1.2.3\")", err)
		}
		raw, where = m, vc.File+" __version__"
	case "searchfile":
		m, err := search(c.Path(vc.File), regexp.MustCompile(vc.Pattern))
		if err != nil {
			return version.Version{}, "", fmt.Errorf("version source searchfile: %w", err)
		}
		raw, where = m, vc.File
	default:
		return version.Version{}, "", fmt.Errorf("unknown version source %q", vc.Source)
	}
	v, err := version.ParseTag(raw)
	if err != nil {
		return version.Version{}, "", fmt.Errorf("%s: %w", where, err)
	}
	return v, where, nil
}

func search(path string, re *regexp.Regexp) (string, error) {
	data, err := fileread.Read(path, fileread.ProjectLimit)
	if err != nil {
		return "", err
	}
	m := re.FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("%s has no match for %s", path, re)
	}
	return string(m[1]), nil
}
