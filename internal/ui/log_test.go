package ui

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
