// Package flock takes advisory locks on files, shared between processes:
// the stores' directories and the chroot builder's cached roots.
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Lock is a held lock; Unlock releases it.
type Lock struct{ f *os.File }

// Exclusive takes an exclusive lock on path (made if missing), waiting for it
// as long as ctx lets.
func Exclusive(ctx context.Context, path string) (*Lock, error) {
	return acquire(ctx, path, syscall.LOCK_EX)
}

// Shared takes a shared lock on path, waiting as long as ctx lets.
func Shared(ctx context.Context, path string) (*Lock, error) {
	return acquire(ctx, path, syscall.LOCK_SH)
}

// TryExclusive takes an exclusive lock on path if nobody holds one.
func TryExclusive(path string) (*Lock, bool) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		f.Close()
		return nil, false
	}
	return &Lock{f}, true
}

func acquire(ctx context.Context, path string, how int) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return &Lock{f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the lock %s: %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Unlock releases the lock; a nil Lock is fine.
func (l *Lock) Unlock() {
	if l != nil && l.f != nil {
		l.f.Close() // closing the last descriptor releases the lock
		l.f = nil
	}
}
