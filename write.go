package websocket

import (
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

var (
	errMessageType  = errors.New("websocket: message type must be MessageText or MessageBinary")
	errWriterClosed = errors.New("websocket: write to a closed message writer")
)

// Write sends p as one message of type typ: a single frame, or, when
// compression applies, the frames of its compressed form. It is safe to call
// from several goroutines; messages go out whole, one after another.
//
// If ctx ends before the frame has started, Write returns ctx's error and
// the Conn remains usable. If it ends, or the connection fails, once part of
// the frame is on the wire, the connection is closed and this and every
// later write report it.
func (c *Conn) Write(ctx context.Context, typ MessageType, p []byte) error {
	if typ != MessageText && typ != MessageBinary {
		return errMessageType
	}
	if err := c.msgMu.lock(ctx); err != nil {
		return err
	}
	defer func() { c.msgMu.unlock() }()
	if d := c.cfg.deflate; d != nil && d.enabled.Load() && len(p) >= d.threshold {
		w := &c.mw
		w.begin(ctx, opcode(typ))
		err := w.decide(len(p))
		if err == nil {
			_, err = w.Write(p)
		}
		// finish runs either way, to release the buffers; the first
		// error is the one to report.
		if ferr := w.finish(); err == nil {
			err = ferr
		}
		return err
	}
	return c.writeFrame(ctx, header{fin: true, op: opcode(typ), length: int64(len(p))}, p)
}

// Writer returns a writer for one message of type typ, sent as a sequence
// of frames as its buffer fills; Close sends the final frame. Control frames
// (pongs, pings, close) may go out between the frames; other messages wait
// until Close, so a Writer must always be closed. Writes are bound to ctx.
// The writer must not be used after Close.
func (c *Conn) Writer(ctx context.Context, typ MessageType) (io.WriteCloser, error) {
	if typ != MessageText && typ != MessageBinary {
		return nil, errMessageType
	}
	if err := c.msgMu.lock(ctx); err != nil {
		return nil, err
	}
	c.mw.begin(ctx, opcode(typ))
	return &c.mw, nil
}

// messageWriter writes one message as frames; it is reused for every
// message. Its buffer keeps maxHeaderSize bytes free at the front so that a
// frame's header can be put right before its payload.
//
// When permessage-deflate is on, the first bytes are held raw until the
// message is known to reach the compression threshold (or the buffer
// fills); from then on they go through the compressor, whose output is
// framed the same way.
type messageWriter struct {
	c        *Conn
	ctx      context.Context // of the Writer call that returned it
	op       opcode          // of the next frame: the message type, then continuation
	rsv      byte            // of the next frame: RSV1 on a compressed message's first
	buf      *[]byte
	n        int  // bytes used in buf, header room included
	compress int8 // 0 undecided, 1 compressed, -1 not
	zw       *flate.Writer
	tail     tailHolder // between zw and the frames
	open     bool
	// started is set once a frame of the message went out. Until then a
	// cut-off leaves the Conn usable, and a compressor with context
	// takeover that took in the message must forget it (see finish).
	started bool
}

func (w *messageWriter) begin(ctx context.Context, op opcode) {
	w.ctx = ctx
	w.op = op
	w.rsv = 0
	w.buf = w.c.wpool.Get().(*[]byte)
	w.n = maxHeaderSize
	w.compress = -1
	if d := w.c.cfg.deflate; d != nil && d.enabled.Load() {
		w.compress = 0
	}
	w.open = true
	w.started = false
}

// Write sends p through the compressor or buffers it, sending a frame each
// time the buffer fills.
func (w *messageWriter) Write(p []byte) (int, error) {
	if !w.open {
		return 0, errWriterClosed
	}
	if w.compress == 0 && w.n+len(p) >= len(*w.buf) {
		if err := w.decide(w.n - maxHeaderSize + len(p)); err != nil {
			return 0, err
		}
	}
	if w.compress == 1 {
		return w.zw.Write(p)
	}
	if err := w.emit(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// decide settles whether the message is compressed, knowing it has at least
// size bytes, and moves what is buffered into the compressor if it is.
func (w *messageWriter) decide(size int) error {
	d := w.c.cfg.deflate
	if d == nil || !d.enabled.Load() || size < d.threshold {
		w.compress = -1
		return nil
	}
	w.compress = 1
	w.rsv = bitRSV1 // RFC 7692 §6: RSV1 on the first frame only
	raw := w.buf
	w.buf = w.c.wpool.Get().(*[]byte)
	buffered := w.n
	w.n = maxHeaderSize
	w.tail.n = 0
	w.zw = d.compressor(&w.tail)
	_, err := w.zw.Write((*raw)[maxHeaderSize:buffered])
	w.c.wpool.Put(raw)
	return err
}

// emit adds payload bytes to the frame buffer, sending a frame each time it
// fills; a large write with nothing buffered goes out as a frame directly.
func (w *messageWriter) emit(p []byte) error {
	for len(p) > 0 {
		if w.n == maxHeaderSize && len(p) >= len(*w.buf) {
			h := header{op: w.op, rsv: w.rsv, length: int64(len(p))}
			w.op, w.rsv = opContinuation, 0
			return w.cutOff(h, w.c.writeFrame(w.ctx, h, p))
		}
		k := copy((*w.buf)[w.n:], p)
		w.n += k
		p = p[k:]
		if w.n == len(*w.buf) {
			if err := w.flush(false); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close sends what is buffered as the final frame of the message.
func (w *messageWriter) Close() error {
	if !w.open {
		return errWriterClosed
	}
	err := w.finish()
	w.c.msgMu.unlock()
	return err
}

// finish completes the message: it flushes the compressor, dropping the
// flush marker (RFC 7692 §7.2.1), sends the final frame and releases the
// buffers.
func (w *messageWriter) finish() error {
	var err error
	if w.compress == 0 {
		err = w.decide(w.n - maxHeaderSize)
	}
	if w.compress == 1 && err == nil {
		err = w.zw.Flush()
		if err == nil && (w.tail.n != len(deflateTail) || w.tail.tail != deflateTail) {
			err = errors.New("websocket: compressor did not end with a flush marker")
		}
	}
	if err == nil {
		err = w.flush(true)
	}
	if w.compress == 1 {
		d := w.c.cfg.deflate
		if !w.started && !d.writeNoContext {
			// The compressor took in a message the peer never got; the
			// next message must not refer back to it (RFC 7692 §7.1.1).
			// A reset compressor refers to nothing before it, which any
			// peer inflates correctly.
			w.zw.Reset(&w.tail)
		}
		d.release(w.zw)
		w.zw = nil
	}
	w.open = false
	w.c.wpool.Put(w.buf)
	w.buf = nil
	w.ctx = nil
	return err
}

// flush sends the buffered payload as one frame, masking it in place.
func (w *messageWriter) flush(fin bool) error {
	c := w.c
	payload := (*w.buf)[maxHeaderSize:w.n]
	h := header{fin: fin, op: w.op, rsv: w.rsv, length: int64(len(payload))}
	w.op, w.rsv = opContinuation, 0
	w.n = maxHeaderSize
	if err := c.lockFrame(w.ctx); err != nil {
		return w.cutOff(h, err)
	}
	defer c.unlockFrame()
	c.stats.countOut(h)
	c.frameDeadline()
	if c.client {
		h.masked = true
		h.key = uint32(c.rng.Uint64())
		mask(h.key, payload)
	}
	start := maxHeaderSize - headerSize(h.length, h.masked)
	putHeader((*w.buf)[start:], h)
	c.wwatch.arm(w.ctx)
	_, err := c.write(w.ctx, 0, (*w.buf)[start:maxHeaderSize+len(payload)])
	c.wwatch.disarm()
	return w.cutOff(h, err)
}

// cutOff handles ctx ending before frame h of the message started. Before
// the first frame nothing has gone out and the Conn stays usable; after it,
// the peer is inside the message and may see nothing but its rest (§5.4),
// so the connection fails.
func (w *messageWriter) cutOff(h header, err error) error {
	if err == nil {
		w.started = true
		return nil
	}
	if err != w.ctx.Err() {
		return err
	}
	if h.op != opContinuation {
		w.op, w.rsv = h.op, h.rsv
		return err
	}
	w.c.closeConn()
	return fmt.Errorf("websocket: write: message cut off: %w", err)
}

// lockFrame takes the right to write a frame, unless ctx ends first or the
// write side is done.
func (c *Conn) lockFrame(ctx context.Context) error {
	if err := c.frameMu.lock(ctx); err != nil {
		return err
	}
	switch {
	case c.writeErr != nil:
		c.frameMu.unlock()
		return c.writeErr
	case c.closing.sent:
		c.frameMu.unlock()
		return errCloseSent
	case ctx.Err() != nil: // ended before the frame started: send nothing
		c.frameMu.unlock()
		return ctx.Err()
	}
	return nil
}

func (c *Conn) unlockFrame() { c.frameMu.unlock() }

// writeFrame sends one frame with payload p, copied (and, on a client,
// masked) through a pooled buffer so that p is never modified.
func (c *Conn) writeFrame(ctx context.Context, h header, p []byte) error {
	if err := c.lockFrame(ctx); err != nil {
		return err
	}
	defer c.unlockFrame()
	if h.op == opClose {
		c.closing.sent = true
	}
	c.stats.countOut(h)
	pool := c.wpool
	if c.client && len(p) > largeMaskBuffer/2 {
		// Masking a large payload a small buffer at a time would take a
		// system call per buffer; borrow a larger one.
		pool = largeBuffers
	}
	bp := pool.Get().(*[]byte)
	defer pool.Put(bp)
	buf := *bp
	if c.client {
		h.masked = true
		h.key = uint32(c.rng.Uint64())
	}
	c.frameDeadline()
	c.wwatch.arm(ctx)
	defer c.wwatch.disarm()
	off := putHeader(buf, h)
	if !c.client && len(p) > len(buf)-off {
		// A large payload goes out straight from p, behind the header, in
		// one vectored write where the connection supports it.
		return c.writeVec(ctx, buf[:off], p)
	}
	// A client masks a copy, one buffer at a time; the first chunk goes
	// out with the header.
	key := h.key
	written := 0
	for {
		k := copy(buf[off:], p)
		if c.client {
			key = mask(key, buf[off:off+k])
		}
		p = p[k:]
		n, err := c.write(ctx, written, buf[:off+k])
		if err != nil {
			return err
		}
		written += n
		off = 0
		if len(p) == 0 {
			return nil
		}
	}
}

// largeMaskBuffer is the size of the buffers a client masks large payloads
// in; they are pooled and held only while a frame is written.
const largeMaskBuffer = 64 << 10

var largeBuffers = bufferPool(largeMaskBuffer + maxHeaderSize)

// writeVec writes hdr and then p as one vectored write (writev on TCP).
// The vector lives in the Conn, guarded by frameMu, so this does not
// allocate; it is cleared afterwards so as not to pin p.
func (c *Conn) writeVec(ctx context.Context, hdr, p []byte) error {
	c.iov = [2][]byte{hdr, p}
	c.vec = c.iov[:]
	n, err := c.vec.WriteTo(c.nc)
	c.iov, c.vec = [2][]byte{}, nil
	if err != nil {
		return c.writeFailed(ctx, int(n), err)
	}
	return nil
}

// write writes b to the connection; written counts the bytes of the frame
// already sent. An error leaves the Conn usable only if ctx ended before
// any byte of the frame went out; otherwise the connection is failed.
func (c *Conn) write(ctx context.Context, written int, b []byte) (int, error) {
	n, err := c.nc.Write(b)
	if err == nil {
		return n, nil
	}
	return n, c.writeFailed(ctx, written+n, err)
}

// writeFailed records a failed write of a frame of which written bytes went
// out, and returns the error to report.
func (c *Conn) writeFailed(ctx context.Context, written int, err error) error {
	if written == 0 && ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return ctx.Err()
	}
	if c.isClosed() {
		c.writeErr = c.closedErr()
	} else {
		c.writeErr = fmt.Errorf("websocket: write: %w", err)
		c.stats.flag(flagWriteFailed)
		c.closeConn()
	}
	return c.writeErr
}

// writeEncoded sends frame, a whole message encoded beforehand as one
// unmasked frame (so a server's) whose header is h, holding msgMu and
// frameMu as Write does. Its errors, and the effect of ctx, are those of
// writeFrame.
func (c *Conn) writeEncoded(ctx context.Context, h header, frame []byte) error {
	if err := c.msgMu.lock(ctx); err != nil {
		return err
	}
	defer func() { c.msgMu.unlock() }()
	if err := c.lockFrame(ctx); err != nil {
		return err
	}
	defer c.unlockFrame()
	c.stats.countOut(h)
	c.frameDeadline()
	c.wwatch.arm(ctx)
	defer c.wwatch.disarm()
	_, err := c.write(ctx, 0, frame)
	return err
}

// frameDeadline applies the WriteTimeout option to the frame about to be
// written. The caller holds frameMu.
func (c *Conn) frameDeadline() {
	if t := c.cfg.writeTimeout; t > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(t))
	}
}
