package suite

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wsforge/websocket/autobahn/internal/pmce"
	"github.com/wsforge/websocket/autobahn/internal/wire"
)

// This file holds a deliberately tiny raw WebSocket echo implementation, in
// both roles, with switches that break it in specific ways. It exists only to
// prove that the runner detects those breakages (see selftest_test.go).

// breakage selects how the raw testee misbehaves. The zero value is correct.
type breakage struct {
	// unmasked: as a server accept unmasked client frames; as a client send
	// unmasked frames.
	unmasked bool
	// skipUTF8 disables UTF-8 validation of text messages and close reasons.
	skipUTF8 bool
	// echoBadCodes echoes any close code, even invalid ones.
	echoBadCodes bool
	// pongDelay answers pings only after this delay (0: at once).
	pongDelay time.Duration
	// deflate negotiates permessage-deflate: as a server it accepts the
	// first offer as is, as a client it offers client_max_window_bits.
	deflate bool
	// rsv1OnContinuation sends each compressed echo in two frames, both
	// with RSV1 set.
	rsv1OnContinuation bool
	// keepContext compresses with context takeover even when the peer
	// asked for no context takeover.
	keepContext bool
}

// rawConn is one raw WebSocket connection of the testee.
type rawConn struct {
	conn   net.Conn
	br     *bufio.Reader
	client bool
	brk    breakage
	// onMessage, when set, receives messages instead of echoing them.
	onMessage func(op byte, msg []byte)

	mu        sync.Mutex // guards writes and closeSent
	closeSent bool

	// permessage-deflate, when negotiated
	inf *pmce.Inflater
	def *pmce.Deflater
}

// useDeflate sets up compression with the negotiated parameters p.
func (c *rawConn) useDeflate(p *pmce.Params) {
	if p != nil {
		send := *p
		if c.brk.keepContext {
			send.SendNoContextTakeover = false
		}
		c.inf, c.def = pmce.NewInflater(*p), pmce.NewDeflater(send)
	}
}

type rawHeader struct {
	fin    bool
	rsv    byte
	op     byte
	masked bool
	key    [4]byte
	length uint64
}

func (c *rawConn) readHeader() (rawHeader, error) {
	var h rawHeader
	var b [8]byte
	if _, err := io.ReadFull(c.br, b[:2]); err != nil {
		return h, err
	}
	h.fin, h.rsv, h.op = b[0]&0x80 != 0, (b[0]>>4)&7, b[0]&0x0f
	h.masked = b[1]&0x80 != 0
	h.length = uint64(b[1] & 0x7f)
	switch h.length {
	case 126:
		if _, err := io.ReadFull(c.br, b[:2]); err != nil {
			return h, err
		}
		h.length = uint64(binary.BigEndian.Uint16(b[:2]))
	case 127:
		if _, err := io.ReadFull(c.br, b[:8]); err != nil {
			return h, err
		}
		h.length = binary.BigEndian.Uint64(b[:8])
	}
	if h.masked {
		if _, err := io.ReadFull(c.br, h.key[:]); err != nil {
			return h, err
		}
	}
	return h, nil
}

// write sends one frame unless a close frame was already sent.
func (c *rawConn) write(op byte, payload []byte) { c.writeFrame(true, 0, op, payload) }

// echo sends a message back, compressed when permessage-deflate is in use.
func (c *rawConn) echo(op byte, msg []byte) {
	if c.def == nil {
		c.write(op, msg)
		return
	}
	z := c.def.Compress(msg)
	if c.brk.rsv1OnContinuation && len(z) >= 2 {
		c.writeFrame(false, 4, op, z[:1])
		c.writeFrame(true, 4, wire.OpContinuation, z[1:])
		return
	}
	c.writeFrame(true, 4, op, z)
}

func (c *rawConn) writeFrame(fin bool, rsv, op byte, payload []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeSent {
		return
	}
	var key *[4]byte
	if c.client && !c.brk.unmasked {
		k := wire.NewMaskKey()
		key = &k
	}
	if op == wire.OpClose {
		c.closeSent = true
	}
	_, _ = c.conn.Write(wire.AppendFrame(nil, fin, rsv, op, key, payload))
}

func closePayload(code int) []byte { return []byte{byte(code >> 8), byte(code)} }

// serve runs the echo loop until the connection ends.
func (c *rawConn) serve() {
	defer c.conn.Close()
	var (
		msg     []byte
		msgOp   byte
		inMsg   bool
		msgZ    bool // compressed message
		utf8    wire.UTF8Validator
		checkUT bool
		buf     = make([]byte, 32<<10)
	)
	// fail sends a close with code, skips the rest of the current frame
	// and waits for the peer's close reply.
	fail := func(code int, rest uint64) {
		c.write(wire.OpClose, closePayload(code))
		if _, err := io.CopyN(io.Discard, c.br, int64(rest)); err != nil {
			return
		}
		c.drain()
	}
	// A malformed close frame still ends the peer's side: no reply to wait for.
	failOnClose := func(code int, rest uint64) {
		c.write(wire.OpClose, closePayload(code))
		if _, err := io.CopyN(io.Discard, c.br, int64(rest)); err != nil {
			return
		}
		c.finish()
	}
	for {
		h, err := c.readHeader()
		if err != nil {
			return
		}
		first := h.op == wire.OpText || h.op == wire.OpBinary
		switch {
		case h.rsv != 0 && !(h.rsv == 4 && first && c.inf != nil),
			!c.client && !h.masked && !c.brk.unmasked,
			c.client && h.masked,
			h.op >= 8 && (!h.fin || h.length > 125 || h.op > wire.OpPong),
			h.op < 8 && h.op > wire.OpBinary,
			h.op == wire.OpContinuation && !inMsg,
			(h.op == wire.OpText || h.op == wire.OpBinary) && inMsg,
			h.op == wire.OpClose && h.length == 1:
			if h.op == wire.OpClose {
				failOnClose(1002, h.length)
			} else {
				fail(1002, h.length)
			}
			return
		}
		if first {
			inMsg, msgOp, msg, msgZ = true, h.op, msg[:0], h.rsv == 4
			checkUT = h.op == wire.OpText && !c.brk.skipUTF8 && !msgZ
			utf8.Reset()
		}
		var payload []byte
		kpos := 0
		for rest := h.length; rest > 0; {
			n, err := c.br.Read(buf[:min(uint64(len(buf)), rest)])
			if err != nil {
				return
			}
			chunk := buf[:n]
			if h.masked {
				kpos = wire.Mask(h.key, kpos, chunk)
			}
			rest -= uint64(n)
			if h.op < 8 && checkUT {
				if ok, _ := utf8.Validate(chunk); !ok { // fail fast, mid-frame
					fail(1007, rest)
					return
				}
			}
			payload = append(payload, chunk...)
		}
		switch h.op {
		case wire.OpClose:
			c.answerClose(payload)
			return
		case wire.OpPing:
			p := append([]byte(nil), payload...)
			if c.brk.pongDelay > 0 {
				time.AfterFunc(c.brk.pongDelay, func() { c.write(wire.OpPong, p) })
			} else {
				c.write(wire.OpPong, p)
			}
		case wire.OpPong:
		default:
			msg = append(msg, payload...)
			if !h.fin {
				continue
			}
			if msgZ {
				if msg, err = c.inf.Inflate(msg, 0); err != nil {
					fail(1007, 0)
					return
				}
				if msgOp == wire.OpText && !c.brk.skipUTF8 && !wire.ValidUTF8(msg) {
					fail(1007, 0)
					return
				}
			}
			if checkUT && !utf8.Complete() {
				fail(1007, 0)
				return
			}
			inMsg = false
			if c.onMessage != nil {
				c.onMessage(msgOp, append([]byte(nil), msg...))
			} else {
				c.echo(msgOp, msg)
			}
		}
	}
}

// answerClose replies to the peer's close frame and ends the connection.
func (c *rawConn) answerClose(payload []byte) {
	var reply []byte
	if len(payload) >= 2 {
		code := int(binary.BigEndian.Uint16(payload))
		switch {
		case !wire.ValidCloseCode(code) && !c.brk.echoBadCodes:
			reply = closePayload(1002)
		case !c.brk.skipUTF8 && !wire.ValidUTF8(payload[2:]):
			reply = closePayload(1007)
		default:
			reply = closePayload(code)
		}
	}
	c.mu.Lock()
	answered := c.closeSent
	c.mu.Unlock()
	if !answered {
		c.write(wire.OpClose, reply)
	}
	c.finish()
}

// drain waits for the peer's close reply after we sent a close, then ends.
func (c *rawConn) drain() {
	_ = c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		h, err := c.readHeader()
		if err != nil {
			return
		}
		if _, err := io.CopyN(io.Discard, c.br, int64(h.length)); err != nil {
			return
		}
		if h.op == wire.OpClose {
			c.finish()
			return
		}
	}
}

// finish ends the TCP connection once the closing handshake is done: a
// server closes its side first, a client waits for the server to do so.
func (c *rawConn) finish() {
	if tc, ok := c.conn.(*net.TCPConn); ok && !c.client {
		_ = tc.CloseWrite()
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _ = io.Copy(io.Discard, c.br)
}

// rawServe accepts connections on ln and serves each as an echo server.
func rawServe(ln net.Listener, brk breakage) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			br := bufio.NewReader(conn)
			req, err := http.ReadRequest(br)
			if err != nil || !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
				conn.Close()
				return
			}
			c := &rawConn{conn: conn, br: br, brk: brk}
			ext := ""
			if offers := deflateOffers(req.Header.Values("Sec-WebSocket-Extensions")); brk.deflate && len(offers) > 0 {
				a := pmce.Accept{Offer: offers[0]}
				p := a.Params()
				c.useDeflate(&p)
				ext = "Sec-WebSocket-Extensions: " + a.String() + "\r\n"
			}
			fmt.Fprintf(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nServer: rawtestee\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
				wire.AcceptKey(req.Header.Get("Sec-WebSocket-Key")), ext)
			c.serve()
		}()
	}
}

// rawDial connects a raw client connection to base+path.
func rawDial(addr, path string, brk breakage) (*rawConn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	key := wire.NewHandshakeKey()
	var offers []pmce.Offer
	ext := ""
	if brk.deflate {
		offers = []pmce.Offer{{AcceptMaxWindowBits: true}}
		ext = "Sec-WebSocket-Extensions: " + offers[0].String() + "\r\n"
	}
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n", path, addr, key, ext)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != wire.AcceptKey(key) {
		conn.Close()
		return nil, fmt.Errorf("handshake for %s failed: %s", path, resp.Status)
	}
	deflate, err := checkExtensions(resp.Header.Values("Sec-WebSocket-Extensions"), offers)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c := &rawConn{conn: conn, br: br, client: true, brk: brk}
	c.useDeflate(deflate)
	return c, nil
}

// rawClient follows the fuzzing-server protocol: get the case count, run
// every case as an echo client, then ask for the reports.
func rawClient(addr, agent string, brk breakage) error {
	c, err := rawDial(addr, "/getCaseCount", brk)
	if err != nil {
		return err
	}
	count := -1
	c.onMessage = func(_ byte, msg []byte) { count, _ = strconv.Atoi(string(msg)) }
	c.serve()
	if count < 0 {
		return errors.New("no case count received")
	}
	for i := 1; i <= count; i++ {
		c, err := rawDial(addr, fmt.Sprintf("/runCase?case=%d&agent=%s", i, agent), brk)
		if err != nil {
			return err
		}
		c.serve()
	}
	c, err = rawDial(addr, "/updateReports?agent="+agent, brk)
	if err != nil {
		return err
	}
	c.serve()
	return nil
}
