package websocket

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestSemaExcludes(t *testing.T) {
	s := newSema()
	var wg sync.WaitGroup
	inside, max := 0, 0
	var mu sync.Mutex
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				if err := s.lock(context.Background()); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				inside++
				max = maxInt(max, inside)
				mu.Unlock()
				mu.Lock()
				inside--
				mu.Unlock()
				s.unlock()
			}
		}()
	}
	wg.Wait()
	if max != 1 {
		t.Fatalf("got %d holders at once, want 1", max)
	}
}

func maxInt(a, b int) int { return max(a, b) }

func TestSemaContext(t *testing.T) {
	s := newSema()
	s.lock(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.lock(ctx) }()
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	// A waiter that arrives later still gets the lock once it is released.
	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got <- s.lock(ctx)
	}()
	s.unlock()
	if err := <-got; err != nil {
		t.Fatalf("got %v, want the lock", err)
	}
	if s.tryLock() {
		t.Fatal("tryLock succeeded on a held lock")
	}
}
