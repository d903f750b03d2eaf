// Package redial keeps a WebSocket client connected: a [Dialer] dials a
// server, hands each connection to a function until it ends, and dials
// again after a jittered, growing wait set by a [Backoff].
//
// It is built only on the exported API of package websocket.
package redial

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"time"

	"github.com/wsforge/websocket"
)

// Backoff is the schedule of a [Dialer]'s waits between attempts: each
// wait is drawn uniformly from zero to a bound ("full jitter"), and the
// bound grows by Factor after each failure, from Initial up to Max. The
// jitter spreads out clients that lost their connections at the same
// moment, such as when a server restarts, so that they do not come back
// in a storm.
type Backoff struct {
	// Initial is the bound of the first wait. Zero means 500 ms.
	Initial time.Duration

	// Factor multiplies the bound after each failure. Zero means 2; a
	// value below 1 means 1, a constant bound.
	Factor float64

	// Max caps the bound. Zero means 30 s.
	Max time.Duration

	// ResetAfter is how long a connection must stay up to count as a
	// success: the wait after it ends starts again from Initial. A
	// connection that ends sooner counts as a failure, so a server that
	// accepts and drops connections at once still sees the waits grow.
	// Zero means one minute.
	ResetAfter time.Duration
}

// withDefaults returns b with its zero fields set to the defaults.
func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = 500 * time.Millisecond
	}
	switch {
	case b.Factor == 0:
		b.Factor = 2
	case !(b.Factor >= 1): // also NaN
		b.Factor = 1
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	if b.ResetAfter <= 0 {
		b.ResetAfter = time.Minute
	}
	return b
}

// bound returns the largest wait after the given number of consecutive
// failures, at least 1.
func (b Backoff) bound(failures int) time.Duration {
	f := float64(b.Initial) * math.Pow(b.Factor, float64(failures-1))
	if f >= float64(b.Max) || math.IsNaN(f) {
		return b.Max
	}
	return time.Duration(f)
}

// Dialer keeps a client connected to a server: it dials, hands the
// connection to a function until it ends, and dials again after a wait
// set by Backoff, for as long as the context of Run lasts. Its fields
// must not change while Run is running.
type Dialer struct {
	// URL is the server's, as for [websocket.Dial].
	URL string

	// Options are passed to every [websocket.Dial]. Nil means all
	// defaults.
	Options *websocket.DialOptions

	// DialTimeout bounds each attempt's opening handshake, so that a
	// server that accepts but never answers cannot stall Run. Zero means
	// 10 s.
	DialTimeout time.Duration

	// Backoff sets the waits between attempts. The zero value means the
	// defaults documented on its fields.
	Backoff Backoff

	// OnDisconnect, if set, is called after each failed dial or ended
	// connection, unless Run's context has ended, with what ended it
	// (nil if the serve function returned nil) and the wait before the
	// next attempt. It suits logging and marking the client offline; it
	// is called on Run's goroutine and delays the next attempt until it
	// returns.
	OnDisconnect func(err error, wait time.Duration)

	jitter func(n int64) int64 // nil means rand.Int64N; tests set it
}

// Run connects and calls serve with each new connection, which is the
// place to (re)subscribe or resume, for example by sending the last
// offset seen. When serve returns, Run closes the connection (with
// [websocket.Conn.CloseNow]: serve calls [websocket.Conn.Close] first if
// it wants a closing handshake), waits, and dials again. The first
// attempt is made at once.
//
// Run returns only when ctx ends, with [context.Cause] of ctx, so a
// caller that stops it with a [context.CancelCauseFunc] gets its reason
// back. serve receives ctx too and should return when it ends. A nil
// Dialer, ctx or serve is an error.
func (d *Dialer) Run(ctx context.Context, serve func(ctx context.Context, c *websocket.Conn) error) error {
	if d == nil || ctx == nil || serve == nil {
		return errors.New("redial: Dialer.Run: nil Dialer, Context or serve function")
	}
	b := d.Backoff.withDefaults()
	timeout := d.DialTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	jitter := d.jitter
	if jitter == nil {
		jitter = rand.Int64N
	}
	failures := 0
	for ctx.Err() == nil {
		dctx, cancel := context.WithTimeout(ctx, timeout)
		c, _, err := websocket.Dial(dctx, d.URL, d.Options)
		cancel()
		if err == nil {
			start := time.Now()
			err = serve(ctx, c)
			c.CloseNow()
			if time.Since(start) >= b.ResetAfter {
				failures = 0
			}
		}
		if ctx.Err() != nil {
			break
		}
		failures++
		n := int64(b.bound(failures))
		if n < math.MaxInt64 {
			n++ // so that the wait is in [0, bound]
		}
		wait := time.Duration(jitter(n))
		if d.OnDisconnect != nil {
			d.OnDisconnect(err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	return context.Cause(ctx)
}
