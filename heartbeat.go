package websocket

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// ErrPongTimeout reports a connection closed by its heartbeat because the
// peer did not answer a ping within the PongTimeout option. Reads and
// writes on such a Conn return a [*CloseError] with StatusAbnormalClosure
// (no close frame was exchanged) that wraps ErrPongTimeout and
// [net.ErrClosed].
var ErrPongTimeout = errors.New("websocket: no pong from the peer in time")

// errPongTimeout is the cause closeWith records for a pong timeout.
var errPongTimeout error = localClose{ErrPongTimeout}

// localClose is the cause of a connection the Conn closed itself: it
// matches both the reason and net.ErrClosed.
type localClose struct{ err error }

func (e localClose) Error() string   { return e.err.Error() }
func (e localClose) Unwrap() []error { return []error{e.err, net.ErrClosed} }

// probeWait bounds how long the heartbeat, reading control frames itself,
// waits for bytes that have not arrived yet.
const probeWait = 10 * time.Millisecond

// heartbeat drives a Conn's pings and idle timeout from one timer. Nothing
// waits between two firings: an idle Conn costs a timer, not a goroutine.
//
// At each ping it notes the pongs and the bytes received so far; when the
// pong is due it checks that the count moved. The reader counts what it
// reads, so this works while the application is blocked in Read. When no
// one is reading, the heartbeat takes the read side for a moment and
// handles the control frames at the head of the stream itself (probe).
type heartbeat struct {
	c *Conn

	mu      sync.Mutex
	timer   *time.Timer // guarded by mu
	stopped bool        // guarded by mu

	// Used by the timer callback only; one runs at a time, since the
	// timer is re-armed only when the callback is done.
	nextPing  time.Time // zero without pings
	pongDue   time.Time // zero when no ping awaits its answer
	pongs     uint64    // pongs received when the ping went out
	bytes     uint64    // bytes read when the ping went out
	idleCheck time.Time // zero without an idle timeout
	idleMark  uint64    // data received at the last idle check
	activeAt  time.Time // the check that last saw data arrive, or the start
}

// startHeartbeat arms the timer of a new Conn whose options ask for pings
// or an idle timeout.
func startHeartbeat(c *Conn) {
	cfg := &c.cfg
	if cfg.pingInterval == 0 && cfg.idleTimeout == 0 {
		return
	}
	now := time.Now()
	h := &heartbeat{c: c, activeAt: now}
	if cfg.pingInterval > 0 {
		h.nextPing = now.Add(cfg.pingInterval)
	}
	if cfg.idleTimeout > 0 {
		h.idleCheck = now.Add(h.idleStep())
	}
	c.hb = h
	h.mu.Lock()
	h.timer = time.AfterFunc(h.next().Sub(now), h.fire)
	h.mu.Unlock()
}

// stop disarms the timer for good; closeWith calls it.
func (h *heartbeat) stop() {
	if h == nil {
		return
	}
	h.mu.Lock()
	h.stopped = true
	if h.timer != nil {
		h.timer.Stop()
	}
	h.mu.Unlock()
}

// fire is the timer callback: it judges the outstanding ping, applies the
// idle timeout, sends the next ping when due and re-arms the timer.
func (h *heartbeat) fire() {
	c := h.c
	for {
		if c.closing.started.Load() {
			return // the close handshake, or the close, bounds itself
		}
		now := time.Now()
		if !h.pongDue.IsZero() && !now.Before(h.pongDue) {
			if !h.answered() {
				c.stats.flag(flagPongTimeout)
				c.closing.started.Store(true)
				// A close frame to a peer that does not answer would
				// likely go unread: the peer sees the TCP connection end.
				c.closeWith(errPongTimeout)
				return
			}
			h.pongDue = time.Time{}
		}
		if !h.idleCheck.IsZero() && !now.Before(h.idleCheck) && h.idle(now) {
			c.Close(StatusGoingAway, "idle timeout")
			return
		}
		if !h.nextPing.IsZero() && h.pongDue.IsZero() && !now.Before(h.nextPing) {
			if err := h.ping(now); err == context.DeadlineExceeded {
				continue // the ping could not go out before its pong was due
			} else if err != nil {
				return // the connection is closed or closing
			}
		}
		break
	}
	next := h.next()
	h.mu.Lock()
	if !h.stopped {
		h.timer.Reset(time.Until(next))
	}
	h.mu.Unlock()
}

// next returns when the timer must fire next.
func (h *heartbeat) next() time.Time {
	t := h.pongDue
	if t.IsZero() {
		t = h.nextPing
	}
	if !h.idleCheck.IsZero() && (t.IsZero() || h.idleCheck.Before(t)) {
		t = h.idleCheck
	}
	return t
}

// ping sends a ping with an empty payload, bounded by the time its answer
// is due, and notes what has been received so far.
func (h *heartbeat) ping(now time.Time) error {
	c := h.c
	h.pongs = c.stats.pongs.Load()
	h.bytes = c.cr.n.Load()
	h.pongDue = now.Add(c.cfg.pongTimeout)
	h.nextPing = now.Add(c.cfg.pingInterval)
	ctx, cancel := context.WithDeadline(context.Background(), h.pongDue)
	defer cancel()
	return c.writeFrame(ctx, header{fin: true, op: opPing}, nil)
}

// answered reports whether the peer answered the last ping: with a pong,
// or with any bytes if AnyDataIsPong is set. Data left unread by the
// application may hide the pong behind it; then bytes received since the
// ping, or a read buffer full of unread data (the peer cannot send more
// until the application reads), count as an answer: a slow reader is not
// a dead peer.
func (h *heartbeat) answered() bool {
	if h.sawAnswer() {
		return true
	}
	waiting, full := h.c.probe()
	return h.sawAnswer() || waiting && (full || h.c.cr.n.Load() != h.bytes)
}

func (h *heartbeat) sawAnswer() bool {
	c := h.c
	if c.cfg.anyDataIsPong {
		return c.cr.n.Load() != h.bytes
	}
	return c.stats.pongs.Load() != h.pongs
}

// idle reports whether no data has arrived for IdleTimeout, and schedules
// the next check otherwise. Checks come every quarter of IdleTimeout while
// data arrives, so the close comes at most 1.25 × IdleTimeout after the
// last data frame.
func (h *heartbeat) idle(now time.Time) bool {
	c := h.c
	if n := c.stats.msgsIn.Load() + c.stats.bytesIn.Load(); n != h.idleMark {
		h.idleMark, h.activeAt = n, now
	} else if now.Sub(h.activeAt) >= c.cfg.idleTimeout {
		if waiting, _ := c.probe(); !waiting {
			return true
		}
		h.activeAt = now // data the application has not read yet
	}
	h.idleCheck = now.Add(h.idleStep())
	if end := h.activeAt.Add(c.cfg.idleTimeout); end.Before(h.idleCheck) {
		h.idleCheck = end
	}
	return false
}

func (h *heartbeat) idleStep() time.Duration {
	return max(h.c.cfg.idleTimeout/4, time.Millisecond)
}

// probe does a reader's work on the control frames at the head of the
// stream, when no goroutine is reading: it answers pings, counts pongs and
// handles the peer's close. It stops at the first data frame (or inside
// one), which it leaves for the application, and reports whether unread
// data stands at the head (waiting) and fills the read buffer (full). If a
// reader is active, it only gives it probeWait to handle what arrived.
func (c *Conn) probe() (waiting, full bool) {
	// Only bytes already on their way are wanted: a short deadline ends
	// the wait, leaving any partial frame in the buffer for the reader.
	ctx, cancel := context.WithTimeout(context.Background(), probeWait)
	defer cancel()
	if c.readMu.lock(ctx) != nil {
		return false, false // a reader is active: it has had probeWait to handle what arrived
	}
	defer func() { c.readMu.unlock() }()
	if c.readErr != nil || c.isClosed() {
		return false, false
	}
	resume := c.resume.interrupted
	deadline, _ := ctx.Deadline()
	c.nc.SetReadDeadline(deadline)
	defer func() {
		c.resume.cut(resume) // a pong left owed does not cut a message
		if c.readErr == nil {
			c.nc.SetReadDeadline(time.Time{})
		}
	}()
	if c.flushPong(ctx) != nil {
		return false, false
	}
	for c.frameLeft == 0 {
		h, size, err := peekHeader(c.br)
		if err != nil {
			return c.resume.holds(), false // the reader will judge an error
		}
		if !h.op.isControl() {
			break
		}
		if err := c.checkHeader(h); err != nil {
			c.fail(StatusProtocolError, err)
			return false, false
		}
		b, err := c.br.Peek(size + int(h.length))
		if err != nil {
			return c.resume.holds(), false
		}
		payload := c.ctrl[:copy(c.ctrl[:], b[size:])]
		c.br.Discard(len(b))
		if h.masked {
			mask(h.key, payload)
		}
		if c.handleControl(ctx, h.op, payload) != nil {
			return false, false
		}
	}
	// Data stands at the head. Pull in what else has arrived, so that
	// bytes sent after it count as a sign of life.
	if n := c.br.Buffered(); n < c.br.Size() {
		c.br.Peek(n + 1)
	}
	n := c.br.Buffered()
	return n > 0 || c.resume.holds(), n == c.br.Size()
}
