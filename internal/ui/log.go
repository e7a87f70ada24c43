// Package ui writes what a step tells people: one line per phase with its
// duration, warnings, and progress for long work, readable in a CI log.
package ui

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Log writes a step's log lines to stderr (stdout carries its results).
type Log struct {
	mu   sync.Mutex
	w    io.Writer
	step string
	now  func() time.Time
	// group folds a phase's lines on CIs that can (GitHub); nil elsewhere.
	group func(title string) func()
}

// New returns a log for a step. group may be nil.
func New(w io.Writer, step string, group func(string) func()) *Log {
	return &Log{w: w, step: step, now: time.Now, group: group}
}

// Printf writes one line.
func (l *Log) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
}

// Warnf writes a warning line.
func (l *Log) Warnf(format string, args ...any) { l.Printf("warning: "+format, args...) }

// Phase starts a phase; the returned function ends it with a result and prints
// one line with the phase's duration.
func (l *Log) Phase(name string) (done func(result string)) {
	start := l.now()
	var end func()
	if l.group != nil {
		end = l.group(l.step + ": " + name)
	}
	return func(result string) {
		if end != nil {
			end()
		}
		l.Printf("%-12s %s (%s)", name, result, Duration(l.now().Sub(start)))
	}
}

// Duration formats a duration for people: 42ms, 1.3s, 2m05s.
func Duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

// Writer is where lines of other programs' output go.
func (l *Log) Writer() io.Writer { return l.w }

// Size formats a byte count for people: 512 B, 19.5 KiB, 6.9 MiB.
func Size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
