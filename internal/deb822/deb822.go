// Package deb822 reads and writes the RFC 822-style paragraphs of Debian control
// files, Packages indexes and Release files.
package deb822

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Field is one "Name: value" field; a multi-line value keeps its newlines, with
// the leading space of continuation lines removed.
type Field struct {
	Name, Value string
}

// Paragraph is an ordered list of fields.
type Paragraph []Field

// Get returns a field's value, matching the name case-insensitively.
func (p Paragraph) Get(name string) string {
	for _, f := range p {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Parse reads paragraphs separated by blank lines.
func Parse(r io.Reader) ([]Paragraph, error) {
	var out []Paragraph
	var cur Paragraph
	// Continuation lines are gathered and joined once per field: appending
	// to the value line by line is quadratic in a hostile file.
	var more []string
	flush := func() {
		if len(more) > 0 {
			cur[len(cur)-1].Value += "\n" + strings.Join(more, "\n")
			more = more[:0]
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		switch {
		case strings.TrimSpace(text) == "":
			flush()
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
		case text[0] == ' ' || text[0] == '\t':
			if len(cur) == 0 {
				return nil, fmt.Errorf("line %d: a continuation line before any field", line)
			}
			more = append(more, text[1:])
		case text[0] == '#':
		default:
			name, value, ok := strings.Cut(text, ":")
			if !ok || name == "" {
				return nil, fmt.Errorf("line %d: %q is not a \"Name: value\" field", line, text)
			}
			flush()
			cur = append(cur, Field{Name: name, Value: strings.TrimSpace(value)})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	flush()
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out, nil
}

// Write writes one paragraph, continuation lines indented by one space and empty
// ones written as " .".
func (p Paragraph) Write(w io.Writer) error {
	var b strings.Builder
	for _, f := range p {
		lines := strings.Split(f.Value, "\n")
		if lines[0] == "" {
			b.WriteString(f.Name + ":\n")
		} else {
			b.WriteString(f.Name + ": " + lines[0] + "\n")
		}
		for _, l := range lines[1:] {
			if strings.TrimSpace(l) == "" {
				l = "."
			}
			b.WriteString(" " + l + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
