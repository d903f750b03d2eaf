package fuzz

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/wsforge/websocket/autobahn/internal/wire"
)

// Frame describes one frame to send. The runner deliberately allows any
// combination of fields, including invalid ones.
type Frame struct {
	Opcode  byte
	Fin     bool
	RSV     byte
	Payload []byte
	// RepeatTo, when > 0, sends a payload of exactly RepeatTo octets made by
	// repeating Payload (which must not be empty).
	RepeatTo int
	// Chop, when > 0, writes the frame's octets in pieces of Chop octets, each
	// pushed to the socket separately.
	Chop int
	// Sync pushes the frame's octets to the socket on their own, not coalesced
	// with neighbouring writes.
	Sync bool
}

// payload returns the effective payload of f.
func (f Frame) payload() []byte {
	if f.RepeatTo <= 0 {
		return f.Payload
	}
	if len(f.Payload) == 0 {
		return nil
	}
	out := bytes.Repeat(f.Payload, f.RepeatTo/len(f.Payload)+1)
	return out[:f.RepeatTo]
}

// SendFrame puts one frame on the wire, masked when the runner is the client.
func (p *Peer) SendFrame(f Frame) {
	pl := f.payload()
	var key *[4]byte
	if !p.cfg.IsServer {
		k := wire.NewMaskKey()
		key = &k
	}
	raw := wire.AppendFrame(make([]byte, 0, len(pl)+14), f.Fin, f.RSV, f.Opcode, key, pl)
	p.stats.addTxFrame(f.Opcode)
	p.logFrame("TF", f.Opcode, f.Fin, f.RSV, key != nil, pl, f.Chop, f.Sync)
	p.sendData(raw, f.Sync, f.Chop)
}

func (p *Peer) sendData(raw []byte, sync bool, chop int) {
	if chop > 0 {
		for i := 0; i < len(raw); i += chop {
			j := min(i+chop, len(raw))
			p.w.push(raw[i:j], true)
		}
		if len(raw) == 0 {
			p.w.push(raw, true)
		}
		return
	}
	p.w.push(raw, sync)
}

// SendMessage sends a data message, in frames of at most fragment payload
// octets when fragment > 0 (or when auto-fragmentation is set). With
// permessage-deflate the message is compressed first.
func (p *Peer) SendMessage(payload []byte, binary bool, fragment int) {
	if p.state != StateOpen {
		return
	}
	if p.deflater != nil {
		p.SendCompressed(p.deflater.Compress(payload), len(payload), binary, fragment)
		return
	}
	p.sendMessage(payload, binary, fragment, false)
}

// SendCompressed sends a message of size octets whose payload the caller
// compressed with Deflater (without the sync tail), fragmented like
// SendMessage.
func (p *Peer) SendCompressed(compressed []byte, size int, binary bool, fragment int) {
	if p.state != StateOpen {
		return
	}
	p.comp.Sent.Messages++
	p.comp.Sent.Octets += int64(size)
	p.comp.Sent.Compressed += int64(len(compressed))
	p.sendMessage(compressed, binary, fragment, true)
}

// sendMessage frames a message payload; a compressed one carries RSV1 on
// its first frame only (RFC 7692 §6.1).
func (p *Peer) sendMessage(payload []byte, binary bool, fragment int, compressed bool) {
	var rsv byte
	if compressed {
		rsv = 4
	}
	op := byte(wire.OpText)
	if binary {
		op = wire.OpBinary
	}
	if fragment <= 0 {
		fragment = p.autoFragment
	}
	if fragment <= 0 || len(payload) <= fragment {
		p.SendFrame(Frame{Opcode: op, Fin: true, RSV: rsv, Payload: payload})
		return
	}
	// All frames of the message go to the writer in one piece.
	frames := (len(payload) + fragment - 1) / fragment
	raw := make([]byte, 0, len(payload)+frames*14)
	for i := 0; i < len(payload); i += fragment {
		j := min(i+fragment, len(payload))
		if i > 0 {
			op, rsv = wire.OpContinuation, 0
		}
		var key *[4]byte
		if !p.cfg.IsServer {
			k := wire.NewMaskKey()
			key = &k
		}
		raw = wire.AppendFrame(raw, j == len(payload), rsv, op, key, payload[i:j])
		p.stats.addTxFrame(op)
		p.logFrame("TF", op, j == len(payload), rsv, key != nil, payload[i:j], 0, false)
	}
	p.sendData(raw, false, 0)
}

// Stream sends a text message as one frame with FIN unset whose payload is
// written in the given parts (possibly spread over time by the caller), then
// an empty final continuation frame. Begin writes the header; Part writes
// payload octets; End finishes the message.
type Stream struct {
	p      *Peer
	key    *[4]byte
	kpos   int
	length int
	sent   int
}

// BeginStream starts a streamed text message whose single data frame will
// carry length payload octets.
func (p *Peer) BeginStream(length int) *Stream {
	s := &Stream{p: p, length: length}
	if p.state != StateOpen {
		return s
	}
	var key *[4]byte
	if !p.cfg.IsServer {
		k := wire.NewMaskKey()
		key = &k
	}
	s.key = key
	hdr := wire.AppendFrame(nil, false, 0, wire.OpText, key, nil)
	// Patch the length field: AppendFrame encoded an empty payload.
	hdr = encodeHeaderLength(hdr, key != nil, length)
	p.stats.addTxFrame(wire.OpText)
	p.logf("TF", "streamed frame OPCODE=1 FIN=false LEN=%d", length)
	p.sendData(hdr, false, 0)
	return s
}

func encodeHeaderLength(hdr []byte, masked bool, n int) []byte {
	out := []byte{hdr[0], 0}
	if masked {
		out[1] = 0x80
	}
	switch {
	case n <= 125:
		out[1] |= byte(n)
	case n <= 0xffff:
		out[1] |= 126
		out = append(out, byte(n>>8), byte(n))
	default:
		out[1] |= 127
		for s := 56; s >= 0; s -= 8 {
			out = append(out, byte(uint64(n)>>s))
		}
	}
	if masked {
		out = append(out, hdr[len(hdr)-4:]...)
	}
	return out
}

// Part writes payload octets of the streamed frame.
func (s *Stream) Part(b []byte) {
	if s.p.state != StateOpen {
		return
	}
	b = bytes.Clone(b)
	if s.key != nil {
		s.kpos = wire.Mask(*s.key, s.kpos, b)
	}
	s.sent += len(b)
	s.p.logOctets("TO", b)
	s.p.sendData(b, false, 0)
}

// End sends the empty final continuation frame.
func (s *Stream) End() {
	if s.p.state != StateOpen {
		return
	}
	s.p.SendFrame(Frame{Opcode: wire.OpContinuation, Fin: true})
}

// SendCloseFrame sends a close frame with the optional code and raw reason
// (no validation). It does nothing unless the connection is open. A close
// that is not a reply starts the close handshake timeout.
func (p *Peer) SendCloseFrame(code *int, reason []byte, isReply bool) {
	if p.state != StateOpen {
		return
	}
	var payload []byte
	if code != nil {
		payload = append(payload, byte(*code>>8), byte(*code))
	}
	payload = append(payload, reason...)
	p.SendFrame(Frame{Opcode: wire.OpClose, Fin: true, Payload: payload})
	p.state = StateClosing
	p.closedByMe = !isReply
	p.localCode = code
	p.localReason = reason
	if p.closedByMe && p.cfg.CloseHandshakeTimeout > 0 {
		p.closeHSTimer = p.after(p.cfg.CloseHandshakeTimeout, false, p.onCloseHandshakeTimeout)
	}
}

// SendClose starts the closing handshake with a close code (and reason).
func (p *Peer) SendClose(code int, reason string) {
	var r []byte
	if reason != "" {
		r = []byte(reason)
		if len(r) > 123 {
			r = r[:123]
		}
	}
	p.SendCloseFrame(&code, r, false)
}

// Fail fails the WebSocket connection: the runner sends a close frame with
// code (or drops TCP if a closing handshake is already under way).
func (p *Peer) Fail(code int, reason string) {
	if p.state == StateClosed {
		return
	}
	p.failedByMe = true
	if p.failReason == "" {
		p.failReason = reason
	}
	if p.state != StateClosing {
		r := []byte(reason)
		if len(r) > 123 {
			r = r[:123]
		}
		p.SendCloseFrame(&code, r, false)
		return
	}
	p.dropConnection(false)
}

// dropConnection closes the TCP connection. With abort, pending writes are
// discarded; otherwise they are flushed first.
func (p *Peer) dropConnection(abort bool) {
	if p.state == StateClosed {
		return
	}
	p.logf("DROP", "runner drops the TCP connection (abort=%v)", abort)
	p.droppedByMe = true
	p.state = StateClosed
	if abort {
		p.w.abort()
		_ = p.conn.Close()
		return
	}
	p.w.closeAfterFlush()
}

// writer pushes queued octets to the connection on its own goroutine so that
// the event loop never blocks.
type writer struct {
	conn  net.Conn
	stats *counters

	mu       sync.Mutex
	cond     *sync.Cond
	queue    []chunk
	closing  bool
	dead     bool
	finished chan struct{}
}

type chunk struct {
	data []byte
	sync bool
}

func newWriter(conn net.Conn, stats *counters) *writer {
	w := &writer{conn: conn, stats: stats, finished: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	return w
}

func (w *writer) push(b []byte, sync bool) {
	w.mu.Lock()
	if !w.dead && !w.closing {
		w.queue = append(w.queue, chunk{b, sync})
		w.cond.Signal()
	}
	w.mu.Unlock()
}

func (w *writer) abort() {
	w.mu.Lock()
	w.dead = true
	w.queue = nil
	w.cond.Signal()
	w.mu.Unlock()
}

func (w *writer) closeAfterFlush() {
	w.mu.Lock()
	w.closing = true
	w.cond.Signal()
	w.mu.Unlock()
}

const maxCoalesce = 1 << 20

func (w *writer) run() {
	defer close(w.finished)
	var buf []byte
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && !w.closing && !w.dead {
			w.cond.Wait()
		}
		if w.dead {
			w.mu.Unlock()
			return
		}
		if len(w.queue) == 0 && w.closing {
			w.mu.Unlock()
			w.finish()
			return
		}
		// Take one sync chunk, or a run of plain chunks coalesced.
		var out [][]byte
		if w.queue[0].sync {
			out = append(out, w.queue[0].data)
			w.queue = w.queue[1:]
		} else {
			n := 0
			for len(w.queue) > 0 && !w.queue[0].sync && (n == 0 || n+len(w.queue[0].data) <= maxCoalesce) {
				out = append(out, w.queue[0].data)
				n += len(w.queue[0].data)
				w.queue = w.queue[1:]
			}
		}
		w.mu.Unlock()

		var err error
		if len(out) == 1 {
			err = w.write(out[0])
		} else {
			buf = buf[:0]
			for _, b := range out {
				buf = append(buf, b...)
			}
			err = w.write(buf)
		}
		if err != nil {
			w.mu.Lock()
			w.dead = true
			w.queue = nil
			w.mu.Unlock()
			return
		}
	}
}

func (w *writer) write(b []byte) error {
	w.stats.addTxOctets(len(b))
	_, err := w.conn.Write(b)
	return err
}

// finish ends an orderly drop: half-close so that the flushed octets are
// delivered before FIN, then give the testee a moment to close its side.
func (w *writer) finish() {
	if tc, ok := w.conn.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
		_ = w.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		return
	}
	_ = w.conn.Close()
}

// String describes the peer for logs.
func (p *Peer) String() string {
	return fmt.Sprintf("peer(%s, %s)", p.conn.RemoteAddr(), p.state)
}
