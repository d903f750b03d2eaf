package websocket

import "sync/atomic"

// connStats counts a Conn's traffic. The reader and the writers update it
// with atomic adds, never a lock, and any goroutine may read it.
type connStats struct {
	msgsIn, bytesIn      atomic.Uint64 // by the reader: messages read whole, payload bytes of accepted frames
	msgsOut, bytesOut    atomic.Uint64 // by the writer holding frameMu
	pongs                atomic.Uint64 // by the reader; the heartbeat watches it
	closeSent, closeRecv atomic.Uint32 // close codes, 0 for none
	flags                atomic.Uint32
}

// Flags of connStats: how the connection ended.
const (
	flagReadFailed uint32 = 1 << iota
	flagWriteFailed
	flagPongTimeout
)

// countOut counts a frame about to be sent; control frames are not counted.
func (s *connStats) countOut(h header) {
	if h.op.isControl() {
		return
	}
	if h.op != opContinuation {
		s.msgsOut.Add(1)
	}
	s.bytesOut.Add(uint64(h.length))
}

func (s *connStats) flag(f uint32) { s.flags.Or(f) }

// ConnStats counts what one connection has carried, as reported by
// [Conn.Stats].
type ConnStats struct {
	// MessagesIn counts the data messages read whole (including those the
	// application skipped), MessagesOut those sent. BytesIn counts the
	// payload bytes of the data frames received, BytesOut those sent,
	// compressed for compressed messages. A frame refused from its header
	// (over the read limit, say) counts for nothing.
	MessagesIn, MessagesOut uint64
	BytesIn, BytesOut       uint64

	// CloseSent and CloseReceived are the codes of the close frames sent
	// and received (StatusNoStatusRcvd for one without a code), or 0.
	CloseSent, CloseReceived StatusCode

	// ReadFailed reports that reading ended in an error rather than the
	// peer's close frame: the connection broke or the peer broke the
	// protocol. WriteFailed reports that a write failed, which closes the
	// connection. PongTimeout reports that the heartbeat closed it.
	ReadFailed, WriteFailed, PongTimeout bool
}

// Stats returns what the connection has carried so far. It may be called
// from any goroutine, at any time, and does not allocate.
func (c *Conn) Stats() ConnStats {
	s := &c.stats
	f := s.flags.Load()
	return ConnStats{
		MessagesIn:    s.msgsIn.Load(),
		MessagesOut:   s.msgsOut.Load(),
		BytesIn:       s.bytesIn.Load(),
		BytesOut:      s.bytesOut.Load(),
		CloseSent:     StatusCode(s.closeSent.Load()),
		CloseReceived: StatusCode(s.closeRecv.Load()),
		ReadFailed:    f&flagReadFailed != 0,
		WriteFailed:   f&flagWriteFailed != 0,
		PongTimeout:   f&flagPongTimeout != 0,
	}
}
