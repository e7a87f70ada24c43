// Package check is what the steps' --check reports: each thing a step would
// need (configuration, interpreter, tools, files, credentials, stores),
// checked without building or writing anything, with every problem at once.
package check

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Level is how a finding weighs.
type Level int

const (
	// OK: what the step needs is there.
	OK Level = iota
	// Note: worth knowing, and no reason to stop (a state file an earlier
	// step will write, a directory a store will make).
	Note
	// Problem: the step would fail; Finding.Err says why and what to do.
	Problem
)

// Finding is one thing checked.
type Finding struct {
	Subject string // what was checked: "project.python", "store apt", "tool lintian"
	Level   Level
	Detail  string // what was found
}

// Good is a finding of something that is as it should be.
func Good(subject, format string, args ...any) Finding {
	return Finding{Subject: subject, Level: OK, Detail: fmt.Sprintf(format, args...)}
}

// Notef is a finding worth knowing that stops nothing.
func Notef(subject, format string, args ...any) Finding {
	return Finding{Subject: subject, Level: Note, Detail: fmt.Sprintf(format, args...)}
}

// Bad is a problem; err names it and the fix.
func Bad(subject string, err error) Finding {
	return Finding{Subject: subject, Level: Problem, Detail: err.Error()}
}

// Badf is a problem described by a format.
func Badf(subject, format string, args ...any) Finding {
	return Bad(subject, fmt.Errorf(format, args...))
}

// Of is a finding of err: Good with detail when err is nil, else Bad.
func Of(subject string, err error, detail string) Finding {
	if err != nil {
		return Bad(subject, err)
	}
	return Good(subject, "%s", detail)
}

// Problems counts the problems among fs.
func Problems(fs []Finding) int {
	n := 0
	for _, f := range fs {
		if f.Level == Problem {
			n++
		}
	}
	return n
}

// Print writes one line per finding, problems marked so that they stand out
// in a log: "ok", "note" or "PROBLEM", the subject, what was found.
func Print(w io.Writer, fs []Finding) error {
	width := 0
	for _, f := range fs {
		width = max(width, len(f.Subject))
	}
	for _, f := range fs {
		mark := [...]string{OK: "ok", Note: "note", Problem: "PROBLEM"}[f.Level]
		detail := strings.ReplaceAll(f.Detail, "\n", "\n"+strings.Repeat(" ", width+13))
		if _, err := fmt.Fprintf(w, "  %-7s  %-*s  %s\n", mark, width, f.Subject, detail); err != nil {
			return err
		}
	}
	return nil
}

// Tool checks that a program is on PATH (or is the path given), saying what
// it is needed for and how to get it.
func Tool(name, neededFor, install string) Finding {
	p, err := exec.LookPath(name)
	if err != nil {
		return Badf("tool "+name, "%s is not on PATH, and %s needs it: %s", name, neededFor, install)
	}
	return Good("tool "+name, "%s (for %s)", p, neededFor)
}

// File checks that a file the configuration names exists and can be read.
func File(subject, path string) Finding {
	if f := exists(subject, path, false); f.Level != OK {
		return f
	}
	f, err := os.Open(path)
	if err != nil {
		return Badf(subject, "%s cannot be read: %v", path, err)
	}
	f.Close()
	return Good(subject, "%s", path)
}

// Dir checks that a directory the configuration names exists.
func Dir(subject, path string) Finding { return exists(subject, path, true) }

// exists checks that path is there, a directory when dir, else a file.
func exists(subject, path string, dir bool) Finding {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return Badf(subject, "%s does not exist: create it or change %s", path, subject)
	case err != nil:
		return Bad(subject, err)
	case dir && !fi.IsDir():
		return Badf(subject, "%s is not a directory: change %s", path, subject)
	case !dir && fi.IsDir():
		return Badf(subject, "%s is a directory, and a file is needed: change %s", path, subject)
	}
	return Good(subject, "%s", path)
}

// Writable checks that a step could make and write the directory dir: it
// exists and is writable, or its nearest existing parent is. Nothing is made.
func Writable(subject, dir string) Finding {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return Badf(subject, "%s is in the way of %s: it is no directory", d, dir)
			}
			if err := unix.Access(d, unix.W_OK); err != nil {
				return Badf(subject, "%s cannot be written (%v): make it writable for this user or change %s", d, err, subject)
			}
			if d == filepath.Clean(dir) {
				return Good(subject, "%s", dir)
			}
			return Notef(subject, "%s will be made", dir)
		}
		if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, unix.ENOTDIR) || d == filepath.Dir(d) {
			return Bad(subject, err)
		}
	}
}

// Secret checks that an environment variable the configuration names for a
// secret is set; its value is never shown.
func Secret(subject, name string, getenv func(string) string) Finding {
	if getenv(name) == "" {
		return Badf(subject, "names $%s, which is not set: set it in the CI's secrets for this job", name)
	}
	return Good(subject, "$%s is set", name)
}
