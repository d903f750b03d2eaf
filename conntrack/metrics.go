package conntrack

import (
	"maps"

	"github.com/wsforge/websocket"
)

// Failure names why a [Tracker] refused or failed an upgrade. Its values
// are short snake_case strings, fit for metric labels.
type Failure string

// The reasons a [Tracker] counts handshake failures under.
const (
	// FailureBadRequest: a method other than GET, a missing Upgrade or
	// Connection header, a malformed key (HTTP 400, 405 or 426).
	FailureBadRequest Failure = "bad_request"
	// FailureForbiddenOrigin: a browser origin not allowed (403).
	FailureForbiddenOrigin Failure = "forbidden_origin"
	// FailureBadVersion: a Sec-WebSocket-Version other than 13 (426).
	FailureBadVersion Failure = "version"
	// FailureOverCapacity: the MaxConns cap was reached (503).
	FailureOverCapacity Failure = "over_capacity"
	// FailureShuttingDown: Shutdown had begun (503).
	FailureShuttingDown Failure = "shutting_down"
	// FailureAborted: the connection could not be taken over from the
	// HTTP server or the 101 response not written, or the options were
	// invalid (500).
	FailureAborted Failure = "aborted"
)

// Metrics is a snapshot of a [Tracker]'s counters, as returned by
// [Tracker.Metrics]. Counters cover the Tracker's whole life: connections
// still open and connections gone. It encodes to JSON as expvar shows it.
type Metrics struct {
	// ConnsTotal counts the connections upgraded; ConnsActive those of
	// them still tracked: open, or closed a moment ago (see [Tracker]).
	ConnsTotal, ConnsActive uint64

	// HandshakeFailures counts refused or failed upgrades by reason.
	HandshakeFailures map[Failure]uint64

	// MessagesIn, MessagesOut, BytesIn and BytesOut sum the
	// [websocket.ConnStats] of every connection.
	MessagesIn, MessagesOut uint64
	BytesIn, BytesOut       uint64

	// ReadErrors, WriteErrors and PongTimeouts count the connections
	// whose ConnStats report ReadFailed, WriteFailed and PongTimeout.
	ReadErrors, WriteErrors, PongTimeouts uint64

	// CloseSent and CloseReceived count close frames by code.
	CloseSent, CloseReceived map[websocket.StatusCode]uint64
}

// add adds a connection's stats to the totals of m.
func (m *Metrics) add(s websocket.ConnStats) {
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

// Hook receives a [Tracker]'s events as they happen, for metrics systems
// that count events (Prometheus counters and histograms, OpenTelemetry
// instruments) rather than read a [Metrics] snapshot. Its methods are
// called with the Tracker's lock held, in order for each connection: they
// must return quickly and must not call the Tracker.
type Hook interface {
	// ConnOpened is called when a connection has been upgraded.
	ConnOpened()
	// ConnClosed is called once after a connection has closed, with what
	// it carried, on a goroutine that starts when the connection closes.
	ConnClosed(websocket.ConnStats)
	// HandshakeFailed is called when an upgrade is refused or fails.
	HandshakeFailed(Failure)
}
