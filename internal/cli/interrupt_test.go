package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInterruptibleArmsWhenWaitedOn runs each case in a child process, which
// signals itself: a context nobody asked whether it is done leaves the
// signal's default (the process ends), one that was asked is cancelled with
// the signal as its cause, and so are the contexts made from it.
func TestInterruptibleArmsWhenWaitedOn(t *testing.T) {
	for _, tt := range []struct {
		mode     string
		killedBy syscall.Signal // 0: exits 0 and prints want
		want     string
	}{
		{mode: "idle", killedBy: syscall.SIGINT},
		{mode: "done", want: "interrupted by terminated; derived: interrupted by terminated"},
		{mode: "err", want: "interrupted by interrupt; derived: interrupted by interrupt"},
		{mode: "derived", want: "interrupted by terminated; derived: interrupted by terminated"},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "GPG_INTERRUPTIBLE_CHILD="+tt.mode)
			out, err := cmd.CombinedOutput()
			if tt.killedBy != 0 {
				var ee *exec.ExitError
				require.ErrorAs(t, err, &ee, "%s", out)
				ws := ee.Sys().(syscall.WaitStatus)
				require.True(t, ws.Signaled(), "the child ended by a signal, not %v: %s", ws, out)
				assert.Equal(t, tt.killedBy, ws.Signal())
				assert.NotContains(t, string(out), "survived")
				return
			}
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "cause: "+tt.want)
		})
	}
}

// TestMain runs the child of TestInterruptibleArmsWhenWaitedOn when asked.
func TestMain(m *testing.M) {
	if mode := os.Getenv("GPG_INTERRUPTIBLE_CHILD"); mode != "" {
		os.Exit(interruptibleChild(mode))
	}
	os.Exit(m.Run())
}

// interruptibleChild signals its own process after asking the context what
// the mode says, and prints what the context and one made from it say.
func interruptibleChild(mode string) int {
	ctx, stop := interruptible()
	defer stop()
	sig := syscall.SIGTERM
	derived := ctx
	switch mode {
	case "idle":
		sig = syscall.SIGINT
	case "done":
		_ = ctx.Done()
		c, cancel := context.WithTimeout(ctx, time.Hour)
		defer cancel()
		derived = c
	case "err":
		sig = syscall.SIGINT
		if err := ctx.Err(); err != nil {
			fmt.Println("already:", err)
			return 1
		}
		c, cancel := context.WithCancel(ctx)
		defer cancel()
		derived = c
	case "derived":
		c, cancel := context.WithCancel(ctx)
		defer cancel()
		derived = c
	}
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		fmt.Println(err)
		return 1
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		fmt.Println("survived: no signal arrived")
		return 1
	}
	<-derived.Done()
	fmt.Printf("cause: %v; derived: %v\n", context.Cause(ctx), context.Cause(derived))
	return 0
}

func TestInterruptibleStopped(t *testing.T) {
	ctx, stop := interruptible()
	stop()
	<-ctx.Done() // stopped before anything waited: done, and never armed
	assert.ErrorIs(t, ctx.Err(), context.Canceled)
	assert.ErrorIs(t, context.Cause(ctx), context.Canceled)
	assert.Nil(t, ctx.(*lazySignals).armed.Load())

	ctx, stop = interruptible()
	require.NoError(t, ctx.Err()) // armed
	stop()
	<-ctx.Done()
	assert.ErrorIs(t, ctx.Err(), context.Canceled)
	var sig interrupted
	assert.False(t, errors.As(context.Cause(ctx), &sig))
}
