package websocket

import (
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
)

// Frame-level violations (RFC 6455 §5), reported with close code 1002.
var (
	errReservedBits    = protocolError("reserved bits set without a negotiated extension")
	errReservedOpcode  = protocolError("reserved opcode")
	errUnmaskedFrame   = protocolError("client frame not masked")
	errMaskedFrame     = protocolError("server frame masked")
	errFragmentedCtrl  = protocolError("fragmented control frame")
	errLongControl     = protocolError("control frame payload over 125 bytes")
	errStrayContinue   = protocolError("continuation frame outside a fragmented message")
	errNestedMessage   = protocolError("new data frame inside a fragmented message")
	errInvalidUTF8Text = fmt.Errorf("%w: text message", ErrInvalidUTF8)
	errCorruptDeflate  = protocolError("invalid compressed data")
	errCompressedCut   = fmt.Errorf("websocket: connection closed after a read of a compressed message was cut off by its context: %w", net.ErrClosed)
)

// Read reads the next whole message, appends it to buf and returns the
// extended slice, like append; pass buf[:0] to reuse a buffer without
// allocating, or nil. A message larger than the read limit ends the
// connection with close code 1009 and [ErrMessageTooBig].
//
// When ctx ends before the message is complete, Read returns buf unchanged
// and ctx's error, and the Conn remains usable: the bytes read so far are
// kept, and the next Read returns the whole message. A compressed message
// (permessage-deflate) is the exception: the decompressor cannot resume, so
// the Conn sends a close frame with code 1001 (going away), without waiting
// for the peer's, and closes the connection; Read returns ctx's error and
// later reads an error wrapping [net.ErrClosed].
//
// When the peer closes the connection, Read returns a [*CloseError].
func (c *Conn) Read(ctx context.Context, buf []byte) (MessageType, []byte, error) {
	if err := c.beginRead(ctx); err != nil {
		return 0, buf, err
	}
	defer c.endRead()
	if err := c.startMessage(ctx); err != nil {
		return 0, buf, err
	}
	orig, start := buf, len(buf)
	buf = c.resume.appendTo(buf)
	for {
		// A full buffer grows unless the message has ended: a buffer
		// exactly the size of the message is not reallocated.
		if len(buf) == cap(buf) && (c.frameLeft > 0 || !c.frame.fin || c.msgCompressed) {
			buf = c.grow(buf, start)
		}
		n, err := c.readMessage(ctx, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF:
			return c.msgType, buf, nil
		case err != nil && c.resume.interrupted:
			c.resume.keep(buf[start:])
			return 0, orig, err
		case err != nil:
			// The caller's buffer, not the grown one: what a refused
			// message made us allocate is garbage at once.
			return 0, orig, err
		}
	}
}

// grow returns buf, which holds len(buf)-start bytes of the message, with
// room for more: as much again (so that a message costs O(n) copying), but
// never more than the current frame has left nor past the read limit. A
// message refused at the limit has then made us hold at most 1.5 times the
// limit at once: the last buffer and the one before it, half its size.
func (c *Conn) grow(buf []byte, start int) []byte {
	have := int64(len(buf) - start)
	grow := max(512, have)
	if c.frame.fin && !c.msgCompressed {
		grow = min(grow, c.frameLeft) // the last frame: exactly what is left
	}
	// What the message may still bring. The current frame was accepted
	// whole, even if the limit has been lowered since.
	room := max(c.readLimit.Load()-have, c.frameLeft)
	if c.msgCompressed {
		// One byte over the limit at most: enough to see that a message
		// is too big, not to double a bomb's buffer.
		room = c.readLimit.Load() - c.msgInflated
		room += min(1, math.MaxInt64-room) // saturating: the limit may be MaxInt64
	}
	if room-grow < 512 {
		grow = room // no last small step, which would copy it all again
	}
	if grow <= 0 {
		return buf // the next frame header is refused, if it brings any byte
	}
	nb := make([]byte, len(buf), int64(len(buf))+grow)
	copy(nb, buf)
	return nb
}

// Reader returns the type of the next message and a reader of its payload,
// which returns io.EOF at the end of the message. It reads under ctx.
//
// A message whose reader was left unfinished is skipped by the next Reader
// or Read, unless a read of it was cut off by its context: then the next
// Reader (or Read) continues that message where it stopped. A skip cut off
// by its context is taken up by the next call: an abandoned message is
// never delivered. Cutting off a read of a compressed message closes the
// connection, as for Read. The reader must not be used after the next call
// to Reader or Read.
func (c *Conn) Reader(ctx context.Context) (MessageType, io.Reader, error) {
	if err := c.beginRead(ctx); err != nil {
		return 0, nil, err
	}
	defer c.endRead()
	if err := c.startMessage(ctx); err != nil {
		return 0, nil, err
	}
	c.mr.ctx = ctx
	return c.msgType, &c.mr, nil
}

// beginRead takes the read side for one call bound to ctx.
func (c *Conn) beginRead(ctx context.Context) error {
	if err := c.readMu.lock(ctx); err != nil {
		return err
	}
	if c.readErr != nil {
		c.readMu.unlock()
		return c.readErr
	}
	c.cr.ctx = ctx
	return nil
}

// endRead releases the read side, clearing any deadline ctx had set.
func (c *Conn) endRead() {
	c.cr.watch.disarm()
	c.cr.ctx = nil
	c.readMu.unlock()
}

// startMessage positions the reader at the payload of a message: the
// current one if a read of it was interrupted, else the next one, skipping
// the rest of a message that was abandoned.
func (c *Conn) startMessage(ctx context.Context) error {
	if c.resume.resume() {
		return nil
	}
	c.resume.abandon()
	for c.msgActive {
		if err := c.skipMessage(ctx); err != nil {
			// An abandoned message stays abandoned: a skip cut off by
			// ctx is resumed by the next read, never the message.
			c.resume.abandon()
			return err
		}
	}
	return c.nextFrame(ctx)
}

// skipMessage discards the rest of an abandoned message. A compressed one
// is inflated all the same when later messages may refer back to it.
func (c *Conn) skipMessage(ctx context.Context) error {
	if c.msgCompressed && !c.cfg.deflate.readNoContext {
		var scratch [512]byte
		for {
			_, err := c.readMessage(ctx, scratch[:])
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	for c.msgActive {
		if err := c.skipFrame(ctx); err != nil {
			return err
		}
	}
	return nil
}

// skipFrame discards the rest of the current frame of an abandoned message
// and moves to its next frame, or ends the message after its final frame.
func (c *Conn) skipFrame(ctx context.Context) error {
	for c.frameLeft > 0 {
		// Count as it goes: a read cut off by ctx must resume exactly.
		n, err := c.br.Discard(int(min(c.frameLeft, int64(c.br.Size()))))
		c.frameLeft -= int64(n)
		if err != nil {
			return c.readFailed(ctx, err)
		}
	}
	if c.frame.fin {
		c.endMessage()
		return nil
	}
	return c.nextFrame(ctx)
}

// messageReader reads one message's payload; it is reused for every message.
type messageReader struct {
	c   *Conn
	ctx context.Context // of the Reader call that returned it
}

// Read reads payload bytes of the message.
func (r *messageReader) Read(p []byte) (int, error) {
	c := r.c
	if err := c.beginRead(r.ctx); err != nil {
		return 0, err
	}
	defer c.endRead()
	if c.resume.holds() {
		return c.resume.read(p), nil
	}
	if !c.msgActive {
		return 0, io.EOF
	}
	return c.readMessage(r.ctx, p)
}

// readMessage reads bytes of the current message into p, inflated if it
// is compressed and checked if it is text, and returns io.EOF at its end.
func (c *Conn) readMessage(ctx context.Context, p []byte) (int, error) {
	var n int
	var err error
	if c.msgCompressed {
		n, err = c.cfg.deflate.inflate(p)
		// §10.4 and RFC 7692 §8.1: the limit is on the inflated size,
		// enforced as the bytes come out rather than after buffering.
		if c.msgInflated += int64(n); c.msgInflated > c.readLimit.Load() {
			return 0, c.fail(StatusMessageTooBig, ErrMessageTooBig)
		}
	} else {
		n, err = c.readPayload(ctx, p)
	}
	// §8.1: fail as soon as the text can no longer be valid UTF-8.
	if c.msgType == MessageText && !c.utf8.valid(p[:n]) {
		return 0, c.fail(StatusInvalidFramePayloadData, errInvalidUTF8Text)
	}
	switch {
	case err == io.EOF && c.msgCompressed && n > 0:
		// The decompressor may return its last bytes with io.EOF; it
		// returns io.EOF again on the next call, which ends the message.
		return n, nil
	case err == io.EOF:
		if c.msgType == MessageText && !c.utf8.complete() {
			return 0, c.fail(StatusInvalidFramePayloadData, errInvalidUTF8Text)
		}
		// RFC 7692 §7.2.3.4: a DEFLATE block with BFINAL set may end the
		// compressed data before the payload does (the RFC's example has
		// one more octet). The rest is not inflated, nor read as frames.
		for c.msgCompressed && c.msgActive {
			if err := c.skipFrame(ctx); err != nil {
				return 0, err
			}
		}
		c.endMessage()
		if n > 0 {
			return n, nil // the next call reports io.EOF
		}
	case err != nil && c.msgCompressed:
		err = c.inflateFailed(ctx, err)
	}
	return n, err
}

// endMessage records that the current message has been read whole.
func (c *Conn) endMessage() {
	if c.msgActive { // it may be called again for a compressed message
		c.stats.msgsIn.Add(1)
	}
	c.msgActive = false
	if c.msgCompressed {
		c.cfg.deflate.endInflate()
	}
}

// inflateFailed turns an error from the decompressor into the error to
// report. The decompressor cannot resume after an error, so a read of a
// compressed message cut off by its context ends the connection.
func (c *Conn) inflateFailed(ctx context.Context, err error) error {
	var corrupt flate.CorruptInputError
	switch {
	case c.readErr != nil:
		return c.readErr
	case errors.As(err, &corrupt), err == io.ErrUnexpectedEOF:
		// RFC 7692 §8: compressed data that does not inflate fails the
		// connection; it breaks the extension's protocol, hence 1002 and
		// ErrProtocol.
		return c.fail(StatusProtocolError, errCorruptDeflate)
	case ctx.Err() != nil:
		// The caller's context has ended: close at once, without the
		// linger of fail.
		c.resume.abandon()
		c.failWith(StatusGoingAway, errCompressedCut, false)
		return ctx.Err()
	}
	return c.fail(StatusInternalError, err)
}

// readPayload reads raw payload bytes of the current message into p,
// unmasked, moving on to its next frame as needed, and returns io.EOF at the
// end of its final frame.
func (c *Conn) readPayload(ctx context.Context, p []byte) (int, error) {
	for c.frameLeft == 0 {
		if c.frame.fin {
			return 0, io.EOF
		}
		if err := c.nextFrame(ctx); err != nil {
			return 0, err
		}
	}
	if len(p) == 0 {
		return 0, nil // an empty read must not look like a failed one
	}
	if int64(len(p)) > c.frameLeft {
		p = p[:c.frameLeft]
	}
	n, err := c.br.Read(p)
	if n > 0 {
		if c.frame.masked {
			c.maskKey = mask(c.maskKey, p[:n])
		}
		c.frameLeft -= int64(n)
		return n, nil
	}
	return 0, c.readFailed(ctx, err)
}

// nextFrame reads frame headers until that of a data frame, handling the
// control frames on the way, and makes it the current frame.
func (c *Conn) nextFrame(ctx context.Context) error {
	if err := c.flushPong(ctx); err != nil {
		return err
	}
	for {
		h, size, err := peekHeader(c.br)
		if err == errHeaderLength {
			return c.fail(StatusProtocolError, err)
		}
		if err != nil {
			return c.readFailed(ctx, err)
		}
		if err := c.checkHeader(h); err != nil {
			return c.fail(StatusProtocolError, err)
		}
		if h.op.isControl() {
			// The whole control frame fits in the buffer (§5.5: at most
			// 125 bytes), so it is handled in one step.
			b, err := c.br.Peek(size + int(h.length))
			if err != nil {
				return c.readFailed(ctx, err)
			}
			payload := c.ctrl[:copy(c.ctrl[:], b[size:])]
			c.br.Discard(len(b))
			if h.masked {
				mask(h.key, payload)
			}
			if err := c.handleControl(ctx, h.op, payload); err != nil {
				return err
			}
			continue
		}
		if h.op != opContinuation {
			c.msgActive = true
			c.msgType = MessageType(h.op)
			c.msgSize = 0
			c.utf8.reset()
			c.msgCompressed = h.rsv&bitRSV1 != 0
			if c.msgCompressed {
				c.msgInflated = 0
				c.cfg.deflate.startInflate(c)
			}
		}
		// §10.4: refuse a message over the limit before buffering it.
		if h.length > c.wireLimit()-c.msgSize {
			return c.fail(StatusMessageTooBig, ErrMessageTooBig)
		}
		c.br.Discard(size)
		c.stats.bytesIn.Add(uint64(h.length)) // accepted: counted once, not per read
		c.msgSize += h.length
		c.frame = h
		c.frameLeft = h.length
		c.maskKey = h.key
		return nil
	}
}

// checkHeader enforces the framing rules of RFC 6455 §5.
func (c *Conn) checkHeader(h header) error {
	switch {
	case h.rsv&^c.allowedRSV(h.op) != 0: // §5.2: RSV1-3 MUST be 0 unless an extension defines them
		return errReservedBits
	case !h.op.isKnown(): // §5.2: reserved opcodes
		return errReservedOpcode
	case !c.client && !h.masked: // §5.1: a client MUST mask every frame
		return errUnmaskedFrame
	case c.client && h.masked: // §5.1: a server MUST NOT mask any frame
		return errMaskedFrame
	case h.op.isControl() && !h.fin: // §5.5: control frames MUST NOT be fragmented
		return errFragmentedCtrl
	case h.op.isControl() && h.length > maxControlPayload: // §5.5
		return errLongControl
	case h.op == opContinuation && (!c.msgActive || c.frame.fin): // §5.4
		return errStrayContinue
	case (h.op == opText || h.op == opBinary) && c.msgActive: // §5.4
		return errNestedMessage
	}
	return nil
}

// wireLimit is the most payload the current message may carry on the wire.
// A compressed message is held to the read limit once inflated; on the
// wire it may exceed it by deflate's overhead on incompressible data (a few
// bytes per 64 KiB block), for which a sixteenth is ample.
func (c *Conn) wireLimit() int64 {
	limit := c.readLimit.Load()
	if c.msgCompressed {
		// Saturate: a limit near math.MaxInt64 must not wrap around.
		limit += min(limit/16+1024, math.MaxInt64-limit)
	}
	return limit
}

// allowedRSV returns the RSV bits a frame with opcode op may carry: RSV1
// on the first frame of a message once permessage-deflate is negotiated
// (RFC 7692 §6), never on a control or continuation frame (§6.1).
func (c *Conn) allowedRSV(op opcode) byte {
	if c.cfg.deflate != nil && (op == opText || op == opBinary) {
		return bitRSV1
	}
	return 0
}

// readFailed turns an error from the connection into the error to report.
// An expired context leaves the Conn usable; anything else ends the read
// side for good.
func (c *Conn) readFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded) && !c.isClosed() {
		c.resume.cut(c.msgActive)
		return ctx.Err()
	}
	if c.readErr != nil {
		return c.readErr
	}
	if c.isClosed() {
		c.readErr = c.closedErr()
	} else {
		c.readErr = &CloseError{Code: StatusAbnormalClosure, err: err}
		if err == io.EOF {
			c.readErr = &CloseError{Code: StatusAbnormalClosure, err: io.ErrUnexpectedEOF}
		}
		c.stats.flag(flagReadFailed)
		c.closeConn()
	}
	return c.readErr
}
