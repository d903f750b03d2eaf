package websocket

import (
	"context"
	"sync"
	"sync/atomic"
)

// closeState is the close sequence of a Conn, in one place. A close has
// one of four origins: Close (the closing handshake, ours first), the
// peer's close frame (the handshake, theirs first), a failure (a protocol
// violation by the peer, a broken connection, a stalled write) and the
// heartbeat. Whatever the origin, the sequence is the same and each step
// happens once:
//
//  1. started is set: the close has begun, and nothing may start a second
//     one (the heartbeat and Close look at it). called is set too when the
//     application called Close or CloseNow, so that a second call reports
//     net.ErrClosed.
//  2. sent is set, under the Conn's frameMu, when our close frame is
//     written: after it no data frame may follow (RFC 6455 §5.5.1).
//  3. peerClosed is closed by the reader when the peer's close frame
//     arrived and was answered.
//  4. finish runs once: cause is recorded, then done is closed, then the
//     network connection; I/O that fails because of the close sees done
//     closed and reports closedErr. The Context, if one was made, ends last.
//
// Invariants: called implies started; done closed implies cause final;
// a closing handshake completed (Close returns nil) exactly when a close
// frame was sent and one received (the codes in connStats).
type closeState struct {
	called     atomic.Bool
	started    atomic.Bool
	sent       bool // guarded by the Conn's frameMu
	peerClosed chan struct{}
	done       chan struct{}
	once       sync.Once
	cause      error                    // why the Conn closed itself, if it did; set before done is closed
	lifetime   atomic.Pointer[lifetime] // made by the first call to Context
}

func newCloseState() closeState {
	return closeState{peerClosed: make(chan struct{}), done: make(chan struct{})}
}

// isDone reports whether finish has run.
func (s *closeState) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// closedErr returns the error of I/O on a Conn that has closed: a
// [*CloseError] with StatusAbnormalClosure wrapping the cause, or errClosed
// when there was none. The caller has seen done closed.
func (s *closeState) closedErr() error {
	if s.cause == nil {
		return errClosed
	}
	return &CloseError{Code: StatusAbnormalClosure, err: s.cause}
}

// lifetime is the context [Conn.Context] returns, with its cancel function.
type lifetime struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// closeConn closes the network connection once; it reports whether this
// call did it.
func (c *Conn) closeConn() bool { return c.closeWith(nil) }

// closeWith is closeConn recording why the Conn closes itself: a non-nil
// cause is what later reads and writes report (see closedErr). It is step 4
// of the close sequence.
func (c *Conn) closeWith(cause error) bool {
	s := &c.closing
	did := false
	s.once.Do(func() {
		did = true
		s.cause = cause
		c.hb.stop()
		close(s.done)
		c.nc.Close()
		if l := s.lifetime.Load(); l != nil {
			l.cancel(s.closedErr())
		}
	})
	return did
}

// isClosed reports whether closeConn has run.
func (c *Conn) isClosed() bool { return c.closing.isDone() }

// closedErr is closeState.closedErr.
func (c *Conn) closedErr() error { return c.closing.closedErr() }

// Context returns a context that is done once the connection has closed,
// for whatever reason: a closing handshake, CloseNow, a failure, the
// heartbeat. [context.Cause] then reports an error wrapping [net.ErrClosed]
// or a [*CloseError] saying why the Conn closed itself. It lets code built
// on the Conn, such as connection trackers and send queues, learn of the
// close without a goroutine of its own ([context.AfterFunc]). The context
// is made on the first call, so a Conn that is never asked for one costs
// nothing more.
func (c *Conn) Context() context.Context {
	s := &c.closing
	if l := s.lifetime.Load(); l != nil {
		return l.ctx
	}
	l := &lifetime{}
	l.ctx, l.cancel = context.WithCancelCause(context.Background())
	if !s.lifetime.CompareAndSwap(nil, l) {
		l.cancel(nil)
		return s.lifetime.Load().ctx
	}
	if s.isDone() { // closed before l was stored: closeWith missed it
		l.cancel(s.closedErr())
	}
	return l.ctx
}
