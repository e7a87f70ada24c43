package ui

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDuration(t *testing.T) {
	assert.Equal(t, "42ms", Duration(42*time.Millisecond))
	assert.Equal(t, "1.3s", Duration(1300*time.Millisecond))
	assert.Equal(t, "2m05s", Duration(125*time.Second))
}

func TestPhaseLineAndGroup(t *testing.T) {
	var b bytes.Buffer
	var events []string
	l := New(&b, "gopythongo-x", func(title string) func() {
		events = append(events, "group "+title)
		return func() { events = append(events, "end") }
	})
	clock := time.Unix(0, 0)
	l.now = func() time.Time { return clock }
	ph := l.Phase("build")
	clock = clock.Add(1500 * time.Millisecond)
	ph.Done("17 files")
	ph.End()
	assert.Equal(t, "build        17 files (1.5s)\n", b.String())
	assert.Equal(t, []string{"group gopythongo-x: build", "end"}, events)
}

// TestFailedPhaseClosesItsGroup: a phase left by an error closes its group, so
// that the error printed after it is outside the fold.
func TestFailedPhaseClosesItsGroup(t *testing.T) {
	var b bytes.Buffer
	var events []string
	l := New(&b, "gopythongo-x", func(title string) func() {
		events = append(events, "group "+title)
		return func() { events = append(events, "end") }
	})
	func() {
		ph := l.Phase("install")
		defer ph.End()
	}()
	assert.Equal(t, []string{"group gopythongo-x: install", "end"}, events)
	assert.Contains(t, b.String(), "install      failed (")
}

// syncBuffer is a buffer the reporting goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLongPhasesSayTheyRun: in a CI log, a phase still running says so
// every so often with its progress; a fast one prints only its result.
func TestLongPhasesSayTheyRun(t *testing.T) {
	var b syncBuffer
	l := New(&b, "gopythongo-x", nil)
	l.every = 40 * time.Millisecond
	fast := l.Phase("fast")
	fast.Done("quick")
	assert.Equal(t, 1, strings.Count(b.String(), "\n"), "a fast phase prints one line: %q", b.String())

	slow := l.Phase("unpack")
	slow.Progress("%d of %d files", 3, 10)
	time.Sleep(130 * time.Millisecond)
	slow.Done("10 files")
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.GreaterOrEqual(t, len(lines), 3, b.String())
	assert.Equal(t, "unpack       running: 3 of 10 files (0s so far)", lines[1])
	assert.Regexp(t, `^unpack       10 files \(\d+ms\)$`, lines[len(lines)-1])
	assert.NotContains(t, b.String(), "\x1b", "no terminal codes in a CI log")
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, len(lines), strings.Count(b.String(), "\n"), "nothing after the phase ended")
}

// TestTerminalRedrawsOneLine: on a terminal the running line is redrawn in
// place and erased before the next line; colour only when asked.
func TestTerminalRedrawsOneLine(t *testing.T) {
	for _, color := range []bool{false, true} {
		var b syncBuffer
		l := New(&b, "gopythongo-x", nil)
		l.Terminal(color)
		l.live = 40 * time.Millisecond
		ph := l.Phase("bootstrap")
		time.Sleep(100 * time.Millisecond)
		l.Warnf("slow mirror")
		ph.End()
		out := b.String()
		assert.Contains(t, out, "\r\x1b[Kbootstrap    running (0s so far)")
		assert.Contains(t, out, "\r\x1b[K"+map[bool]string{false: "warning:", true: "\x1b[33mwarning:\x1b[0m"}[color]+" slow mirror\n", "the live line is erased first")
		assert.Equal(t, color, strings.Contains(out, "\x1b[31mfailed\x1b[0m"), "failed in red only with colour: %q", out)
	}
}
