package websocket

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// NetConn returns a net.Conn that carries a byte stream over c, for code
// written against net.Conn: a protocol spoken over a WebSocket, or a tunnel.
//
// Write sends each call's bytes as one message of type typ. Read returns the
// bytes of the messages received, one after another with no boundaries
// between them; a message of the other type closes the connection with
// StatusUnsupportedData (1003). Each message is read whole before its bytes
// are handed out, so the read limit bounds the memory a Read may take. When
// the peer closes with StatusNormalClosure (1000) or StatusGoingAway (1001),
// Read returns io.EOF; another close is reported as its *CloseError.
//
// Reads and writes are bound to ctx as well as to the deadlines set on the
// net.Conn: when one ends, the operation fails, with an error that satisfies
// errors.Is(err, os.ErrDeadlineExceeded) and whose Timeout method reports
// true for a deadline. As with Conn.Read and Conn.Write, the connection
// remains usable after a read cut off that way, or a write cut off before
// its frame started; a deadline can then be moved and the operation retried.
// A read of a compressed message cut off by a deadline, however, ends the
// connection.
//
// Close performs the closing handshake with StatusNormalClosure. The net.Conn
// takes over reading c: nothing else may call c.Read or c.Reader.
func NetConn(ctx context.Context, c *Conn, typ MessageType) net.Conn {
	nc := &netConn{c: c, typ: typ}
	nc.rd.init(ctx)
	nc.wd.init(ctx)
	return nc
}

// netConn is the net.Conn returned by NetConn.
type netConn struct {
	c   *Conn
	typ MessageType
	rd  deadline // for reads
	wd  deadline // for writes

	closed atomic.Bool // Close has been called

	// Guarded by readMu.
	readMu  sync.Mutex
	buf     []byte // the message being handed out
	off     int    // how much of buf Read has returned
	readErr error  // the error that ended reading, returned from then on
}

// maxKeptBuffer is the largest message buffer a netConn keeps for the next
// message, so that one large message does not pin its memory.
const maxKeptBuffer = 64 << 10

func (nc *netConn) Read(p []byte) (int, error) {
	nc.readMu.Lock()
	defer nc.readMu.Unlock()
	for nc.off == len(nc.buf) {
		if nc.readErr != nil {
			return 0, nc.readErr
		}
		if len(p) == 0 {
			return 0, nil
		}
		if cap(nc.buf) > maxKeptBuffer {
			nc.buf = nil
		}
		ctx := nc.rd.context()
		typ, msg, err := nc.c.Read(ctx, nc.buf[:0])
		if err != nil {
			return 0, nc.readFailed(ctx, err)
		}
		nc.buf, nc.off = msg, 0
		if typ != nc.typ {
			nc.buf = nc.buf[:0]
			nc.c.Close(StatusUnsupportedData, "expected "+nc.typ.String()+" messages")
			nc.readErr = &net.OpError{Op: "read", Net: "websocket", Source: nc.LocalAddr(), Addr: nc.RemoteAddr(),
				Err: errors.New("websocket: received a " + typ.String() + " message, want " + nc.typ.String())}
			return 0, nc.readErr
		}
	}
	n := copy(p, nc.buf[nc.off:])
	nc.off += n
	return n, nil
}

// readFailed turns an error from Conn.Read into the one Read returns, and
// keeps it if reading cannot go on.
func (nc *netConn) readFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		// The deadline passed, whatever else happened meanwhile (a write
		// cut off halfway, say, closing the connection).
		return nc.opError("read", ctx, err)
	}
	switch CloseStatus(err) {
	case StatusNormalClosure, StatusGoingAway:
		nc.readErr = io.EOF
	default:
		nc.readErr = err
	}
	return nc.readErr
}

func (nc *netConn) Write(p []byte) (int, error) {
	ctx := nc.wd.context()
	if err := nc.c.Write(ctx, nc.typ, p); err != nil {
		// A write cut off before its frame started reports ctx's error;
		// one cut off halfway, the deadline the Conn set on the socket.
		if ctx.Err() != nil {
			err = nc.opError("write", ctx, err)
		}
		return 0, err
	}
	return len(p), nil
}

// opError reports an operation cut off by ctx: by a deadline, as
// os.ErrDeadlineExceeded (a net.Error whose Timeout is true), by Close, as
// net.ErrClosed, or by the context given to NetConn, as its error.
func (nc *netConn) opError(op string, ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause == os.ErrDeadlineExceeded || cause == net.ErrClosed {
		err = cause
	}
	return &net.OpError{Op: op, Net: "websocket", Source: nc.LocalAddr(), Addr: nc.RemoteAddr(), Err: err}
}

// Close performs the closing handshake with StatusNormalClosure.
// A Read under way receives the peer's reply and returns io.EOF. Closing
// after the peer has closed is not an error; closing twice is.
func (nc *netConn) Close() error {
	if nc.closed.Swap(true) {
		return &net.OpError{Op: "close", Net: "websocket", Source: nc.LocalAddr(), Addr: nc.RemoteAddr(), Err: net.ErrClosed}
	}
	err := nc.c.Close(StatusNormalClosure, "")
	if errors.Is(err, net.ErrClosed) {
		err = nil // the peer closed first, or the connection failed: it is closed all the same
	}
	nc.rd.stop()
	nc.wd.stop()
	return err
}

func (nc *netConn) LocalAddr() net.Addr  { return nc.c.LocalAddr() }
func (nc *netConn) RemoteAddr() net.Addr { return nc.c.RemoteAddr() }

func (nc *netConn) SetDeadline(t time.Time) error {
	nc.rd.set(t)
	nc.wd.set(t)
	return nil
}

func (nc *netConn) SetReadDeadline(t time.Time) error  { nc.rd.set(t); return nil }
func (nc *netConn) SetWriteDeadline(t time.Time) error { nc.wd.set(t); return nil }

// deadline turns a net.Conn deadline into a context, cancelled with cause
// os.ErrDeadlineExceeded when the deadline passes. Moving the deadline
// affects the operations under way, as net.Conn requires.
type deadline struct {
	parent context.Context

	mu     sync.Mutex
	ctx    context.Context // what operations run under
	cancel context.CancelCauseFunc
	timer  *time.Timer // nil when no deadline is set
}

func (d *deadline) init(parent context.Context) {
	d.parent = parent
	d.ctx, d.cancel = context.WithCancelCause(parent)
}

// context returns the context for an operation starting now.
func (d *deadline) context() context.Context {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ctx
}

// set moves the deadline to t; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	// A timer that could not be stopped has fired, or is about to: the
	// context it cancels must no longer be used. Nor may one already
	// cancelled by an earlier deadline.
	if d.timer != nil && !d.timer.Stop() || context.Cause(d.ctx) == os.ErrDeadlineExceeded {
		d.cancel(os.ErrDeadlineExceeded)
		d.ctx, d.cancel = context.WithCancelCause(d.parent)
	}
	d.timer = nil
	if t.IsZero() {
		return
	}
	cancel := d.cancel
	if wait := time.Until(t); wait > 0 {
		d.timer = time.AfterFunc(wait, func() { cancel(os.ErrDeadlineExceeded) })
	} else {
		cancel(os.ErrDeadlineExceeded)
	}
}

// stop releases the timer and the context.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.cancel(net.ErrClosed)
}
