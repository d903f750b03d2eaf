// Package fuzz is the protocol engine of the conformance runner: one Peer
// drives one WebSocket connection to a testee after the opening handshake.
//
// The Peer follows the connection state machine of the reference suite's
// fuzzing peers: it can put arbitrary (also invalid) frames on the wire, fails
// the connection with a close frame when the testee violates the protocol
// (the suite runs with failByDrop off), answers pings, runs the closing
// handshake with the same timeouts, and records who closed, whether the close
// was clean and which close code the testee sent. Those facts feed the case
// verdicts.
//
// All protocol state is owned by a single event loop goroutine (like the
// reactor of the reference implementation): incoming data, timers and the
// loss of the connection are events processed one at a time, so case scripts
// and handlers never need locks. Writes go through an unbounded queue and a
// writer goroutine, so the loop never blocks on a testee that does not read.
package fuzz

import (
	"net"
	"time"

	"github.com/wsforge/websocket/autobahn/internal/pmce"
	"github.com/wsforge/websocket/autobahn/internal/wire"
)

// State is the WebSocket connection state as seen by the runner.
type State int

// Connection states.
const (
	StateClosed State = iota
	StateClosing
	StateOpen
)

// String returns the state name used in logs.
func (s State) String() string {
	switch s {
	case StateOpen:
		return "OPEN"
	case StateClosing:
		return "CLOSING"
	default:
		return "CLOSED"
	}
}

// Handler receives the case-level callbacks of a Peer. All calls happen on
// the Peer's event loop goroutine.
type Handler interface {
	// Open is called once, right after the opening handshake.
	Open(p *Peer)
	// Message is called for every complete data message the testee sends
	// (not after the runner has failed the connection). payload is valid
	// only during the call and must not be modified.
	Message(p *Peer, payload []byte, binary bool)
	// Pong is called for every pong the testee sends.
	Pong(p *Peer, payload []byte)
	// Lost is called once, when the TCP connection is gone.
	Lost(p *Peer)
}

// Config holds the protocol options of a Peer. Zero durations select the
// reference suite's defaults.
type Config struct {
	// IsServer is true when the runner is the server (fuzzing server mode).
	IsServer bool
	// CloseHandshakeTimeout bounds the wait for the close reply after the
	// runner sent a close frame (default 1s).
	CloseHandshakeTimeout time.Duration
	// ServerConnectionDropTimeout bounds, for a client runner, the wait for the
	// server to drop TCP after the closing handshake (default 1s).
	ServerConnectionDropTimeout time.Duration
	// Watchdog is how long after its last pending timer a connection that is
	// still not gone gets dropped by the runner (default 10s). The reference
	// suite has no such guard; it only matters for testees that hang.
	Watchdog time.Duration
	// WireLogLimit caps the number of wire log entries kept (default 300).
	WireLogLimit int
	// Deflate holds the negotiated permessage-deflate parameters; nil when
	// the extension is not in use.
	Deflate *pmce.Params
}

func (c *Config) defaults() {
	if c.CloseHandshakeTimeout == 0 {
		c.CloseHandshakeTimeout = time.Second
	}
	if c.ServerConnectionDropTimeout == 0 {
		c.ServerConnectionDropTimeout = time.Second
	}
	if c.Watchdog == 0 {
		c.Watchdog = 10 * time.Second
	}
	if c.WireLogLimit == 0 {
		c.WireLogLimit = 300
	}
}

// Peer is the runner's side of one WebSocket connection.
type Peer struct {
	cfg     Config
	conn    net.Conn
	w       *writer
	events  chan event
	done    chan struct{}
	handler Handler

	// connection state (reference suite names in comments)
	state          State
	closedByMe     bool // sent the first close frame
	failedByMe     bool // failed the connection because of the testee
	failReason     string
	droppedByMe    bool // closed the TCP connection first
	wasClean       bool // full closing handshake was performed
	notCleanReason string
	serverDropTO   bool // client: server did not drop TCP in time
	closeTO        bool // no close reply in time
	localCode      *int
	localReason    []byte
	remoteCode     *int
	remoteReason   *string
	lost           bool
	ended          time.Time

	// incoming frame parser
	buf           []byte // octets being processed
	pending       []byte // octets left over from earlier reads
	free          chan []byte
	cur           *frameState
	insideMessage bool
	msgBinary     bool
	msgData       []byte
	frameBuf      []byte
	ctrlData      []byte
	validateText  bool
	utf8          wire.UTF8Validator
	utf8Last      [2]bool // valid, complete of the last chunk
	msgCompressed bool    // RSV1 on the first frame: permessage-deflate
	deflater      *pmce.Deflater
	inflater      *pmce.Inflater
	comp          CompressionStats

	// outgoing behaviour
	autoFragment int

	// timers: a deadline queue run by the event loop, so that timers fire in
	// deadline order (ties in scheduling order), as in a reactor
	timers       []*timerRef
	timerSeq     uint64
	clock        *time.Timer
	lastDeadline time.Time // latest deadline ever scheduled (for the watchdog)
	closeHSTimer *timerRef
	dropTimer    *timerRef

	// statistics and wire log
	started time.Time
	stats   *counters
	wirelog []LogEntry
	logCut  int
}

type frameState struct {
	fin    bool
	rsv    byte
	opcode byte
	length uint64
	pos    uint64
	masked bool
	key    [4]byte
	kpos   int
}

type evKind int

const (
	evData evKind = iota
	evLost
)

type event struct {
	kind evKind
	data []byte
	err  error
}

type timerRef struct {
	at       time.Time
	seq      uint64
	fn       func()
	always   bool // run even when the connection is closed
	canceled bool
}

// New returns a Peer for conn, which must have completed the opening handshake.
func New(conn net.Conn, cfg Config) *Peer {
	cfg.defaults()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	p := &Peer{
		cfg:    cfg,
		conn:   conn,
		events: make(chan event, 64),
		free:   make(chan []byte, 8),
		done:   make(chan struct{}),
		stats:  newCounters(),
	}
	p.w = newWriter(conn, p.stats)
	if cfg.Deflate != nil {
		p.deflater = pmce.NewDeflater(*cfg.Deflate)
		p.inflater = pmce.NewInflater(*cfg.Deflate)
	}
	return p
}

// Run processes the connection until the TCP connection is gone. initial holds
// octets that arrived together with the handshake. Run calls h.Open first and
// h.Lost last; it returns after h.Lost.
func (p *Peer) Run(initial []byte, h Handler) {
	p.handler = h
	p.state = StateOpen
	p.started = time.Now()
	go p.w.run()
	go p.read()
	p.clock = time.NewTimer(time.Hour)
	p.lastDeadline = time.Now()
	if p.cfg.Deflate != nil {
		p.logf("PMCE", "permessage-deflate: %s", p.cfg.Deflate)
	}
	h.Open(p)
	if len(initial) > 0 {
		p.consume(initial)
	}
	for !p.lost {
		p.clock.Reset(time.Until(p.nextDeadline()))
		select {
		case ev := <-p.events:
			switch ev.kind {
			case evData:
				p.consume(ev.data)
				select { // hand the buffer back to the reader
				case p.free <- ev.data[:cap(ev.data)]:
				default:
				}
			case evLost:
				p.connectionLost(ev.err)
			}
		case <-p.clock.C:
			p.fireDue()
		}
	}
	close(p.done)
	p.clock.Stop()
	if p.deflater != nil {
		p.deflater.Release()
		p.deflater = nil
	}
	h.Lost(p)
}

func (p *Peer) read() {
	for {
		var buf []byte
		select {
		case buf = <-p.free:
		default:
			buf = make([]byte, 64<<10)
		}
		n, err := p.conn.Read(buf)
		if n > 0 {
			select {
			case p.events <- event{kind: evData, data: buf[:n]}:
			case <-p.done:
				return
			}
		}
		if err != nil {
			select {
			case p.events <- event{kind: evLost, err: err}:
			case <-p.done:
			}
			return
		}
	}
}

// after schedules fn on the event loop after d. Unless always is set, fn is
// skipped when the connection is closed by then.
func (p *Peer) after(d time.Duration, always bool, fn func()) *timerRef {
	p.timerSeq++
	ref := &timerRef{at: time.Now().Add(d), seq: p.timerSeq, fn: fn, always: always}
	p.timers = append(p.timers, ref)
	if ref.at.After(p.lastDeadline) {
		p.lastDeadline = ref.at
	}
	return ref
}

// nextDeadline is the earliest pending timer, or the watchdog: Watchdog
// after the latest deadline ever scheduled.
func (p *Peer) nextDeadline() time.Time {
	next := p.lastDeadline.Add(p.cfg.Watchdog)
	for _, t := range p.timers {
		if t.at.Before(next) {
			next = t.at
		}
	}
	return next
}

// fireDue runs the timers whose deadline has passed, earliest first.
func (p *Peer) fireDue() {
	now := time.Now()
	for {
		var due *timerRef
		idx := -1
		for i, t := range p.timers {
			if !t.at.After(now) && (due == nil || t.at.Before(due.at) || (t.at.Equal(due.at) && t.seq < due.seq)) {
				due, idx = t, i
			}
		}
		if due == nil {
			break
		}
		p.timers = append(p.timers[:idx], p.timers[idx+1:]...)
		if !due.canceled && (due.always || p.state != StateClosed) {
			due.fn()
		}
		if p.lost {
			return
		}
	}
	if !p.lastDeadline.Add(p.cfg.Watchdog).After(now) {
		p.onWatchdog()
		p.lastDeadline = now // re-arm: drop again after another Watchdog
	}
}

func (p *Peer) onWatchdog() {
	p.logf("WD", "runner watchdog: connection still open, dropping it")
	if p.state != StateClosed {
		if p.notCleanReason == "" {
			p.notCleanReason = "runner watchdog dropped a connection that did not end"
		}
		p.wasClean = false
		p.dropConnection(true)
		return
	}
	// Already closed on the WebSocket level but the socket lingers.
	_ = p.conn.Close()
}

func (p *Peer) connectionLost(err error) {
	if p.state != StateClosed {
		p.state = StateClosed
	}
	p.lost = true
	p.ended = time.Now()
	_ = p.conn.Close()
	if !p.wasClean && !p.droppedByMe && p.notCleanReason == "" {
		p.notCleanReason = "peer dropped the TCP connection without previous WebSocket closing handshake"
	}
	p.logf("LOST", "TCP connection gone (%v)", errString(err))
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// ContinueLater runs fn after d, provided the connection is not closed by
// then. A non-empty tag is recorded in the wire log.
func (p *Peer) ContinueLater(d time.Duration, tag string, fn func()) {
	p.logf("CT", "delay %v (tag %q)", d, tag)
	p.after(d, false, func() {
		p.logf("CTE", "delay elapsed (tag %q)", tag)
		fn()
	})
}

// KillAfter fails the connection after d (close 1001 "going away", or a TCP
// drop when already closing), provided it is not closed by then.
func (p *Peer) KillAfter(d time.Duration) {
	p.logf("KL", "fail connection after %v", d)
	p.after(d, false, func() {
		p.logf("KLE", "failing connection")
		p.Fail(1001, "going away")
	})
}

// CloseAfter starts the closing handshake (close frame without code) after d,
// provided the connection is not closed by then.
func (p *Peer) CloseAfter(d time.Duration) {
	p.logf("TI", "close connection after %v", d)
	p.after(d, false, func() {
		p.logf("TIE", "closing connection")
		p.SendCloseFrame(nil, nil, false)
	})
}

// State returns the current connection state.
func (p *Peer) State() State { return p.state }

// IsServer reports whether the runner is the server on this connection.
func (p *Peer) IsServer() bool { return p.cfg.IsServer }

// Deflate returns the negotiated permessage-deflate parameters, or nil.
func (p *Peer) Deflate() *pmce.Params { return p.cfg.Deflate }

// Deflater returns the runner's compressor when permessage-deflate is in
// use; case scripts may compress themselves and use SendCompressed.
func (p *Peer) Deflater() *pmce.Deflater { return p.deflater }

// SetAutoFragment makes SendMessage split messages into frames of at most n
// payload octets (0 disables it).
func (p *Peer) SetAutoFragment(n int) { p.autoFragment = n }

// Result is the close behaviour and traffic summary of a finished connection.
type Result struct {
	ClosedByMe                     bool       `json:"closedByMe"`
	FailedByMe                     bool       `json:"failedByMe"`
	FailReason                     string     `json:"failReason,omitempty"`
	DroppedByMe                    bool       `json:"droppedByMe"`
	WasClean                       bool       `json:"wasClean"`
	WasNotCleanReason              string     `json:"wasNotCleanReason,omitempty"`
	WasServerConnectionDropTimeout bool       `json:"wasServerConnectionDropTimeout"`
	WasCloseHandshakeTimeout       bool       `json:"wasCloseHandshakeTimeout"`
	LocalCloseCode                 *int       `json:"localCloseCode"`
	LocalCloseReason               string     `json:"localCloseReason,omitempty"`
	RemoteCloseCode                *int       `json:"remoteCloseCode"`
	RemoteCloseReason              *string    `json:"remoteCloseReason"`
	IsServer                       bool       `json:"isServer"`
	Duration                       float64    `json:"-"`
	Stats                          Stats      `json:"-"`
	WireLog                        []LogEntry `json:"-"`
	WireLogOmitted                 int        `json:"-"`
	// Compression is set when permessage-deflate was in use.
	Compression *CompressionStats `json:"-"`
}

// Result returns the connection's close behaviour and statistics so far.
func (p *Peer) Result() Result {
	r := Result{
		ClosedByMe:                     p.closedByMe,
		FailedByMe:                     p.failedByMe,
		FailReason:                     p.failReason,
		DroppedByMe:                    p.droppedByMe,
		WasClean:                       p.wasClean,
		WasNotCleanReason:              p.notCleanReason,
		WasServerConnectionDropTimeout: p.serverDropTO,
		WasCloseHandshakeTimeout:       p.closeTO,
		LocalCloseCode:                 p.localCode,
		RemoteCloseCode:                p.remoteCode,
		RemoteCloseReason:              p.remoteReason,
		IsServer:                       p.cfg.IsServer,
		Duration:                       p.duration(),
		Stats:                          p.stats.snapshot(),
		WireLog:                        p.wirelog,
		WireLogOmitted:                 p.logCut,
	}
	if p.localReason != nil {
		r.LocalCloseReason = Preview(p.localReason)
	}
	if p.cfg.Deflate != nil {
		c := p.comp
		c.Sent.ratio()
		c.Received.ratio()
		r.Compression = &c
	}
	return r
}

// TxFrames returns how many frames with the given opcode the runner sent.
func (p *Peer) TxFrames(opcode byte) int {
	return p.stats.txFrames(opcode)
}

func (p *Peer) duration() float64 {
	end := p.ended
	if end.IsZero() {
		end = time.Now()
	}
	return end.Sub(p.started).Seconds()
}
