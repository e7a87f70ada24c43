package python

import (
	"fmt"

	"github.com/BurntSushi/toml"

	"github.com/gopythongo/gopythongo/internal/fileread"
)

// DecodePyproject decodes the pyproject.toml at path into v. It reads the
// file as input: a regular file of at most fileread.ProjectLimit bytes, a
// pipe in its place refused rather than waited on. A missing file's error
// is fs.ErrNotExist.
func DecodePyproject(path string, v any) error {
	data, err := fileread.Read(path, fileread.ProjectLimit)
	if err != nil {
		return err
	}
	if _, err := toml.Decode(string(data), v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
