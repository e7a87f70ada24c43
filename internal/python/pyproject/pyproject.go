// Package pyproject reads pyproject.toml and checks a project's name. It is
// apart from package python (wheels, sdists, indexes, interpreters), whose
// archive, compression and mail packages every step would otherwise link
// and initialise: the configuration reads the name of every project, and a
// version run at a tag has no other use for python.
package pyproject

import (
	"fmt"

	"github.com/BurntSushi/toml"

	"github.com/gopythongo/gopythongo/internal/fileread"
	"github.com/gopythongo/gopythongo/internal/lazy"
)

// Decode decodes the pyproject.toml at path into v. It reads the file as
// input: a regular file of at most fileread.ProjectLimit bytes, a pipe in
// its place refused rather than waited on. A missing file's error is
// fs.ErrNotExist.
func Decode(path string, v any) error {
	data, err := fileread.Read(path, fileread.ProjectLimit)
	if err != nil {
		return err
	}
	if _, err := toml.Decode(string(data), v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

var validName = lazy.Regexp(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)

// ValidName reports whether name is a distribution name as PEP 508 allows it.
func ValidName(name string) bool { return validName().MatchString(name) }
