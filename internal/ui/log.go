// Package ui writes what a step tells people: one line per phase with its
// duration, warnings, and progress for long work, readable in a CI log.
package ui

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
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
	// tty: the log is a terminal, where a running phase's line is redrawn
	// in place (shown: it is on the screen now); color: warnings and
	// failures are coloured there.
	tty, color, shown bool
	// every is how often a phase still running says so in a log that
	// cannot be redrawn (a CI's); live is how long a phase runs before its
	// line appears on a terminal, and how often it is redrawn after.
	every, live time.Duration
}

// New returns a log for a step. group may be nil.
func New(w io.Writer, step string, group func(string) func()) *Log {
	return &Log{w: w, step: step, now: time.Now, group: group, every: 10 * time.Second, live: time.Second}
}

// Terminal makes the log a terminal's: running phases on a live line,
// colour when color is set (the caller honours NO_COLOR and TERM=dumb).
func (l *Log) Terminal(color bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tty, l.color = true, color
}

const (
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	reset  = "\x1b[0m"
	clear  = "\r\x1b[K" // to the line's start, and erase it
)

// paint colours s where the log is coloured.
func (l *Log) paint(color, s string) string {
	if !l.color {
		return s
	}
	return color + s + reset
}

// Error is "error:" as a failed step's last line begins, in red on a
// coloured terminal.
func (l *Log) Error() string { return l.paint(red, "error:") }

// Printf writes one line.
func (l *Log) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clearLive()
	fmt.Fprintf(l.w, format+"\n", args...)
}

// clearLive erases a running phase's line before a line is written over it.
func (l *Log) clearLive() {
	if l.shown {
		io.WriteString(l.w, clear)
		l.shown = false
	}
}

// Warnf writes a warning line.
func (l *Log) Warnf(format string, args ...any) {
	l.Printf(l.paint(yellow, "warning:")+" "+format, args...)
}

// Phase is a step's phase: one line with its result and duration, inside a
// CI group where the CI has them. While it runs longer than a moment, it
// says so: redrawn in place on a terminal, a line every ten seconds in a
// CI's log, with what Progress last said.
type Phase struct {
	l      *Log
	name   string
	start  time.Time
	end    func()
	over   bool
	detail atomic.Pointer[string]
	stop   chan struct{}
	done   chan struct{}
}

// Phase starts a phase. Done ends it with a result; End, deferred, ends it as
// failed if Done was not reached, so that a failure closes its group and the
// error after it is not folded away.
func (l *Log) Phase(name string) *Phase {
	p := &Phase{l: l, name: name, start: l.now(), stop: make(chan struct{}), done: make(chan struct{})}
	if l.group != nil {
		p.end = l.group(l.step + ": " + name)
	}
	go p.report()
	return p
}

// Progress says how far the phase is, e.g. "312 of 21,626 files, 41.2 MiB".
func (p *Phase) Progress(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	p.detail.Store(&s)
}

type phaseKey struct{}

// WithPhase is ctx carrying the running phase, for Progress deep below.
func WithPhase(ctx context.Context, p *Phase) context.Context {
	return context.WithValue(ctx, phaseKey{}, p)
}

// Progress tells the phase of ctx (WithPhase) how far it is; without one it
// does nothing.
func Progress(ctx context.Context, format string, args ...any) {
	if p, ok := ctx.Value(phaseKey{}).(*Phase); ok {
		p.Progress(format, args...)
	}
}

// report tells that the phase still runs, until it ends.
func (p *Phase) report() {
	defer close(p.done)
	p.l.mu.Lock()
	first, every := p.l.every, p.l.every
	if p.l.tty {
		first, every = p.l.live, p.l.live/4
	}
	p.l.mu.Unlock()
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.l.running(p)
			t.Reset(every)
		}
	}
}

// running writes a running phase's line: in place on a terminal.
func (l *Log) running(p *Phase) {
	l.mu.Lock()
	defer l.mu.Unlock()
	what := "running"
	if d := p.detail.Load(); d != nil {
		what = "running: " + *d
	}
	line := fmt.Sprintf("%-12s %s (%s so far)", p.name, what, elapsed(time.Since(p.start)))
	if l.tty {
		io.WriteString(l.w, clear+line)
		l.shown = true
		return
	}
	fmt.Fprintln(l.w, line)
}

func (p *Phase) finish(result string) {
	if p.over {
		return
	}
	p.over = true
	close(p.stop)
	<-p.done
	if p.end != nil {
		p.end()
	}
	p.l.Printf("%-12s %s (%s)", p.name, result, Duration(p.l.now().Sub(p.start)))
}

// Done ends the phase with its result.
func (p *Phase) Done(result string) { p.finish(result) }

// End ends the phase as failed unless Done ended it.
func (p *Phase) End() { p.finish(p.l.paint(red, "failed")) }

// elapsed is how long a phase has run, in whole seconds.
func elapsed(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	return Duration(d)
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
