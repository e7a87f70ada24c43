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

// Phase is a step's phase: one line with its result and duration, inside a
// CI group where the CI has them.
type Phase struct {
	l     *Log
	name  string
	start time.Time
	end   func()
	over  bool
}

// Phase starts a phase. Done ends it with a result; End, deferred, ends it as
// failed if Done was not reached, so that a failure closes its group and the
// error after it is not folded away.
func (l *Log) Phase(name string) *Phase {
	p := &Phase{l: l, name: name, start: l.now()}
	if l.group != nil {
		p.end = l.group(l.step + ": " + name)
	}
	return p
}

func (p *Phase) finish(result string) {
	if p.over {
		return
	}
	p.over = true
	if p.end != nil {
		p.end()
	}
	p.l.Printf("%-12s %s (%s)", p.name, result, Duration(p.l.now().Sub(p.start)))
}

// Done ends the phase with its result.
func (p *Phase) Done(result string) { p.finish(result) }

// End ends the phase as failed unless Done ended it.
func (p *Phase) End() { p.finish("failed") }

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
