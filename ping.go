package websocket

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"time"
)

// Ping sends a ping and waits until the matching pong arrives or ctx ends.
// Pongs are read by whichever goroutine reads the Conn, so Ping needs a
// concurrent Read or Reader to return.
func (c *Conn) Ping(ctx context.Context) error {
	ch := make(chan struct{})
	c.pingMu.Lock()
	if c.pings == nil {
		c.pings = make(map[uint64]chan struct{})
	}
	c.pingSeq++
	seq := c.pingSeq
	c.pings[seq] = ch
	c.pingMu.Unlock()
	defer func() {
		c.pingMu.Lock()
		delete(c.pings, seq)
		c.pingMu.Unlock()
	}()

	var p [8]byte
	binary.BigEndian.PutUint64(p[:], seq)
	if err := c.writeFrame(ctx, header{fin: true, op: opPing, length: 8}, p[:]); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closing.done:
		return c.closedErr()
	}
}

// handleControl acts on a control frame (RFC 6455 §5.5) read by the reader.
func (c *Conn) handleControl(ctx context.Context, op opcode, payload []byte) error {
	switch op {
	case opPing:
		if c.cfg.onPing != nil {
			c.cfg.onPing(payload)
		}
		// §5.5.2: answer with a pong carrying the same payload. If several
		// pings arrive first, answering the latest suffices (§5.5.3).
		c.pongPending = 1 + copy(c.pong[:], payload)
		return c.flushPong(ctx)
	case opPong:
		c.stats.pongs.Add(1) // the heartbeat's sign of life
		if c.cfg.onPong != nil {
			c.cfg.onPong(payload)
		}
		c.notifyPong(payload)
		return nil
	default: // opClose; checkHeader let only known opcodes through
		return c.handleClose(payload)
	}
}

// flushPong sends the pong owed for the latest ping, if any. If ctx ends
// before the pong has started, it stays owed and goes out on the next read.
func (c *Conn) flushPong(ctx context.Context) error {
	if c.pongPending == 0 {
		return nil
	}
	n := c.pongPending - 1
	// The wait for the write lock and the socket is bounded: a writer may
	// hold the lock until the peer reads, while the peer waits for us to
	// read what it sends; a reader waiting on that writer would deadlock
	// both sides. A pong not written in time is dropped (§5.5.3 lets a
	// later pong answer several pings).
	// With WriteTimeout, a peer that leaves our pongs unwritten for that
	// long (one that floods pings and never reads, say) fails the
	// connection as a stalled write would.
	now := time.Now()
	if c.pongStall.IsZero() {
		c.pongStall = now
	}
	wait := pongWriteTimeout
	if wt := c.cfg.writeTimeout; wt > 0 {
		wait = min(wait, wt-now.Sub(c.pongStall))
	}
	h := header{fin: true, op: opPong, length: int64(n)}
	var err error
	if c.frameMu.tryLock() {
		// Uncontended, the usual case: the socket's write deadline bounds
		// the write, and nothing is allocated.
		err = c.writePong(ctx, h, now.Add(wait))
	} else {
		pctx, cancel := context.WithTimeout(ctx, wait)
		err = c.writeFrame(pctx, h, c.pong[:n])
		cancel()
		if err == pctx.Err() && ctx.Err() == nil {
			err = errPongDropped
		}
	}
	switch {
	case err == nil:
		c.pongStall = time.Time{}
	case err == ctx.Err():
		c.resume.cut(c.msgActive)
		return err
	case err == errPongDropped:
		if wt := c.cfg.writeTimeout; wt > 0 && time.Since(c.pongStall) >= wt {
			c.stats.flag(flagWriteFailed)
			c.closeConn()
		}
	}
	// Sent, dropped, or it never can be: a failed write side or a close
	// already sent (the peer expects nothing after it) is the writers'
	// business.
	c.pongPending = 0
	return nil
}

// errPongDropped reports a pong not written by its deadline, nothing of it
// sent: the Conn stays usable.
var errPongDropped = errors.New("websocket: pong not written in time")

// writePong writes the pong h owed (its payload in c.pong) before deadline,
// holding frameMu, which it releases. It returns errPongDropped if none of
// it could be written by then, ctx's error if ctx ended before any of it
// was, and otherwise what a failed frame write returns.
func (c *Conn) writePong(ctx context.Context, h header, deadline time.Time) error {
	defer c.frameMu.unlock()
	switch {
	case c.writeErr != nil:
		return c.writeErr
	case c.closing.sent:
		return errCloseSent
	case ctx.Err() != nil:
		return ctx.Err()
	}
	bp := c.wpool.Get().(*[]byte)
	defer c.wpool.Put(bp)
	buf := *bp
	if c.client {
		h.masked = true
		h.key = uint32(c.rng.Uint64())
	}
	off := putHeader(buf, h)
	k := copy(buf[off:], c.pong[:h.length])
	if c.client {
		mask(h.key, buf[off:off+k])
	}
	c.nc.SetWriteDeadline(deadline)
	c.wwatch.arm(ctx)
	written, err := c.nc.Write(buf[:off+k])
	c.wwatch.disarm()
	// The next frame sets its own deadline only with WriteTimeout.
	if c.cfg.writeTimeout == 0 {
		c.nc.SetWriteDeadline(time.Time{})
	}
	if err == nil {
		return nil
	}
	if written == 0 && ctx.Err() == nil && errors.Is(err, os.ErrDeadlineExceeded) && !c.isClosed() {
		return errPongDropped
	}
	return c.writeFailed(ctx, written, err)
}

// pongWriteTimeout bounds how long the reader tries to send a pong: long
// enough for a peer that reads only now and then (a Conn nobody reads
// takes its control frames when its own pong is due), short enough that a
// connection whose both directions are full resumes.
const pongWriteTimeout = 10 * time.Second

// notifyPong wakes the Ping call waiting for this pong's payload, if any.
func (c *Conn) notifyPong(payload []byte) {
	if len(payload) != 8 {
		return
	}
	seq := binary.BigEndian.Uint64(payload)
	c.pingMu.Lock()
	if ch, ok := c.pings[seq]; ok {
		close(ch)
		delete(c.pings, seq)
	}
	c.pingMu.Unlock()
}
