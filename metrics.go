package websocket

import (
	"maps"
	"sync/atomic"
)

// connStats counts a Conn's traffic. The reader and the writers update it
// with atomic adds, never a lock, and any goroutine may read it.
type connStats struct {
	msgsIn, bytesIn      atomic.Uint64 // by the reader: messages read whole, payload bytes read
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
// [Conn.Stats] and [MetricsHook.ConnClosed].
type ConnStats struct {
	// MessagesIn counts the data messages read whole (including those the
	// application skipped), MessagesOut those sent. BytesIn counts the
	// payload bytes read from the wire, BytesOut those sent, compressed for
	// compressed messages. A message refused before it was read (over the
	// read limit, say) counts for nothing but the bytes read of it.
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

// HandshakeFailure names why a [Server] refused or failed an upgrade. Its
// values are short snake_case strings, fit for metric labels.
type HandshakeFailure string

// The reasons a [Server] counts handshake failures under.
const (
	// HandshakeBadRequest: a method other than GET, a missing Upgrade or
	// Connection header, a malformed key (HTTP 400, 405 or 426).
	HandshakeBadRequest HandshakeFailure = "bad_request"
	// HandshakeForbiddenOrigin: a browser origin not allowed (403).
	HandshakeForbiddenOrigin HandshakeFailure = "forbidden_origin"
	// HandshakeBadVersion: a Sec-WebSocket-Version other than 13 (426).
	HandshakeBadVersion HandshakeFailure = "version"
	// HandshakeOverCapacity: the MaxConns cap was reached (503).
	HandshakeOverCapacity HandshakeFailure = "over_capacity"
	// HandshakeShuttingDown: Shutdown had begun (503).
	HandshakeShuttingDown HandshakeFailure = "shutting_down"
	// HandshakeAborted: the connection could not be taken over from the
	// HTTP server or the 101 response not written.
	HandshakeAborted HandshakeFailure = "aborted"
)

// Metrics is a snapshot of a [Server]'s counters, as returned by
// [Server.Metrics]. Counters cover the Server's whole life: connections
// still open and connections gone. It encodes to JSON as expvar shows it.
type Metrics struct {
	// ConnsTotal counts the connections upgraded; ConnsActive those of
	// them not closed yet.
	ConnsTotal, ConnsActive uint64

	// HandshakeFailures counts refused or failed upgrades by reason.
	HandshakeFailures map[HandshakeFailure]uint64

	// MessagesIn, MessagesOut, BytesIn and BytesOut sum the ConnStats of
	// every connection.
	MessagesIn, MessagesOut uint64
	BytesIn, BytesOut       uint64

	// ReadErrors, WriteErrors and PongTimeouts count the connections
	// whose ConnStats report ReadFailed, WriteFailed and PongTimeout.
	ReadErrors, WriteErrors, PongTimeouts uint64

	// CloseSent and CloseReceived count close frames by code.
	CloseSent, CloseReceived map[StatusCode]uint64
}

// add adds a connection's stats to the totals of m.
func (m *Metrics) add(s ConnStats) {
	m.MessagesIn += s.MessagesIn
	m.MessagesOut += s.MessagesOut
	m.BytesIn += s.BytesIn
	m.BytesOut += s.BytesOut
	m.ReadErrors += b2u(s.ReadFailed)
	m.WriteErrors += b2u(s.WriteFailed)
	m.PongTimeouts += b2u(s.PongTimeout)
	if s.CloseSent != 0 {
		m.CloseSent[s.CloseSent]++
	}
	if s.CloseReceived != 0 {
		m.CloseReceived[s.CloseReceived]++
	}
}

// clone returns a copy of m that shares no map with it.
func (m *Metrics) clone() Metrics {
	out := *m
	out.HandshakeFailures = maps.Clone(m.HandshakeFailures)
	out.CloseSent = maps.Clone(m.CloseSent)
	out.CloseReceived = maps.Clone(m.CloseReceived)
	return out
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// MetricsHook receives a [Server]'s events as they happen, for metrics
// systems that count events (Prometheus counters and histograms,
// OpenTelemetry instruments) rather than read a [Metrics] snapshot. Its
// methods are called with the Server's lock held, in order for each
// connection: they must return quickly and must not call the Server.
type MetricsHook interface {
	// ConnOpened is called when a connection has been upgraded.
	ConnOpened()
	// ConnClosed is called once when a connection has been closed, with
	// what it carried.
	ConnClosed(ConnStats)
	// HandshakeFailed is called when an upgrade is refused or fails.
	HandshakeFailed(HandshakeFailure)
}
