package websocket

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Errors reported when the peer breaks the protocol. The Conn has then sent
// the matching close code (1002, 1007 or 1009) and closed the connection.
var (
	// ErrProtocol is wrapped by every error about a frame that breaks
	// RFC 6455, or compressed data that does not inflate (RFC 7692): close
	// code 1002.
	ErrProtocol = errors.New("websocket: protocol error")
	// ErrInvalidUTF8 reports a text message or close reason that is not
	// UTF-8 (close code 1007).
	ErrInvalidUTF8 = errors.New("websocket: invalid UTF-8 in text")
	// ErrMessageTooBig reports a message larger than the read limit
	// (close code 1009).
	ErrMessageTooBig = errors.New("websocket: message larger than the read limit")
)

// protocolError is a constant error wrapping ErrProtocol.
type protocolError string

func (e protocolError) Error() string        { return "websocket: protocol error: " + string(e) }
func (e protocolError) Is(target error) bool { return target == ErrProtocol }

var (
	errClosed       = fmt.Errorf("websocket: use of closed connection: %w", net.ErrClosed)
	errCloseSent    = fmt.Errorf("websocket: close frame already sent: %w", net.ErrClosed)
	errCloseOneByte = protocolError("close frame with a 1-byte payload")
	errCloseCode    = protocolError("close frame with an invalid status code")
	errCloseReason  = fmt.Errorf("%w: close reason", ErrInvalidUTF8)
)

// aLongTimeAgo is a deadline in the past: setting it interrupts blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// Conn is a WebSocket connection, returned by [Upgrade] and [Dial].
//
// Read and Reader must not be called concurrently with each other; every
// other method may be called from any goroutine. Pings are answered and close
// frames handled by whichever goroutine is reading, so a Conn needs a reader
// for [Conn.Ping] to return and for the peer's close to be noticed. With the
// heartbeat on (the PingInterval option) and no goroutine reading, the Conn
// handles the control frames that have arrived itself, but only when a pong
// is due.
type Conn struct {
	// Set once.
	nc     net.Conn
	client bool
	cfg    connConfig

	readLimit atomic.Int64
	closing   closeState // the close sequence: see closestate.go
	hb        *heartbeat // nil unless a heartbeat or idle timeout is on
	stats     connStats  // counted with atomics by the reader and writers

	// Owned by the reader: the goroutine holding readMu.
	readMu    sema
	br        *bufio.Reader
	cr        connReader
	frame     header // the data frame being read
	frameLeft int64  // its payload bytes not yet read
	maskKey   uint32 // its masking key, rotated to the next byte
	msgActive bool   // a data message has begun and not ended
	msgType   MessageType
	msgSize   int64 // payload bytes of the message so far
	utf8      utf8Validator
	// msgCompressed marks a message sent with RSV1 (RFC 7692 §6); then
	// msgInflated counts its inflated bytes against the read limit.
	msgCompressed bool
	msgInflated   int64
	resume        readResume // what a read cut off by its context left: see resume.go
	readErr       error      // sticky: the read side has ended
	ctrl          [maxControlPayload]byte
	pongPending   int // payload size +1 of a pong still to send; 0 for none
	pong          [maxControlPayload]byte
	pongStall     time.Time // since when pongs could not be written, if so
	mr            messageReader

	// Writers: msgMu is held for a whole data message, frameMu for a frame.
	msgMu   sema
	frameMu sema
	mw      messageWriter // guarded by msgMu
	wpool   *sync.Pool    // buffers of writeBufferSize bytes of payload and a header
	// Guarded by frameMu.
	writeErr error         // sticky: the write side has failed
	rng      *rand.ChaCha8 // client masking keys
	wwatch   watch
	iov      [2][]byte   // header and payload of a vectored write
	vec      net.Buffers // over iov

	pingMu  sync.Mutex
	pingSeq uint64
	pings   map[uint64]chan struct{}
}

// newConn wraps an established connection. br, if not nil, is a reader
// whose buffered bytes follow the handshake on the wire; they are kept and
// read as frames, and its buffer is reused when its size fits.
func newConn(nc net.Conn, br *bufio.Reader, client bool, cfg connConfig) *Conn {
	c := &Conn{
		nc:      nc,
		client:  client,
		cfg:     cfg,
		closing: newCloseState(),
		wpool:   bufferPool(cfg.writeBufferSize + maxHeaderSize),
	}
	c.readLimit.Store(cfg.readLimit)
	c.cr.nc = nc
	c.cr.watch.nc = nc
	c.wwatch.nc, c.wwatch.write = nc, true
	c.mr.c = c
	c.mw.c = c
	if cfg.deflate != nil {
		c.mw.tail.emit = c.mw.emit // only compressed messages pass through it
	}
	if br != nil && br.Buffered() > 0 {
		leftover, _ := br.Peek(br.Buffered())
		c.cr.prefix = append([]byte(nil), leftover...)
	}
	if br != nil && br.Size() == cfg.readBufferSize {
		br.Reset(&c.cr)
		c.br = br
	} else {
		c.br = bufio.NewReaderSize(&c.cr, cfg.readBufferSize)
	}
	if client {
		var seed [32]byte
		crand.Read(seed[:])
		c.rng = rand.NewChaCha8(seed)
	}
	startHeartbeat(c)
	return c
}

// Subprotocol returns the subprotocol negotiated during the handshake, or
// "" if none was.
func (c *Conn) Subprotocol() string { return c.cfg.subprotocol }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetReadLimit sets the largest message, in bytes, the Conn accepts from
// now on; n <= 0 restores DefaultReadLimit. A larger message is refused with
// close code 1009 before it is buffered.
func (c *Conn) SetReadLimit(n int64) {
	if n <= 0 {
		n = DefaultReadLimit
	}
	c.readLimit.Store(n)
}

// watch turns the end of a context into a deadline in the past on one
// direction of the connection, interrupting blocked I/O.
type watch struct {
	nc    net.Conn
	write bool // the write direction, else the read one
	stop  func() bool
	mu    sync.Mutex
	gen   uint64 // a stale callback sees a newer generation and does nothing
	fired bool
}

// set sets the deadline of the watched direction.
func (w *watch) set(t time.Time) {
	if w.write {
		w.nc.SetWriteDeadline(t)
	} else {
		w.nc.SetReadDeadline(t)
	}
}

func (w *watch) arm(ctx context.Context) {
	if ctx.Done() == nil || w.stop != nil {
		return
	}
	w.mu.Lock()
	gen := w.gen
	w.mu.Unlock()
	w.stop = context.AfterFunc(ctx, func() {
		w.mu.Lock()
		if w.gen == gen {
			w.fired = true
			w.set(aLongTimeAgo)
		}
		w.mu.Unlock()
	})
}

// disarm stops watching and clears the deadline if the context had set it.
// It reports whether it had.
func (w *watch) disarm() bool {
	if w.stop == nil {
		return false
	}
	w.stop()
	w.stop = nil
	w.mu.Lock()
	w.gen++
	fired := w.fired
	w.fired = false
	if fired {
		w.set(time.Time{})
	}
	w.mu.Unlock()
	return fired
}

// connReader feeds the read buffer: first the bytes that arrived with the
// handshake, then the connection. It arms the read context's watch only
// when it must block, so reads served from the buffer cost nothing extra.
type connReader struct {
	nc     net.Conn
	prefix []byte
	ctx    context.Context // of the read in progress
	watch  watch
	n      atomic.Uint64 // bytes read from nc, a sign of life for the heartbeat
}

func (r *connReader) Read(p []byte) (int, error) {
	if len(r.prefix) > 0 {
		n := copy(p, r.prefix)
		r.prefix = r.prefix[n:]
		if len(r.prefix) == 0 {
			r.prefix = nil
		}
		return n, nil
	}
	if r.ctx != nil {
		r.watch.arm(r.ctx)
	}
	n, err := r.nc.Read(p)
	if n > 0 {
		r.n.Add(uint64(n))
	}
	return n, err
}

// bufferPools holds a *sync.Pool of write buffers per buffer size.
var bufferPools sync.Map

func bufferPool(size int) *sync.Pool {
	if p, ok := bufferPools.Load(size); ok {
		return p.(*sync.Pool)
	}
	p, _ := bufferPools.LoadOrStore(size, &sync.Pool{New: func() any {
		b := make([]byte, size)
		return &b
	}})
	return p.(*sync.Pool)
}
