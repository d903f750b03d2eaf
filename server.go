package websocket

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Server keeps track of the connections it upgrades, for what a service in
// production needs and [Upgrade] alone cannot give: a cap on the number of
// connections, a graceful shutdown (which [http.Server.Shutdown] does not
// do for connections taken over from it), and metrics. Applications opt
// in by calling [Server.Upgrade] instead of Upgrade. The zero Server is
// ready to use; it must not be copied after first use.
//
// To shut down with an http.Server, register the Server's shutdown and
// wait for it after the http.Server's:
//
//	hs.RegisterOnShutdown(func() { ws.Shutdown(context.Background()) })
//	...
//	hs.Shutdown(ctx) // returns without waiting for the registered function
//	ws.Shutdown(ctx) // waits for the WebSocket connections to close
type Server struct {
	// MaxConns caps the connections open at once: beyond it, Upgrade
	// answers 503 Service Unavailable with a Retry-After header before
	// taking the connection over. Zero means no cap.
	MaxConns int

	// RetryAfter is what the Retry-After header of a 503 answer suggests,
	// rounded up to whole seconds. Zero means 5 seconds.
	RetryAfter time.Duration

	// Hook, if not nil, receives the Server's events as they happen.
	Hook MetricsHook

	mu        sync.Mutex
	conns     map[*Conn]struct{}
	pending   int  // upgrades under way, counted against MaxConns
	closers   int  // goroutines of Shutdown still closing a connection
	closing   bool // Shutdown has begun
	abandoned bool // a Shutdown's context ended: no more waiting
	changed   chan struct{}
	m         Metrics // ConnsTotal, HandshakeFailures, and the totals of closed connections
}

// Upgrade is [Upgrade] with the Server's bookkeeping: it refuses the
// request with 503 Service Unavailable and a Retry-After header when
// MaxConns connections are open or Shutdown has begun, counts failures by
// reason, and tracks the connection until it closes. opts is used as by
// Upgrade. A refusal is reported as a [*HandshakeError].
func (s *Server) Upgrade(w http.ResponseWriter, r *http.Request, opts *UpgradeOptions) (*Conn, error) {
	s.mu.Lock()
	s.initLocked()
	var refused string
	switch {
	case s.closing:
		refused = "server shutting down"
		s.failedLocked(HandshakeShuttingDown)
	case s.MaxConns > 0 && len(s.conns)+s.pending >= s.MaxConns:
		refused = "server at capacity"
		s.failedLocked(HandshakeOverCapacity)
	default:
		s.pending++
	}
	s.mu.Unlock()
	if refused != "" {
		retry := s.RetryAfter
		if retry <= 0 {
			retry = 5 * time.Second
		}
		w.Header().Set("Retry-After", strconv.FormatInt(int64((retry+time.Second-1)/time.Second), 10))
		http.Error(w, "websocket: "+refused, http.StatusServiceUnavailable)
		return nil, &HandshakeError{Reason: refused, Status: http.StatusServiceUnavailable}
	}

	var o UpgradeOptions
	if opts != nil {
		o = *opts
	}
	o.onClose = s.remove
	c, err := Upgrade(w, r, &o)

	s.mu.Lock()
	s.pending--
	s.notifyLocked()
	if err != nil {
		s.failedLocked(failureOf(err, r))
		s.mu.Unlock()
		return nil, err
	}
	s.conns[c] = struct{}{}
	s.m.ConnsTotal++
	if s.Hook != nil {
		s.Hook.ConnOpened()
	}
	closing, abandoned := s.closing, s.abandoned
	if closing && !abandoned {
		s.closers++
	}
	s.mu.Unlock()
	switch {
	case abandoned:
		c.CloseNow()
	case closing:
		go s.goAway(c)
	}
	if c.isClosed() {
		s.remove(c) // it may have closed before it was tracked
	}
	return c, nil
}

// failureOf classifies an error of Upgrade.
func failureOf(err error, r *http.Request) HandshakeFailure {
	var he *HandshakeError
	if !errors.As(err, &he) {
		return HandshakeAborted
	}
	switch he.Status {
	case http.StatusForbidden:
		return HandshakeForbiddenOrigin
	case http.StatusUpgradeRequired:
		// checkRequest asks for the Upgrade token before the version.
		if headerHasToken(r.Header, "Upgrade", "websocket") {
			return HandshakeBadVersion
		}
	}
	return HandshakeBadRequest
}

// Shutdown stops the Server: new upgrades are refused with 503, every open
// connection is sent a close frame with StatusGoingAway, and Shutdown waits
// for their closing handshakes (each bounded by its CloseTimeout) and for
// the upgrades under way. If ctx ends first, it closes the connections
// left without a handshake and returns ctx's error once they are closed.
//
// Shutdown may be called more than once and from several goroutines; each
// call waits as described. After it, the Server does not serve again.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.initLocked()
	var conns []*Conn
	if !s.closing {
		s.closing = true
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.closers += len(conns)
	}
	s.mu.Unlock()
	for _, c := range conns {
		go s.goAway(c)
	}
	if s.wait(ctx, func() bool { return len(s.conns) == 0 && s.pending == 0 && s.closers == 0 }) {
		return nil
	}
	s.mu.Lock()
	s.abandoned = true
	conns = conns[:0]
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.CloseNow()
	}
	// Closing the connections ends the closing handshakes under way.
	s.wait(context.Background(), func() bool { return len(s.conns) == 0 && s.closers == 0 })
	return ctx.Err()
}

// goAway runs the closing handshake of one connection for Shutdown.
func (s *Server) goAway(c *Conn) {
	c.Close(StatusGoingAway, "server shutting down")
	s.mu.Lock()
	s.closers--
	s.notifyLocked()
	s.mu.Unlock()
}

// wait waits until done, called with s.mu held, reports true or ctx ends.
func (s *Server) wait(ctx context.Context, done func() bool) bool {
	for {
		s.mu.Lock()
		if done() {
			s.mu.Unlock()
			return true
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// remove forgets a closed connection, adding what it carried to the
// totals. It is the connections' onClose, and is idempotent.
func (s *Server) remove(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; !ok {
		return
	}
	delete(s.conns, c)
	st := c.Stats()
	s.m.add(st)
	if s.Hook != nil {
		s.Hook.ConnClosed(st)
	}
	s.notifyLocked()
}

// Metrics returns a snapshot of the Server's counters. It visits every
// open connection, so call it at the pace of a metrics scrape, not per
// message.
//
// The package publishes nothing by itself. To show the metrics as JSON on
// the /debug/vars page of package expvar, an application that serves it
// publishes them:
//
//	expvar.Publish("websocket", expvar.Func(func() any { return srv.Metrics() }))
func (s *Server) Metrics() Metrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	m := s.m.clone()
	m.ConnsActive = uint64(len(s.conns))
	for c := range s.conns {
		m.add(c.Stats())
	}
	return m
}

func (s *Server) initLocked() {
	if s.conns == nil {
		s.conns = make(map[*Conn]struct{})
		s.changed = make(chan struct{})
		s.m.HandshakeFailures = make(map[HandshakeFailure]uint64)
		s.m.CloseSent = make(map[StatusCode]uint64)
		s.m.CloseReceived = make(map[StatusCode]uint64)
	}
}

func (s *Server) failedLocked(f HandshakeFailure) {
	s.m.HandshakeFailures[f]++
	if s.Hook != nil {
		s.Hook.HandshakeFailed(f)
	}
}

// notifyLocked wakes the goroutines waiting in wait.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}
