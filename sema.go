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
	// wake, capacity 1, says "it may be free now". The first waiter makes
	// it, so that a lock never contended costs no channel.
	wake atomic.Pointer[chan struct{}]
}

func newSema() sema { return sema{} }

// wakeup returns the wake channel, making it if need be. A waiter calls it
// before it counts itself in waiters, so unlock, which looks at waiters
// first, always finds the channel made.
func (s *sema) wakeup() chan struct{} {
	if p := s.wake.Load(); p != nil {
		return *p
	}
	ch := make(chan struct{}, 1)
	if s.wake.CompareAndSwap(nil, &ch) {
		return ch
	}
	return *s.wake.Load()
}

// tryLock takes the lock if it is free.
func (s *sema) tryLock() bool { return s.held.CompareAndSwap(false, true) }

// lock takes the lock, unless ctx ends first.
func (s *sema) lock(ctx context.Context) error {
	if s.tryLock() {
		return nil
	}
	wake := s.wakeup()
	s.waiters.Add(1)
	defer s.waiters.Add(-1)
	for {
		// A waiter counted before this attempt cannot miss an unlock:
		// unlock clears held before it looks for waiters.
		if s.tryLock() {
			return nil
		}
		select {
		case <-wake:
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
		case s.wakeup() <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}
