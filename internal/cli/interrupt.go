package cli

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// interrupted is the cause of a context cancelled by a signal.
type interrupted struct{ os.Signal }

func (i interrupted) Error() string { return "interrupted by " + i.Signal.String() }

// interruptible is a context cancelled by SIGINT or SIGTERM, with the signal
// as its cause, for the exit code a shell expects (130, 143).
//
// The handler is installed when something first asks the context whether it
// is done (Done or Err: a command started, a request sent, a loop that checks).
// Installing it starts a thread, which costs a step that waits on nothing
// (gopythongo-version at a tag) a sixth of its run. Until then a signal ends
// the process as it does by default: nothing was begun that could be stopped.
func interruptible() (context.Context, func()) {
	l := &lazySignals{}
	return l, l.stop
}

// lazySignals is the context interruptible returns. Stopped before it was
// armed, it is cancelled and never arms: stop uses up the once.
type lazySignals struct {
	once  sync.Once
	armed atomic.Pointer[signalContext]
}

type signalContext struct {
	context.Context
	cancel context.CancelCauseFunc
	sigs   chan os.Signal
	done   chan struct{}
}

// arm installs the handler once and returns the context it cancels.
func (l *lazySignals) arm() *signalContext {
	l.once.Do(func() {
		ctx, cancel := context.WithCancelCause(context.Background())
		sc := &signalContext{Context: ctx, cancel: cancel, sigs: make(chan os.Signal, 1), done: make(chan struct{})}
		signal.Notify(sc.sigs, os.Interrupt, syscall.SIGTERM)
		go func() {
			select {
			case s := <-sc.sigs:
				cancel(interrupted{s})
			case <-sc.done:
			}
		}()
		l.armed.Store(sc)
	})
	return l.armed.Load()
}

func (l *lazySignals) stop() {
	l.once.Do(func() {})
	if sc := l.armed.Load(); sc != nil {
		signal.Stop(sc.sigs)
		close(sc.done)
		sc.cancel(nil)
	}
}

func (l *lazySignals) Deadline() (time.Time, bool) { return time.Time{}, false }

func (l *lazySignals) Done() <-chan struct{} {
	if sc := l.arm(); sc != nil {
		return sc.Done()
	}
	c := make(chan struct{}) // stopped before anything waited
	close(c)
	return c
}

func (l *lazySignals) Err() error {
	if sc := l.arm(); sc != nil {
		return sc.Err()
	}
	return context.Canceled
}

// Value answers context.Cause too: the signal context's cancelCtx answers
// for it once armed; before, nothing can have cancelled it.
func (l *lazySignals) Value(key any) any {
	if sc := l.armed.Load(); sc != nil {
		return sc.Value(key)
	}
	return nil
}
