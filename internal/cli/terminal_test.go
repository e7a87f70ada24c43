package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/gopythongo/gopythongo/internal/cli"
)

// openPTY opens a pseudo-terminal: what a developer's shell gives a step.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	require.NoError(t, unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

// TestColourOnlyOnATerminal: a failing step's error and warnings are
// coloured on a terminal, unless NO_COLOR is set or TERM is dumb, and never
// in a log that is not a terminal.
func TestColourOnlyOnATerminal(t *testing.T) {
	g := repo(t)
	t.Chdir(g.Dir)
	step := cli.Step{Name: "gopythongo-t", Summary: "a test", Run: func(_ context.Context, s *cli.Session) error {
		s.Log.Warnf("careful")
		return errors.New("it broke")
	}}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		colour bool
	}{
		{"terminal", map[string]string{"TERM": "xterm"}, true},
		{"NO_COLOR", map[string]string{"TERM": "xterm", "NO_COLOR": "1"}, false},
		{"empty NO_COLOR", map[string]string{"TERM": "xterm", "NO_COLOR": ""}, true},
		{"dumb", map[string]string{"TERM": "dumb"}, false},
	} {
		master, tty := openPTY(t)
		lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
		code := cli.Main(step, nil, io.Discard, tty, lookup, nil)
		assert.Equal(t, cli.ExitFailure, code)
		tty.Close()
		out, _ := io.ReadAll(master) // EIO once the terminal is closed
		assert.Contains(t, string(out), "it broke", tc.name)
		assert.Equal(t, tc.colour, contains(out, "\x1b[31merror:\x1b[0m"), "%s: %q", tc.name, out)
		assert.Equal(t, tc.colour, contains(out, "\x1b[33mwarning:\x1b[0m"), "%s: %q", tc.name, out)
		if !tc.colour {
			assert.False(t, contains(out, "\x1b[3"), "%s: no colour codes at all: %q", tc.name, out)
		}
	}

	// Not a terminal: no codes, whatever TERM says.
	f, err := os.Create(t.TempDir() + "/log")
	require.NoError(t, err)
	defer f.Close()
	cli.Main(step, nil, io.Discard, f, func(k string) (string, bool) { return map[string]string{"TERM": "xterm"}[k], k == "TERM" }, nil)
	out, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	assert.Contains(t, string(out), "error: it broke")
	assert.False(t, contains(out, "\x1b"), "%q", out)
}

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }
