package websocket

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"slices"
	"sync"
	"time"
)

// Send queue defaults.
const (
	// DefaultSendQueueMessages is the number of messages a SendQueue holds
	// unless told otherwise.
	DefaultSendQueueMessages = 256

	// DefaultSendQueueBytes is the number of payload bytes a SendQueue
	// holds unless told otherwise: as much as DefaultReadLimit, so that a
	// queue can always take one message its peer would accept.
	DefaultSendQueueBytes = 1 << 20
)

// Overflow is what a [SendQueue] does with a message that does not fit.
type Overflow int

const (
	// OverflowBlock makes Send wait, until ctx ends, for the queue to have
	// room. It pushes back on the sender.
	OverflowBlock Overflow = iota
	// OverflowDropNewest drops the message: Send returns [ErrQueueFull]
	// and the queue carries on.
	OverflowDropNewest
	// OverflowClose treats the peer as a consumer too slow to keep: it
	// discards the queue and closes the connection with the queue's
	// CloseCode. Send returns an error that matches both [ErrQueueFull]
	// and [net.ErrClosed].
	OverflowClose
)

// ErrQueueFull is returned by [SendQueue.Send] when a message did not fit
// and the queue's policy dropped it.
var ErrQueueFull = errors.New("websocket: send queue full")

var (
	errQueueClosed = fmt.Errorf("websocket: send queue closed: %w", net.ErrClosed)
	errSlowPeer    = fmt.Errorf("%w: closing the connection: %w", ErrQueueFull, net.ErrClosed)
)

// SendQueueOptions configure [NewSendQueue]. A nil *SendQueueOptions is
// valid and means all defaults.
type SendQueueOptions struct {
	// MaxMessages is how many messages the queue holds, counting the one
	// being written. Zero means DefaultSendQueueMessages.
	MaxMessages int

	// MaxBytes is how many payload bytes (uncompressed) the queue holds,
	// counting the message being written. A message larger than MaxBytes
	// is accepted only when nothing else is pending. Zero means
	// DefaultSendQueueBytes; negative means no limit but MaxMessages.
	MaxBytes int64

	// Overflow is the policy for a message that does not fit. Zero means
	// OverflowBlock.
	Overflow Overflow

	// CloseCode is the close code OverflowClose sends. Zero, or a code a
	// close frame cannot carry, means StatusPolicyViolation (1008);
	// StatusTryAgainLater (1013) suits a server shedding load.
	CloseCode StatusCode
}

// SendQueue sends messages on a Conn asynchronously, in order, through a
// bounded queue. Send returns once the message is queued; a goroutine owned
// by the queue writes the messages one after another. The queue applies its
// Overflow policy when it is full, so a peer that reads slowly, or not at
// all, costs its sender at most what the queue holds.
//
// The goroutine lives as long as the queue: it exits when Close has
// flushed the queue, when a write fails, or when the Conn is closed. A
// frame the peer does not take holds it until the Conn's WriteTimeout (if
// set) fails the write, the Conn closes, or Close gives up on it.
// A SendQueue is safe for concurrent use. Messages written with
// [Conn.Write] in the meantime go out between queued messages; closing the
// Conn ends the queue and discards what it holds, so call Close first to
// flush it.
type SendQueue struct {
	c         *Conn
	maxMsgs   int
	maxBytes  int64
	overflow  Overflow
	closeCode StatusCode

	wake chan struct{} // one slot: there is work, or the queue is ending
	done chan struct{} // closed when the writer goroutine exits

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
	timer    *time.Timer
}

// queued is a message in the queue: a prepared message, or a copy of a
// payload in a pooled buffer.
type queued struct {
	pm  *PreparedMessage
	buf *[]byte
	n   int
	typ MessageType
}

func (m queued) size() int64 {
	if m.pm != nil {
		return int64(len(m.pm.payload))
	}
	return int64(m.n)
}

// NewSendQueue returns a queue sending on c and starts its goroutine.
// Close the queue (or the Conn) when done with it.
func NewSendQueue(c *Conn, opts *SendQueueOptions) *SendQueue {
	if opts == nil {
		opts = &SendQueueOptions{}
	}
	q := &SendQueue{
		c:         c,
		maxMsgs:   opts.MaxMessages,
		maxBytes:  opts.MaxBytes,
		overflow:  opts.Overflow,
		closeCode: opts.CloseCode,
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	if q.maxMsgs <= 0 {
		q.maxMsgs = DefaultSendQueueMessages
	}
	if q.maxBytes == 0 {
		q.maxBytes = DefaultSendQueueBytes
	}
	if !validWireCode(q.closeCode) {
		q.closeCode = StatusPolicyViolation
	}
	go q.run()
	return q
}

// Send queues a message of type typ with a copy of p, which the caller may
// reuse at once. It returns nil once the message is queued, [ErrQueueFull]
// if the policy dropped it, or ctx's error if ctx ended while OverflowBlock
// waited for room; ctx bounds only that wait. Any other error means the
// queue has ended and took nothing: the Conn was closed, a write failed,
// or Close was called.
func (q *SendQueue) Send(ctx context.Context, typ MessageType, p []byte) error {
	if typ != MessageText && typ != MessageBinary {
		return errMessageType
	}
	buf := getSendBuffer(len(p))
	copy(*buf, p)
	err := q.enqueue(ctx, queued{buf: buf, n: len(p), typ: typ}, true, nil)
	if err != nil {
		putSendBuffer(buf)
	}
	return err
}

// SendPrepared queues pm, as Send does. Nothing is copied: the queue holds
// pm itself, so one PreparedMessage can be queued on any number of queues.
func (q *SendQueue) SendPrepared(ctx context.Context, pm *PreparedMessage) error {
	if pm == nil {
		return errNilPrepared
	}
	return q.enqueue(ctx, queued{pm: pm}, true, nil)
}

var errNilPrepared = errors.New("websocket: nil PreparedMessage")

// errWouldBlock reports that an OverflowBlock queue is full.
var errWouldBlock = errors.New("websocket: send queue would block")

// enqueue adds m to the queue, applying the overflow policy. When a full
// OverflowBlock queue must wait, it waits until ctx ends if wait is set;
// otherwise it returns errWouldBlock at once, after registering notify,
// if not nil, to be signalled when there may be room.
func (q *SendQueue) enqueue(ctx context.Context, m queued, wait bool, notify chan struct{}) error {
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
			return ErrQueueFull
		case OverflowClose:
			q.endLocked(errSlowPeer)
			q.slow = true
			c := q.c
			q.timer = time.AfterFunc(c.cfg.closeTimeout, func() { c.CloseNow() })
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
func (q *SendQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// grow doubles the ring, up to maxMsgs.
func (q *SendQueue) grow() {
	ring := make([]queued, min(max(2*len(q.ring), 8), q.maxMsgs))
	for i := range q.n {
		ring[i] = q.ring[(q.head+i)%len(q.ring)]
	}
	q.ring, q.head = ring, 0
}

// endLocked ends the queue with err, unless it has ended already, and
// discards what is queued. The caller holds mu.
func (q *SendQueue) endLocked(err error) {
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
			putSendBuffer(m.buf)
		}
		*m = queued{}
		q.head = (q.head + 1) % len(q.ring)
	}
	q.wakeSenders()
}

// loseLocked records that an accepted message will not be written, for
// Close to report with the error that ended the queue. The caller holds mu
// and has ended the queue.
func (q *SendQueue) loseLocked() {
	if q.lost == nil {
		q.lost = q.err
	}
}

// wakeSenders lets the Send and Broadcast calls waiting for room look
// again. The caller holds mu.
func (q *SendQueue) wakeSenders() {
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
func (q *SendQueue) unwait(w chan struct{}) {
	q.mu.Lock()
	if i := slices.Index(q.waiters, w); i >= 0 {
		q.waiters = slices.Delete(q.waiters, i, i+1)
	}
	q.mu.Unlock()
}

// run is the writer goroutine: it writes the queued messages in order
// until the queue ends or, once closed, is empty.
func (q *SendQueue) run() {
	defer close(q.done)
	ctx := context.Background() // Close interrupts a write by closing the Conn
	q.mu.Lock()
	for {
		for q.n == 0 && q.err == nil && !q.closed {
			q.mu.Unlock()
			select {
			case <-q.wake:
			case <-q.c.done:
				// The Conn has closed with nothing queued: Send
				// reports that the queue ended, but nothing accepted
				// was lost, so Close does not.
				q.mu.Lock()
				q.endLocked(errClosed)
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
			putSendBuffer(m.buf)
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
		q.c.Close(q.closeCode, "send queue full")
		timer.Stop()
	}
}

// Close stops the queue accepting messages and waits until those queued
// have been written, then lets the writer goroutine exit. It does not close
// the Conn, so a closing handshake can follow.
//
// If ctx ends first, the messages still queued are discarded; if one is
// being written at that moment, the Conn is closed at once ([Conn.CloseNow]),
// since a message cut off mid-frame cannot be followed by anything. So
// Close(ctx) with a context already done discards without waiting.
//
// Close returns nil when every message accepted by Send, SendPrepared or
// Broadcast was written, whatever happened to the Conn afterwards: a peer
// that closes the connection once it has read them all is no error. It
// returns an error only when some accepted message was not written,
// because it was discarded or its write failed, and the error is the
// reason: ctx's error if Close gave up on the message, the write's error,
// an error wrapping [net.ErrClosed] if the Conn was closed first, or one
// matching [ErrQueueFull] after OverflowClose. A message counts as written
// once its write has succeeded, whether or not the peer has read it. Close
// may be called more than once and from several goroutines.
func (q *SendQueue) Close(ctx context.Context) error {
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

// Broadcast queues pm on every queue in queues, without copying it, and
// returns how many accepted it. A queue that is full applies its own
// policy, so a slow connection does not hold up the others: queues that
// drop or close are passed over at once, and those with OverflowBlock get
// the message as soon as each has room, until ctx ends; Broadcast returns
// when all have it, or with ctx's error. The queues that did not accept
// pm report why on their next Send; a queue whose Conn has closed says so
// once its reading goroutine notices.
func Broadcast(ctx context.Context, pm *PreparedMessage, queues ...*SendQueue) (int, error) {
	if pm == nil {
		return 0, errNilPrepared
	}
	sent := 0
	var blocked []*SendQueue
	for _, q := range queues {
		switch q.enqueue(ctx, queued{pm: pm}, false, nil) {
		case nil:
			sent++
		case errWouldBlock:
			blocked = append(blocked, q)
		}
	}
	if len(blocked) == 0 {
		return sent, nil
	}
	// Register before each try, so that room appearing in between is not
	// missed, and wait for any of the queues to have room.
	notify := make(chan struct{}, 1)
	for {
		waiting := blocked[:0]
		for _, q := range blocked {
			switch q.enqueue(ctx, queued{pm: pm}, false, notify) {
			case nil:
				sent++
			case errWouldBlock:
				waiting = append(waiting, q)
			}
		}
		blocked = waiting
		if len(blocked) == 0 {
			return sent, nil
		}
		select {
		case <-notify:
		case <-ctx.Done():
			for _, q := range blocked {
				q.unwait(notify)
			}
			return sent, ctx.Err()
		}
	}
}

// Payload copies made by Send come from pools by size class, powers of two
// from 64 B to 64 KiB; larger ones are allocated and left to the collector.
const (
	minSendBufferBits = 6
	maxSendBufferBits = 16
)

var sendBuffers [maxSendBufferBits - minSendBufferBits + 1]sync.Pool

// sendBufferClass returns the index of the smallest class holding n bytes.
func sendBufferClass(n int) int {
	if n <= 1<<minSendBufferBits {
		return 0
	}
	return bits.Len(uint(n-1)) - minSendBufferBits
}

func getSendBuffer(n int) *[]byte {
	if n > 1<<maxSendBufferBits {
		b := make([]byte, n)
		return &b
	}
	if bp, ok := sendBuffers[sendBufferClass(n)].Get().(*[]byte); ok {
		*bp = (*bp)[:n]
		return bp
	}
	b := make([]byte, n, 1<<(sendBufferClass(n)+minSendBufferBits))
	return &b
}

func putSendBuffer(bp *[]byte) {
	if c := cap(*bp); c <= 1<<maxSendBufferBits && c == 1<<(sendBufferClass(c)+minSendBufferBits) {
		sendBuffers[sendBufferClass(c)].Put(bp)
	}
}
