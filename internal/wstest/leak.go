// Package wstest holds helpers shared by wsforge's tests.
package wstest

import (
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// CheckLeaks records the goroutines running now and, when t ends, fails t
// if others are still running once they have had time to finish. Goroutines
// end asynchronously after a connection closes, so it polls for a while.
func CheckLeaks(t testing.TB) {
	t.Helper()
	before := goroutines()
	t.Cleanup(func() {
		if extra := leakedSince(before); len(extra) > 0 {
			t.Errorf("%d goroutines leaked:\n%s", len(extra), strings.Join(extra, "\n\n"))
		}
	})
}

// leakedSince returns the stacks of the goroutines started since before
// that are still running once they have had up to about 5 s to finish,
// sorted; it polls, backing off, and returns as soon as there are none.
// This is a wait for other goroutines to end, which has no event to wait
// on; the tests themselves never synchronise by sleeping.
func leakedSince(before map[string]string) []string {
	var extra []string
	for wait := time.Millisecond; wait < 5*time.Second; wait *= 2 {
		extra = extra[:0]
		for id, stack := range goroutines() {
			if _, ok := before[id]; !ok && !ignored(stack) {
				extra = append(extra, stack)
			}
		}
		if len(extra) == 0 {
			return nil
		}
		time.Sleep(wait)
	}
	sort.Strings(extra)
	return extra
}

// ignored reports goroutines that belong to the runtime or the test
// framework rather than to the code under test.
func ignored(stack string) bool {
	for _, s := range []string{
		"testing.(*T).Run(",
		"testing.(*T).Parallel(",
		"testing.runTests(",
		"testing.(*F).Fuzz(",
		"os/signal.signal_recv(",
		"net/http.(*persistConn)", // idle keep-alive conns of http.DefaultClient
	} {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}

// goroutines returns the stacks of all goroutines by id, but the caller's.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := make(map[string]string)
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 {
			continue // the calling goroutine
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(g, "goroutine "), " ")
		out[id] = g
	}
	return out
}
