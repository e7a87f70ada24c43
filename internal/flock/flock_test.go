package flock

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLocks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.lock")

	a, err := Shared(ctx, path)
	require.NoError(t, err)
	b, err := Shared(ctx, path)
	require.NoError(t, err, "shared locks coexist")
	_, free := TryExclusive(path)
	assert.False(t, free, "no exclusive lock while shared ones are held")

	short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	_, err = Exclusive(short, path)
	require.Error(t, err, "Exclusive waits only as long as the context lets")
	assert.Contains(t, err.Error(), "waiting for the lock "+path)

	got := make(chan *Lock)
	go func() {
		l, err := Exclusive(ctx, path)
		assert.NoError(t, err)
		got <- l
	}()
	a.Unlock()
	select {
	case <-got:
		t.Fatal("the exclusive lock was taken while a shared one was held")
	case <-time.After(200 * time.Millisecond):
	}
	b.Unlock()
	l := <-got
	_, free = TryExclusive(path)
	assert.False(t, free)
	l.Unlock()
	l2, free := TryExclusive(path)
	assert.True(t, free, "free again after Unlock")
	l2.Unlock()
	var none *Lock
	none.Unlock() // harmless
}
