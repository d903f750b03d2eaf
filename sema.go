package websocket

import (
	"context"
	"sync/atomic"
)

// sema is a mutual-exclusion lock whose acquisition can be abandoned when a
// context ends. Taking and releasing it uncontended is an atomic operation
// each (a one-slot channel costs a runtime lock per operation, measured as a
// third of a small echo's CPU time); waiters park on a channel.
type sema struct {
	held    atomic.Bool
	waiters atomic.Int32
	wake    chan struct{} // capacity 1: "it may be free now"
}

func newSema() sema { return sema{wake: make(chan struct{}, 1)} }

// tryLock takes the lock if it is free.
func (s *sema) tryLock() bool { return s.held.CompareAndSwap(false, true) }

// lock takes the lock, unless ctx ends first.
func (s *sema) lock(ctx context.Context) error {
	if s.tryLock() {
		return nil
	}
	s.waiters.Add(1)
	defer s.waiters.Add(-1)
	for {
		// A waiter counted before this attempt cannot miss an unlock:
		// unlock clears held before it looks for waiters.
		if s.tryLock() {
			return nil
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// unlock releases the lock and wakes a waiter, if any.
func (s *sema) unlock() {
	s.held.Store(false)
	if s.waiters.Load() > 0 {
		select {
		case s.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}
