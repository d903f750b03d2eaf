// Package conntrack keeps track of the WebSocket connections a server
// upgrades, for what a service in production needs and [websocket.Upgrade]
// alone cannot give: a cap on the number of open connections, a graceful
// shutdown, and metrics.
//
// A [Tracker] upgrades requests in place of websocket.Upgrade and follows
// each connection until it closes. It is built only on the exported API of
// package websocket: it learns that a connection has closed through
// [websocket.Conn.Context].
//
// # Shutdown
//
// [http.Server.Shutdown] does not touch the connections Upgrade took over
// from it. Register the Tracker's shutdown with the http.Server, which starts
// it without waiting for it, then wait for it after the http.Server's:
//
//	hs.RegisterOnShutdown(func() { t.Shutdown(context.Background()) })
//	...
//	hs.Shutdown(ctx) // returns without waiting for the registered function
//	t.Shutdown(ctx)  // waits for the WebSocket connections to close
//
// # Metrics
//
// [Tracker.Metrics] returns a snapshot of counters, and a [Hook] receives the
// events as they happen. The package publishes nothing by itself; an
// application that serves the /debug/vars page of package expvar publishes
// the snapshot there:
//
//	expvar.Publish("websocket", expvar.Func(func() any { return t.Metrics() }))
package conntrack

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/wsforge/websocket"
	"golang.org/x/net/http/httpguts"
)

// DefaultRetryAfter is the Retry-After a [Tracker] suggests when its
// RetryAfter is zero.
const DefaultRetryAfter = 5 * time.Second

// Tracker keeps track of the connections it upgrades: it caps how many are
// open at once, shuts them down gracefully, and counts what they carry.
// Applications opt in by calling [Tracker.Upgrade] instead of
// [websocket.Upgrade]. The zero Tracker is ready to use; it must not be
// copied after first use. Its methods may be called from any goroutine.
//
// A connection is forgotten, and frees its place under MaxConns, once its
// [websocket.Conn.Context] is done: on a goroutine that starts when the
// connection closes, so a moment after Close or CloseNow returns. Shutdown
// waits for it.
type Tracker struct {
	// MaxConns caps the connections open at once: beyond it, Upgrade
	// answers 503 Service Unavailable with a Retry-After header before
	// taking the connection over. Upgrades under way count against it.
	// Zero means no cap.
	MaxConns int

	// RetryAfter is what the Retry-After header of a 503 answer suggests,
	// rounded up to whole seconds. Zero means DefaultRetryAfter.
	RetryAfter time.Duration

	// Hook, if not nil, receives the Tracker's events as they happen.
	Hook Hook

	mu        sync.Mutex
	conns     map[*websocket.Conn]struct{}
	pending   int  // upgrades under way, counted against MaxConns
	closers   int  // goroutines of Shutdown still closing a connection
	closing   bool // Shutdown has begun
	abandoned bool // a Shutdown's context ended: no more waiting
	changed   chan struct{}
	m         Metrics // ConnsTotal, HandshakeFailures, and the totals of closed connections
}

// Upgrade is [websocket.Upgrade] with the Tracker's bookkeeping: it refuses
// the request with 503 Service Unavailable and a Retry-After header when
// MaxConns connections are open or Shutdown has begun, counts failures by
// reason, and tracks the connection until it closes. opts is used as by
// websocket.Upgrade. A refusal is reported as a [*websocket.HandshakeError]
// whose Status is 503.
func (t *Tracker) Upgrade(w http.ResponseWriter, r *http.Request, opts *websocket.UpgradeOptions) (*websocket.Conn, error) {
	t.mu.Lock()
	t.initLocked()
	var refused string
	switch {
	case t.closing:
		refused = "server shutting down"
		t.failedLocked(FailureShuttingDown)
	case t.MaxConns > 0 && len(t.conns)+t.pending >= t.MaxConns:
		refused = "server at capacity"
		t.failedLocked(FailureOverCapacity)
	default:
		t.pending++
	}
	t.mu.Unlock()
	if refused != "" {
		retry := t.RetryAfter
		if retry <= 0 {
			retry = DefaultRetryAfter
		}
		w.Header().Set("Retry-After", strconv.FormatInt(int64((retry+time.Second-1)/time.Second), 10))
		http.Error(w, "conntrack: "+refused, http.StatusServiceUnavailable)
		return nil, &websocket.HandshakeError{Reason: refused, Status: http.StatusServiceUnavailable}
	}

	c, err := websocket.Upgrade(w, r, opts)

	t.mu.Lock()
	t.pending--
	t.notifyLocked()
	if err != nil {
		t.failedLocked(failureOf(err, r))
		t.mu.Unlock()
		return nil, err
	}
	t.conns[c] = struct{}{}
	t.m.ConnsTotal++
	if t.Hook != nil {
		t.Hook.ConnOpened()
	}
	closing, abandoned := t.closing, t.abandoned
	if closing && !abandoned {
		t.closers++
	}
	t.mu.Unlock()
	// No goroutine waits for the close: AfterFunc starts one once it has
	// happened (at once if it already has).
	context.AfterFunc(c.Context(), func() { t.remove(c) })
	switch {
	case abandoned:
		c.CloseNow()
	case closing:
		go t.goAway(c)
	}
	if c.Context().Err() != nil {
		t.remove(c) // closed already: forget it before returning
	}
	return c, nil
}

// failureOf classifies an error of websocket.Upgrade by the HTTP status it
// answered with.
func failureOf(err error, r *http.Request) Failure {
	var he *websocket.HandshakeError
	if !errors.As(err, &he) {
		return FailureAborted
	}
	switch he.Status {
	case http.StatusForbidden:
		return FailureForbiddenOrigin
	case http.StatusUpgradeRequired:
		// Upgrade answers 426 for a missing Upgrade token too; it checks
		// the token before the version (RFC 6455 §4.2.1 items 3 and 6).
		if hasToken(r.Header, "Upgrade", "websocket") {
			return FailureBadVersion
		}
	}
	return FailureBadRequest
}

// hasToken reports whether the comma-separated values of header name
// contain token, compared case-insensitively (RFC 9110 §5.6.1).
func hasToken(h http.Header, name, token string) bool {
	return httpguts.HeaderValuesContainsToken(h.Values(name), token)
}

// Shutdown stops the Tracker: new upgrades are refused with 503, every open
// connection is sent a close frame with [websocket.StatusGoingAway], and
// Shutdown waits for their closing handshakes (each bounded by its
// CloseTimeout) and for the upgrades under way. If ctx ends first, it
// closes the connections left without a handshake and returns ctx's error
// once they are closed.
//
// Shutdown may be called more than once and from several goroutines; each
// call waits as described. After it, the Tracker does not upgrade again.
func (t *Tracker) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	t.initLocked()
	var conns []*websocket.Conn
	if !t.closing {
		t.closing = true
		for c := range t.conns {
			conns = append(conns, c)
		}
		t.closers += len(conns)
	}
	t.mu.Unlock()
	for _, c := range conns {
		go t.goAway(c)
	}
	if t.wait(ctx, func() bool { return len(t.conns) == 0 && t.pending == 0 && t.closers == 0 }) {
		return nil
	}
	t.mu.Lock()
	t.abandoned = true
	conns = conns[:0]
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.CloseNow()
	}
	// Closing the connections ends the closing handshakes under way.
	t.wait(context.Background(), func() bool { return len(t.conns) == 0 && t.closers == 0 })
	return ctx.Err()
}

// goAway runs the closing handshake of one connection for Shutdown.
func (t *Tracker) goAway(c *websocket.Conn) {
	c.Close(websocket.StatusGoingAway, "server shutting down")
	t.mu.Lock()
	t.closers--
	t.notifyLocked()
	t.mu.Unlock()
}

// wait waits until done, called with t.mu held, reports true, or ctx ends.
func (t *Tracker) wait(ctx context.Context, done func() bool) bool {
	for {
		t.mu.Lock()
		if done() {
			t.mu.Unlock()
			return true
		}
		changed := t.changed
		t.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// remove forgets a closed connection, adding what it carried to the
// totals. It runs once per connection, after its Context is done.
func (t *Tracker) remove(c *websocket.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.conns[c]; !ok {
		return
	}
	delete(t.conns, c)
	st := c.Stats()
	t.m.add(st)
	if t.Hook != nil {
		t.Hook.ConnClosed(st)
	}
	t.notifyLocked()
}

// Metrics returns a snapshot of the Tracker's counters. It visits every
// open connection, so call it at the pace of a metrics scrape, not per
// message.
//
// The package publishes nothing by itself. To show the metrics as JSON on
// the /debug/vars page of package expvar, an application that serves it
// publishes them:
//
//	expvar.Publish("websocket", expvar.Func(func() any { return t.Metrics() }))
func (t *Tracker) Metrics() Metrics {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.initLocked()
	m := t.m.clone()
	m.ConnsActive = uint64(len(t.conns))
	for c := range t.conns {
		m.add(c.Stats())
	}
	return m
}

func (t *Tracker) initLocked() {
	if t.conns == nil {
		t.conns = make(map[*websocket.Conn]struct{})
		t.changed = make(chan struct{})
		t.m.HandshakeFailures = make(map[Failure]uint64)
		t.m.CloseSent = make(map[websocket.StatusCode]uint64)
		t.m.CloseReceived = make(map[websocket.StatusCode]uint64)
	}
}

func (t *Tracker) failedLocked(f Failure) {
	t.m.HandshakeFailures[f]++
	if t.Hook != nil {
		t.Hook.HandshakeFailed(f)
	}
}

// notifyLocked wakes the goroutines waiting in wait.
func (t *Tracker) notifyLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}
