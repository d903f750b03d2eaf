package websocket

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
	"unicode/utf8"
)

// StatusCode is a close status code (RFC 6455 §7.4), the wire type.
type StatusCode uint16

// Status codes defined by RFC 6455 §7.4.1 and registered with IANA (§11.7).
const (
	StatusNormalClosure   StatusCode = 1000
	StatusGoingAway       StatusCode = 1001
	StatusProtocolError   StatusCode = 1002
	StatusUnsupportedData StatusCode = 1003
	// StatusNoStatusRcvd is reported locally when a close frame had no
	// code; it is never sent.
	StatusNoStatusRcvd StatusCode = 1005
	// StatusAbnormalClosure is reported locally when the connection ended
	// without a close frame; it is never sent.
	StatusAbnormalClosure         StatusCode = 1006
	StatusInvalidFramePayloadData StatusCode = 1007
	StatusPolicyViolation         StatusCode = 1008
	StatusMessageTooBig           StatusCode = 1009
	StatusMandatoryExtension      StatusCode = 1010
	StatusInternalError           StatusCode = 1011
	StatusServiceRestart          StatusCode = 1012
	StatusTryAgainLater           StatusCode = 1013
	StatusBadGateway              StatusCode = 1014
	// StatusTLSHandshake is reported locally for a failed TLS handshake;
	// it is never sent.
	StatusTLSHandshake StatusCode = 1015
)

var statusNames = map[StatusCode]string{
	StatusNormalClosure:           "normal closure",
	StatusGoingAway:               "going away",
	StatusProtocolError:           "protocol error",
	StatusUnsupportedData:         "unsupported data",
	StatusNoStatusRcvd:            "no status received",
	StatusAbnormalClosure:         "abnormal closure",
	StatusInvalidFramePayloadData: "invalid frame payload data",
	StatusPolicyViolation:         "policy violation",
	StatusMessageTooBig:           "message too big",
	StatusMandatoryExtension:      "mandatory extension",
	StatusInternalError:           "internal error",
	StatusServiceRestart:          "service restart",
	StatusTryAgainLater:           "try again later",
	StatusBadGateway:              "bad gateway",
	StatusTLSHandshake:            "TLS handshake",
}

// String returns the code and its name, for example "1000 (normal closure)".
func (s StatusCode) String() string {
	if name, ok := statusNames[s]; ok {
		return strconv.Itoa(int(s)) + " (" + name + ")"
	}
	return strconv.Itoa(int(s))
}

// validWireCode reports whether code may appear in a close frame
// (RFC 6455 §7.4.1, §7.4.2): the codes defined or registered in 1000-1014
// except 1004, 1005 and 1006, and 3000-4999 for libraries and applications.
func validWireCode(code StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// maxCloseReason is the longest reason a control frame can carry: 125
// bytes less the two of the code (§5.5).
const maxCloseReason = maxControlPayload - 2

// CloseError reports the end of a connection: the code and reason of the
// peer's close frame, StatusNoStatusRcvd if that frame had no code, or
// StatusAbnormalClosure if the connection ended without a close frame.
type CloseError struct {
	Code   StatusCode
	Reason string
	err    error // the cause of an abnormal closure
}

func (e *CloseError) Error() string {
	s := "websocket: closed: " + e.Code.String()
	if e.Reason != "" {
		s += ": " + strconv.Quote(e.Reason)
	}
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

// Unwrap returns what ended the connection abnormally, if anything.
func (e *CloseError) Unwrap() error { return e.err }

// CloseStatus returns the code of the [*CloseError] in err's chain, or 0 if
// there is none.
func CloseStatus(err error) StatusCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// parseClose decodes and validates a received close payload (§5.5.1).
func parseClose(p []byte) (*CloseError, StatusCode, error) {
	switch {
	case len(p) == 0:
		return &CloseError{Code: StatusNoStatusRcvd}, 0, nil
	case len(p) == 1: // §5.5.1: a body starts with a 2-byte code
		return nil, StatusProtocolError, errCloseOneByte
	}
	code := StatusCode(binary.BigEndian.Uint16(p))
	if !validWireCode(code) { // §7.4.1, §7.4.2
		return nil, StatusProtocolError, errCloseCode
	}
	if !utf8.Valid(p[2:]) { // §5.5.1: the reason is UTF-8
		return nil, StatusInvalidFramePayloadData, errCloseReason
	}
	return &CloseError{Code: code, Reason: string(p[2:])}, 0, nil
}

// Close performs the closing handshake (RFC 6455 §7.1.2): it sends a close
// frame with code and reason, waits up to the CloseTimeout option for the
// peer's close frame, and closes the connection. A goroutine blocked in Read
// or Reader receives the peer's close as a [*CloseError]; if none is
// reading, Close reads (and discards) what arrives before the peer's close
// frame.
//
// Close returns nil when a closing handshake completed: both close frames
// went out and arrived, whichever side sent its own first, including when
// the peer began it and the Conn has already answered. Otherwise it returns
// an error and closes the connection all the same: a [*CloseError] with
// StatusAbnormalClosure when the connection had ended without a close
// frame from the peer, or an error saying that no close frame came back
// within CloseTimeout.
//
// code must be one a close frame may carry: 1000-1003, 1007-1014 or
// 3000-4999; reason at most 123 bytes of UTF-8. Otherwise Close returns an
// error and does nothing. Close may be called from any goroutine; a call
// after Close or CloseNow returns an error wrapping [net.ErrClosed].
func (c *Conn) Close(code StatusCode, reason string) error {
	if !validWireCode(code) {
		return fmt.Errorf("websocket: close: cannot send status %v", code)
	}
	if len(reason) > maxCloseReason || !utf8.ValidString(reason) {
		return errors.New("websocket: close: reason must be at most 123 bytes of UTF-8")
	}
	if !c.closing.called.CompareAndSwap(false, true) {
		return errClosed
	}
	c.closing.started.Store(true)
	deadline := time.Now().Add(c.cfg.closeTimeout)
	err := c.writeClose(deadline, code, reason)
	switch {
	case err == nil || errors.Is(err, errCloseSent):
		// Ours went out, or the Conn had sent one already: answering
		// the peer's close, or failing the connection.
		err = c.awaitPeerClose(deadline)
	case c.handshakeDone():
		err = nil // the connection ended after the handshake completed
	default:
		err = &CloseError{Code: StatusAbnormalClosure, err: net.ErrClosed}
	}
	c.closeConn()
	return err
}

// handshakeDone reports whether a close frame was sent and one received.
func (c *Conn) handshakeDone() bool {
	return c.stats.closeSent.Load() != 0 && c.stats.closeRecv.Load() != 0
}

// CloseNow closes the connection without a closing handshake. A call after
// Close or CloseNow returns an error wrapping [net.ErrClosed].
func (c *Conn) CloseNow() error {
	c.closing.called.Store(true)
	c.closing.started.Store(true)
	if !c.closeConn() {
		return errClosed
	}
	return nil
}

// writeClose sends a close frame, unless one was sent already.
func (c *Conn) writeClose(deadline time.Time, code StatusCode, reason string) error {
	var p [maxControlPayload]byte
	binary.BigEndian.PutUint16(p[:], uint16(code))
	n := 2 + copy(p[2:], reason)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	err := c.writeFrame(ctx, header{fin: true, op: opClose, length: int64(n)}, p[:n])
	if err == nil {
		c.stats.closeSent.Store(uint32(code))
	}
	return err
}

// awaitPeerClose waits until the peer's close frame has arrived, reading
// frames itself if no other goroutine is reading.
func (c *Conn) awaitPeerClose(deadline time.Time) error {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	wake := c.readMu.wakeup()
	c.readMu.waiters.Add(1) // so that a reader releasing the lock wakes us
	defer c.readMu.waiters.Add(-1)
	for {
		if c.readMu.tryLock() {
			err := c.readErr
			if err == nil {
				c.nc.SetReadDeadline(deadline)
				err = c.drain()
			}
			c.readMu.unlock()
			if CloseStatus(err) == 0 || CloseStatus(err) == StatusAbnormalClosure {
				return fmt.Errorf("websocket: close: no close frame from the peer: %w", err)
			}
			return nil
		}
		select {
		case <-c.closing.peerClosed:
			if c.client {
				// §7.1.1: the reader that got the peer's close waits for
				// the server to end TCP first; so does Close, within the
				// deadline.
				select {
				case <-c.closing.done:
				case <-timer.C:
				}
			}
			return nil
		case <-wake:
		case <-timer.C:
			return fmt.Errorf("websocket: close: no close frame from the peer: %w", os.ErrDeadlineExceeded)
		}
	}
}

// drain reads and discards frames until the peer's close frame, and returns
// what ended the reading. The caller holds readMu.
func (c *Conn) drain() error {
	ctx := context.Background()
	for {
		var err error
		if c.msgActive {
			err = c.skipFrame(ctx)
		} else {
			err = c.nextFrame(ctx)
		}
		if err != nil {
			return err
		}
	}
}

// handleClose processes the peer's close frame: it replies with the same
// code (§5.5.1), lets Close know, and ends the connection. The server ends
// TCP at once; the client waits for the server to do so (§7.1.1).
func (c *Conn) handleClose(payload []byte) error {
	ce, code, err := parseClose(payload)
	if err != nil {
		return c.fail(code, err)
	}
	reply := ce.Code
	if reply == StatusNoStatusRcvd {
		reply = StatusNormalClosure
	}
	c.readErr = ce
	c.stats.closeRecv.Store(uint32(ce.Code))
	c.closing.started.Store(true)
	deadline := time.Now().Add(c.cfg.closeTimeout)
	c.writeClose(deadline, reply, "")
	close(c.closing.peerClosed)
	if c.client {
		c.awaitEOF(deadline)
	}
	c.closeConn()
	return ce
}

// awaitEOF lets the server end the TCP connection first, as §7.1.1 asks of
// a client, discarding anything else that arrives until the deadline.
func (c *Conn) awaitEOF(deadline time.Time) {
	c.nc.SetReadDeadline(deadline)
	for {
		if _, err := c.br.Discard(max(1, c.br.Buffered())); err != nil {
			return
		}
	}
}

// fail fails the connection (§7.1.7) after a violation by the peer: it sends
// a close frame with code, lingers so that the frame is not lost, and
// closes. The caller holds readMu.
func (c *Conn) fail(code StatusCode, err error) error { return c.failWith(code, err, true) }

// failWith is fail, lingering after the close frame only if linger is set.
func (c *Conn) failWith(code StatusCode, err error, linger bool) error {
	c.readErr = err
	c.stats.flag(flagReadFailed)
	c.closing.started.Store(true)
	deadline := time.Now().Add(c.cfg.closeTimeout)
	if c.writeClose(deadline, code, "") == nil && linger {
		c.linger(deadline)
	}
	c.closeConn()
	return err
}

// linger waits, after our close frame, for the peer to end the connection,
// dropping whatever it still sends: closing with unread bytes would make TCP
// send a reset, which can destroy the close frame before the peer reads it.
// The server shuts down its sending side first (§7.1.1), which tells the
// peer it may close at once, even if the failure left us in the middle of a
// frame where the peer's close frame cannot be told apart from payload.
func (c *Conn) linger(deadline time.Time) {
	if !c.client {
		cw, ok := c.nc.(interface{ CloseWrite() error })
		if !ok || cw.CloseWrite() != nil {
			c.nc.SetReadDeadline(deadline)
			c.skipToClose()
			return
		}
	}
	c.awaitEOF(deadline)
}

// skipToClose discards whatever arrives until a close frame, the end of the
// stream, an error or the deadline, without judging it, and reports whether
// it found the close frame.
func (c *Conn) skipToClose() bool {
	left := c.frameLeft
	c.frameLeft = 0
	for {
		if c.discard(left) != nil {
			return false
		}
		h, n, err := peekHeader(c.br)
		if err != nil {
			return false
		}
		c.br.Discard(n) // apart from the payload: n + h.length can overflow
		if h.op == opClose {
			c.discard(h.length)
			return true
		}
		left = h.length
	}
}

// discard drops the next n bytes of the stream.
func (c *Conn) discard(n int64) error {
	for n > 0 {
		k, err := c.br.Discard(int(min(n, int64(c.br.Size()))))
		n -= int64(k)
		if err != nil {
			return err
		}
	}
	return nil
}
