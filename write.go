package websocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

var (
	errMessageType  = errors.New("websocket: message type must be MessageText or MessageBinary")
	errWriterClosed = errors.New("websocket: write to a closed message writer")
)

// Write sends p as one message of type typ, in a single frame. It is safe to
// call from several goroutines; messages go out whole, one after another.
//
// If ctx ends before the frame has started, Write returns ctx's error and
// the Conn remains usable. If it ends, or the connection fails, once part of
// the frame is on the wire, the connection is closed and this and every
// later write report it.
func (c *Conn) Write(ctx context.Context, typ MessageType, p []byte) error {
	if typ != MessageText && typ != MessageBinary {
		return errMessageType
	}
	if err := lock(ctx, c.msgMu); err != nil {
		return err
	}
	defer func() { <-c.msgMu }()
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
	if err := lock(ctx, c.msgMu); err != nil {
		return nil, err
	}
	w := &c.mw
	w.ctx = ctx
	w.op = opcode(typ)
	w.buf = c.wpool.Get().(*[]byte)
	w.n = maxHeaderSize
	w.open = true
	return w, nil
}

// messageWriter writes one message as frames; it is reused for every
// message. Its buffer keeps maxHeaderSize bytes free at the front so that a
// frame's header can be put right before its payload.
type messageWriter struct {
	c    *Conn
	ctx  context.Context // of the Writer call that returned it
	op   opcode          // of the next frame: the message type, then continuation
	buf  *[]byte
	n    int // bytes used in buf, header room included
	open bool
}

// Write buffers p, sending a frame each time the buffer fills.
func (w *messageWriter) Write(p []byte) (int, error) {
	if !w.open {
		return 0, errWriterClosed
	}
	written := 0
	for len(p) > 0 {
		if w.n == maxHeaderSize && len(p) >= len(*w.buf) {
			// Large write, nothing buffered: send it as a frame as it is.
			err := w.c.writeFrame(w.ctx, header{op: w.op, length: int64(len(p))}, p)
			if err != nil {
				return written, err
			}
			w.op = opContinuation
			return written + len(p), nil
		}
		k := copy((*w.buf)[w.n:], p)
		w.n += k
		written += k
		p = p[k:]
		if w.n == len(*w.buf) {
			if err := w.flush(false); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// Close sends what is buffered as the final frame of the message.
func (w *messageWriter) Close() error {
	if !w.open {
		return errWriterClosed
	}
	err := w.flush(true)
	w.open = false
	w.c.wpool.Put(w.buf)
	w.buf = nil
	w.ctx = nil
	<-w.c.msgMu
	return err
}

// flush sends the buffered payload as one frame, masking it in place.
func (w *messageWriter) flush(fin bool) error {
	c := w.c
	payload := (*w.buf)[maxHeaderSize:w.n]
	h := header{fin: fin, op: w.op, length: int64(len(payload))}
	w.op = opContinuation
	w.n = maxHeaderSize
	if err := c.lockFrame(w.ctx); err != nil {
		return err
	}
	defer c.unlockFrame()
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
	return err
}

// lockFrame takes the right to write a frame, unless ctx ends first or the
// write side is done.
func (c *Conn) lockFrame(ctx context.Context) error {
	if err := lock(ctx, c.frameMu); err != nil {
		return err
	}
	switch {
	case c.writeErr != nil:
		<-c.frameMu
		return c.writeErr
	case c.closeSent:
		<-c.frameMu
		return errCloseSent
	}
	return nil
}

func (c *Conn) unlockFrame() { <-c.frameMu }

// writeFrame sends one frame with payload p, copied (and, on a client,
// masked) through a pooled buffer so that p is never modified.
func (c *Conn) writeFrame(ctx context.Context, h header, p []byte) error {
	if err := c.lockFrame(ctx); err != nil {
		return err
	}
	defer c.unlockFrame()
	if h.op == opClose {
		c.closeSent = true
	}
	bp := c.wpool.Get().(*[]byte)
	defer c.wpool.Put(bp)
	buf := *bp
	if c.client {
		h.masked = true
		h.key = uint32(c.rng.Uint64())
	}
	c.wwatch.arm(ctx)
	defer c.wwatch.disarm()
	// The first chunk goes out with the header; a server sends the rest of
	// a large payload straight from p.
	off := putHeader(buf, h)
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
		if !c.client {
			_, err := c.write(ctx, written, p)
			return err
		}
	}
}

// write writes b to the connection; written counts the bytes of the frame
// already sent. An error leaves the Conn usable only if ctx ended before
// any byte of the frame went out; otherwise the connection is failed.
func (c *Conn) write(ctx context.Context, written int, b []byte) (int, error) {
	n, err := c.nc.Write(b)
	if err == nil {
		return n, nil
	}
	if written+n == 0 && ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, ctx.Err()
	}
	if c.isClosed() {
		c.writeErr = errClosed
	} else {
		c.writeErr = fmt.Errorf("websocket: write: %w", err)
		c.closeConn()
	}
	return n, c.writeErr
}
