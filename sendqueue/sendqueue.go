// Package sendqueue sends messages on a [websocket.Conn] asynchronously
// through a bounded queue, with a policy for a peer that reads too slowly,
// and broadcasts a message encoded once to many such queues.
//
// A [Queue] owns one goroutine that writes its messages in order. Send
// returns once a message is queued; when the queue is full its [Overflow]
// policy decides: wait for room, drop the message, or close the
// connection. [Broadcast] encodes a message once with
// [websocket.NewPreparedMessage] and queues the same bytes on every queue,
// so that one slow peer does not hold up the others.
//
// The package is built only on the exported API of package websocket.
package sendqueue

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/wsforge/websocket"
)

// Queue defaults.
const (
	// DefaultMessages is the number of messages a Queue holds unless told
	// otherwise.
	DefaultMessages = 256

	// DefaultBytes is the number of payload bytes a Queue holds unless
	// told otherwise: as much as websocket.DefaultReadLimit, so that a
	// queue can always take one message its peer would accept.
	DefaultBytes = 1 << 20
)

// Overflow is what a [Queue] does with a message that does not fit.
type Overflow int

const (
	// OverflowBlock makes Send wait, until ctx ends, for the queue to have
	// room. It pushes back on the sender.
	OverflowBlock Overflow = iota
	// OverflowDropNewest drops the message: Send returns [ErrFull] and the
	// queue carries on.
	OverflowDropNewest
	// OverflowClose treats the peer as a consumer too slow to keep: it
	// discards the queue and closes the connection with the queue's
	// CloseCode. Send returns an error that matches both [ErrFull] and
	// [net.ErrClosed].
	OverflowClose
)

// ErrFull is returned by [Queue.Send] when a message did not fit and the
// queue's policy dropped it.
var ErrFull = errors.New("sendqueue: queue full")

var (
	errQueueClosed = fmt.Errorf("sendqueue: queue closed: %w", net.ErrClosed)
	errConnClosed  = fmt.Errorf("sendqueue: connection closed: %w", net.ErrClosed)
	errSlowPeer    = fmt.Errorf("%w: closing the connection: %w", ErrFull, net.ErrClosed)
	errNilConn     = fmt.Errorf("sendqueue: nil Conn: %w", net.ErrClosed)
	errMessageType = errors.New("sendqueue: message type must be MessageText or MessageBinary")
)

// Options configure [New]. A nil *Options is valid and means all defaults.
// New never fails on an option: a value it cannot use means the default,
// as each field says.
type Options struct {
	// MaxMessages is how many messages the queue holds, counting the one
	// being written. Zero or negative means DefaultMessages.
	MaxMessages int

	// MaxBytes is how many payload bytes (uncompressed) the queue holds,
	// counting the message being written. A message larger than MaxBytes
	// is accepted only when nothing else is pending. Zero means
	// DefaultBytes; negative means no limit but MaxMessages.
	MaxBytes int64

	// Overflow is the policy for a message that does not fit. Zero, or a
	// value other than the Overflow constants, means OverflowBlock.
	Overflow Overflow

	// CloseCode is the close code OverflowClose sends. Zero means
	// websocket.StatusPolicyViolation (1008), which is also sent when
	// [websocket.Conn.Close] refuses CloseCode (a code a close frame
	// cannot carry: anything outside 1000-1003, 1007-1014 and 3000-4999);
	// websocket.StatusTryAgainLater (1013) suits a server shedding load.
	CloseCode websocket.StatusCode

	// CloseTimeout is how long OverflowClose waits for the message being
	// written to go out, so that the close frame can follow it, before it
	// closes the Conn without a closing handshake. Zero or negative means
	// websocket.DefaultCloseTimeout; a Conn upgraded or dialed with another
	// CloseTimeout should be given the same here.
	CloseTimeout time.Duration
}

// Queue sends messages on a Conn asynchronously, in order, through a
// bounded queue. Send returns once the message is queued; a goroutine owned
// by the queue writes the messages one after another. The queue applies its
// Overflow policy when it is full, so a peer that reads slowly, or not at
// all, costs its sender at most what the queue holds.
//
// The goroutine lives as long as the queue: it exits when Close has
// flushed the queue, when a write fails, or when the Conn is closed. A
// frame the peer does not take holds it until the Conn's WriteTimeout (if
// set) fails the write, the Conn closes, or Close gives up on it.
// A Queue is safe for concurrent use. Messages written with
// [websocket.Conn.Write] in the meantime go out between queued messages;
// closing the Conn ends the queue and discards what it holds, so call
// Close first to flush it.
type Queue struct {
	// Set once by New.
	c            *websocket.Conn
	connDone     <-chan struct{} // c.Context().Done()
	maxMsgs      int
	maxBytes     int64
	overflow     Overflow
	closeCode    websocket.StatusCode
	closeTimeout time.Duration

	wake chan struct{} // one slot: there is work, or the queue is ending
	done chan struct{} // closed when the writer goroutine exits

	// Guarded by mu.
	mu       sync.Mutex
	ring     []queued        // a circular buffer, grown up to maxMsgs
	head, n  int             // ring[head] is the oldest queued message; n are queued
	pending  int             // messages queued or being written
	bytes    int64           // their payload bytes
	inflight bool            // the writer is writing a message
	waiters  []chan struct{} // signalled when room appears or the queue ends
	closed   bool            // Close was called: no more messages are accepted
	err      error           // the queue has ended, and why: what Send returns
	lost     error           // an accepted message was not written: what Close returns
	slow     bool            // OverflowClose struck: the writer must close the Conn
	timer    *time.Timer     // closes the Conn if the writer cannot in time
}

// queued is a message in the queue: a prepared message, or a copy of a
// payload in a pooled buffer. n is the payload's size in both cases.
type queued struct {
	pm  *websocket.PreparedMessage
	buf *[]byte
	n   int
	typ websocket.MessageType
}

func (m queued) size() int64 { return int64(m.n) }

// New returns a queue sending on c and starts its goroutine. Close the
// queue (or the Conn) when done with it. Options are read once and never
// modified. A nil c gives a queue that has already ended: Send reports an
// error wrapping [net.ErrClosed] and Close returns nil.
func New(c *websocket.Conn, opts *Options) *Queue {
	var o Options
	if opts != nil {
		o = *opts
	}
	q := &Queue{
		c:            c,
		maxMsgs:      o.MaxMessages,
		maxBytes:     o.MaxBytes,
		overflow:     o.Overflow,
		closeCode:    o.CloseCode,
		closeTimeout: o.CloseTimeout,
		wake:         make(chan struct{}, 1),
		done:         make(chan struct{}),
	}
	if q.maxMsgs <= 0 {
		q.maxMsgs = DefaultMessages
	}
	if q.maxBytes == 0 {
		q.maxBytes = DefaultBytes
	}
	switch q.overflow {
	case OverflowBlock, OverflowDropNewest, OverflowClose:
	default:
		q.overflow = OverflowBlock
	}
	if q.closeCode == 0 {
		q.closeCode = websocket.StatusPolicyViolation
	}
	if q.closeTimeout <= 0 {
		q.closeTimeout = websocket.DefaultCloseTimeout
	}
	if c == nil {
		q.err = errNilConn
		close(q.done)
		return q
	}
	q.connDone = c.Context().Done()
	go q.run()
	return q
}

// Send queues a message of type typ with a copy of p, which the caller may
// reuse at once. It returns nil once the message is queued, [ErrFull] if
// the policy dropped it, or ctx's error if ctx ended while OverflowBlock
// waited for room; ctx bounds only that wait. Any other error means the
// queue has ended and took nothing: the Conn was closed, a write failed,
// or Close was called. To queue one message on many queues without a copy
// for each, use [Broadcast].
func (q *Queue) Send(ctx context.Context, typ websocket.MessageType, p []byte) error {
	if typ != websocket.MessageText && typ != websocket.MessageBinary {
		return errMessageType
	}
	buf := getBuffer(len(p))
	copy(*buf, p)
	err := q.enqueue(ctx, queued{buf: buf, n: len(p), typ: typ}, true, nil)
	if err != nil {
		putBuffer(buf)
	}
	return err
}

// errWouldBlock reports that an OverflowBlock queue is full.
var errWouldBlock = errors.New("sendqueue: queue would block")

// enqueue adds m to the queue, applying the overflow policy. When a full
// OverflowBlock queue must wait, it waits until ctx ends if wait is set;
// otherwise it returns errWouldBlock at once, after registering notify,
// if not nil, to be signalled when there may be room.
func (q *Queue) enqueue(ctx context.Context, m queued, wait bool, notify chan struct{}) error {
	size := m.size()
	q.mu.Lock()
	for {
		switch {
		case q.closed:
			q.mu.Unlock()
			return errQueueClosed
		case q.err != nil:
			err := q.err
			q.mu.Unlock()
			return err
		}
		if q.pending == 0 || q.pending < q.maxMsgs && (q.maxBytes < 0 || q.bytes+size <= q.maxBytes) {
			break
		}
		switch q.overflow {
		case OverflowDropNewest:
			q.mu.Unlock()
			return ErrFull
		case OverflowClose:
			q.endLocked(errSlowPeer)
			q.slow = true
			c := q.c
			q.timer = time.AfterFunc(q.closeTimeout, func() { c.CloseNow() })
			q.mu.Unlock()
			q.signal()
			return errSlowPeer
		}
		if !wait {
			if notify != nil && !slices.Contains(q.waiters, notify) {
				q.waiters = append(q.waiters, notify)
			}
			q.mu.Unlock()
			return errWouldBlock
		}
		room := make(chan struct{}, 1)
		q.waiters = append(q.waiters, room)
		q.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			q.unwait(room)
			return ctx.Err()
		}
		q.mu.Lock()
	}
	if q.n == len(q.ring) {
		q.grow()
	}
	q.ring[(q.head+q.n)%len(q.ring)] = m
	q.n++
	q.pending++
	q.bytes += size
	q.mu.Unlock()
	q.signal()
	return nil
}

// signal wakes the writer goroutine.
func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// grow doubles the ring, up to maxMsgs. The caller holds mu.
func (q *Queue) grow() {
	ring := make([]queued, min(max(2*len(q.ring), 8), q.maxMsgs))
	for i := range q.n {
		ring[i] = q.ring[(q.head+i)%len(q.ring)]
	}
	q.ring, q.head = ring, 0
}

// endLocked ends the queue with err, unless it has ended already, and
// discards what is queued. The caller holds mu.
func (q *Queue) endLocked(err error) {
	if q.err == nil {
		q.err = err
	}
	if q.n > 0 {
		q.loseLocked()
	}
	for ; q.n > 0; q.n-- {
		m := &q.ring[q.head]
		q.pending--
		q.bytes -= m.size()
		if m.buf != nil {
			putBuffer(m.buf)
		}
		*m = queued{}
		q.head = (q.head + 1) % len(q.ring)
	}
	q.wakeSenders()
}

// loseLocked records that an accepted message will not be written, for
// Close to report with the error that ended the queue. The caller holds mu
// and has ended the queue.
func (q *Queue) loseLocked() {
	if q.lost == nil {
		q.lost = q.err
	}
}

// wakeSenders lets the Send and Broadcast calls waiting for room look
// again. The caller holds mu.
func (q *Queue) wakeSenders() {
	for i, w := range q.waiters {
		select {
		case w <- struct{}{}:
		default:
		}
		q.waiters[i] = nil
	}
	q.waiters = q.waiters[:0]
}

// unwait withdraws a registration for wakeSenders.
func (q *Queue) unwait(w chan struct{}) {
	q.mu.Lock()
	if i := slices.Index(q.waiters, w); i >= 0 {
		q.waiters = slices.Delete(q.waiters, i, i+1)
	}
	q.mu.Unlock()
}

// run is the writer goroutine: it writes the queued messages in order
// until the queue ends or, once closed, is empty.
func (q *Queue) run() {
	defer close(q.done)
	ctx := context.Background() // Close interrupts a write by closing the Conn
	q.mu.Lock()
	for {
		for q.n == 0 && q.err == nil && !q.closed {
			q.mu.Unlock()
			select {
			case <-q.wake:
			case <-q.connDone:
				// The Conn has closed with nothing queued: Send
				// reports that the queue ended, but nothing accepted
				// was lost, so Close does not.
				q.mu.Lock()
				q.endLocked(errConnClosed)
				q.mu.Unlock()
			}
			q.mu.Lock()
		}
		if q.err != nil || q.n == 0 {
			break
		}
		m := q.ring[q.head]
		q.ring[q.head] = queued{}
		q.head = (q.head + 1) % len(q.ring)
		q.n--
		q.inflight = true
		q.mu.Unlock()

		var err error
		if m.pm != nil {
			err = q.c.WritePrepared(ctx, m.pm)
		} else {
			err = q.c.Write(ctx, m.typ, (*m.buf)[:m.n])
			putBuffer(m.buf)
		}

		q.mu.Lock()
		q.inflight = false
		q.pending--
		q.bytes -= m.size()
		if err != nil {
			q.endLocked(err)
			q.loseLocked()
		}
		q.wakeSenders()
	}
	slow, timer := q.slow, q.timer
	q.mu.Unlock()
	if slow {
		// The frame in flight, if any, has gone out: the close frame
		// follows it. The timer closes the Conn if this takes longer
		// than CloseTimeout from the overflow.
		// Close refuses a code that a close frame cannot carry, and then
		// does nothing: fall back to 1008.
		if err := q.c.Close(q.closeCode, "send queue full"); err != nil && q.closeCode != websocket.StatusPolicyViolation {
			q.c.Close(websocket.StatusPolicyViolation, "send queue full")
		}
		timer.Stop()
	}
}

// Close stops the queue accepting messages and waits until those queued
// have been written, then lets the writer goroutine exit. It does not close
// the Conn, so a closing handshake can follow.
//
// If ctx ends first, the messages still queued are discarded; if one is
// being written at that moment, the Conn is closed at once
// ([websocket.Conn.CloseNow]), since a message cut off mid-frame cannot be
// followed by anything. So Close(ctx) with a context already done discards
// without waiting.
//
// Close returns nil when every message accepted by Send or Broadcast was
// written, whatever happened to the Conn afterwards: a peer that closes the
// connection once it has read them all is no error. It returns an error
// only when some accepted message was not written, because it was
// discarded or its write failed, and the error is the reason: ctx's error
// if Close gave up on the message, the write's error, an error wrapping
// [net.ErrClosed] if the Conn was closed first, or one matching [ErrFull]
// after OverflowClose. A message counts as written once its write has
// succeeded, whether or not the peer has read it. Close may be called more
// than once and from several goroutines.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	q.closed = true
	q.wakeSenders()
	q.mu.Unlock()
	q.signal()
	select {
	case <-q.done:
	case <-ctx.Done():
		q.mu.Lock()
		if q.n > 0 || q.inflight || q.slow {
			q.endLocked(ctx.Err())
		}
		if q.inflight || q.slow {
			q.c.CloseNow()
		}
		q.mu.Unlock()
		<-q.done
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.lost
}
