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
	done := l.Phase("build")
	clock = clock.Add(1500 * time.Millisecond)
	done("17 files")
	assert.Equal(t, "build        17 files (1.5s)\n", b.String())
	assert.Equal(t, []string{"group gopythongo-x: build", "end"}, events)
}
