package lock

import (
	"fmt"
	"strings"

	"github.com/gopythongo/gopythongo/internal/python"
	"github.com/gopythongo/gopythongo/internal/python/pep508"
	"github.com/gopythongo/gopythongo/internal/python/pyproject"
)

type pyprojectFile struct {
	Project struct {
		Name                 string              `toml:"name"`
		Dependencies         []string            `toml:"dependencies"`
		OptionalDependencies map[string][]string `toml:"optional-dependencies"`
	} `toml:"project"`
	DependencyGroups map[string][]any `toml:"dependency-groups"`
}

// ProjectRequirements reads [project].dependencies of a pyproject.toml, with
// the optional dependencies of the extras and the dependency groups given.
func ProjectRequirements(path string, extras, groups []string) ([]pep508.Requirement, error) {
	var f pyprojectFile
	if err := pyproject.Decode(path, &f); err != nil {
		return nil, fmt.Errorf("read the project's pyproject.toml: %w", err)
	}
	texts := append([]string(nil), f.Project.Dependencies...)
	for _, e := range extras {
		for k, v := range f.Project.OptionalDependencies {
			if python.Normalize(k) == python.Normalize(e) {
				texts = append(texts, v...)
			}
		}
	}
	for _, g := range groups {
		for k, v := range f.DependencyGroups {
			if python.Normalize(k) != python.Normalize(g) {
				continue
			}
			for _, item := range v {
				if s, ok := item.(string); ok { // {include-group = …} tables are followed by the lockers
					texts = append(texts, s)
				}
			}
		}
	}
	var out []pep508.Requirement
	for _, t := range texts {
		r, err := pep508.ParseRequirement(t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if r.Name == python.Normalize(f.Project.Name) {
			continue // the project's extras of itself
		}
		out = append(out, r)
	}
	return out, nil
}

// allProjectRequirements is every dependency of [project], those of every
// extra with an extra == marker added, as the lockers record them.
func allProjectRequirements(path string) ([]pep508.Requirement, error) {
	var f pyprojectFile
	if err := pyproject.Decode(path, &f); err != nil {
		return nil, fmt.Errorf("read the project's pyproject.toml: %w", err)
	}
	texts := append([]string(nil), f.Project.Dependencies...)
	for extra, v := range f.Project.OptionalDependencies {
		for _, t := range v {
			if body, marker, ok := strings.Cut(t, ";"); ok {
				texts = append(texts, body+"; ("+marker+") and extra == '"+extra+"'")
			} else {
				texts = append(texts, t+"; extra == '"+extra+"'")
			}
		}
	}
	var out []pep508.Requirement
	for _, t := range texts {
		r, err := pep508.ParseRequirement(t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, r)
	}
	return out, nil
}
