package wstest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"unicode/utf8"
)

// Opcodes of RFC 6455 §5.2, for crafting frames.
const (
	OpContinuation byte = 0x0
	OpText         byte = 0x1
	OpBinary       byte = 0x2
	OpClose        byte = 0x8
	OpPing         byte = 0x9
	OpPong         byte = 0xA
)

// Frame is one WebSocket frame as a raw peer writes or reads it. It is
// encoded and decoded here independently of the package under test, so
// that the two can check each other.
type Frame struct {
	Fin     bool
	RSV     byte // the RSV1-3 bits as they sit in the first byte (0x70 mask)
	Op      byte
	Masked  bool
	Key     [4]byte // used when Masked
	Payload []byte  // unmasked
}

// AppendFrame appends the wire encoding of f to b, with the shortest
// length encoding and the payload masked with f.Key if f.Masked.
func AppendFrame(b []byte, f Frame) []byte {
	b0 := f.Op&0x0F | f.RSV&0x70
	if f.Fin {
		b0 |= 0x80
	}
	var m byte
	if f.Masked {
		m = 0x80
	}
	n := len(f.Payload)
	switch {
	case n <= 125:
		b = append(b, b0, m|byte(n))
	case n <= 0xFFFF:
		b = append(b, b0, m|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, b0, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if !f.Masked {
		return append(b, f.Payload...)
	}
	b = append(b, f.Key[:]...)
	for i, c := range f.Payload {
		b = append(b, c^f.Key[i%4])
	}
	return b
}

// ClosePayload returns the payload of a close frame with code and reason.
func ClosePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// RawPeer speaks WebSocket frames over a connection byte by byte, without
// any of the checks of the package under test, to play a well-behaved or a
// hostile peer.
type RawPeer struct {
	Conn net.Conn
	br   *bufio.Reader
	// Client makes WriteFrame mask frames as a client must (RFC 6455 §5.3)
	// and ReadFrame expect unmasked frames from the server.
	Client bool
}

// NewRawPeer returns a raw peer speaking over nc; client tells which end
// of the connection it plays.
func NewRawPeer(nc net.Conn, client bool) *RawPeer {
	return &RawPeer{Conn: nc, br: bufio.NewReader(nc), Client: client}
}

// Write sends b as it is.
func (p *RawPeer) Write(b []byte) error {
	_, err := p.Conn.Write(b)
	return err
}

// WriteFrame sends f, masked with a fixed key if the peer is a client.
func (p *RawPeer) WriteFrame(f Frame) error {
	if p.Client && !f.Masked {
		f.Masked = true
		f.Key = [4]byte{0x37, 0xfa, 0x21, 0x3d}
	}
	return p.Write(AppendFrame(nil, f))
}

// WriteMessage sends payload as one unfragmented message.
func (p *RawPeer) WriteMessage(op byte, payload []byte) error {
	return p.WriteFrame(Frame{Fin: true, Op: op, Payload: payload})
}

// WriteClose sends a close frame with code and reason.
func (p *RawPeer) WriteClose(code uint16, reason string) error {
	return p.WriteMessage(OpClose, ClosePayload(code, reason))
}

// ErrFrameMasking reports a frame whose mask bit is wrong for its sender.
var ErrFrameMasking = errors.New("wstest: frame masked wrongly for its sender")

// ReadFrame reads the next frame, unmasking its payload. A frame masked
// wrongly for the other end's role is returned with ErrFrameMasking.
func (p *RawPeer) ReadFrame() (Frame, error) {
	var hdr [14]byte
	if _, err := io.ReadFull(p.br, hdr[:2]); err != nil {
		return Frame{}, err
	}
	f := Frame{
		Fin:    hdr[0]&0x80 != 0,
		RSV:    hdr[0] & 0x70,
		Op:     hdr[0] & 0x0F,
		Masked: hdr[1]&0x80 != 0,
	}
	n := uint64(hdr[1] & 0x7F)
	switch n {
	case 126:
		if _, err := io.ReadFull(p.br, hdr[:2]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(hdr[:2]))
	case 127:
		if _, err := io.ReadFull(p.br, hdr[:8]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(hdr[:8])
	}
	if n > 1<<30 {
		return f, fmt.Errorf("wstest: frame of %d bytes is too large to read", n)
	}
	if f.Masked {
		if _, err := io.ReadFull(p.br, f.Key[:]); err != nil {
			return f, err
		}
	}
	f.Payload = make([]byte, n)
	if _, err := io.ReadFull(p.br, f.Payload); err != nil {
		return f, err
	}
	if f.Masked {
		for i := range f.Payload {
			f.Payload[i] ^= f.Key[i%4]
		}
	}
	if f.Masked == p.Client {
		return f, ErrFrameMasking
	}
	return f, nil
}

// ReadMessage reads frames until a whole data message, answering nothing:
// control frames on the way are returned through ctrl if it is not nil.
func (p *RawPeer) ReadMessage(ctrl func(Frame)) (op byte, payload []byte, err error) {
	started := false
	for {
		f, err := p.ReadFrame()
		if err != nil {
			return 0, nil, err
		}
		if f.Op&0x8 != 0 {
			if ctrl != nil {
				ctrl(f)
			}
			if f.Op == OpClose {
				return f.Op, f.Payload, nil
			}
			continue
		}
		if !started {
			op, started = f.Op, true
		}
		payload = append(payload, f.Payload...)
		if f.Fin {
			if payload == nil {
				payload = []byte{}
			}
			return op, payload, nil
		}
	}
}

// ReadClose reads frames until a close frame, discarding the others, and
// returns its code (0 if it had none) and reason.
func (p *RawPeer) ReadClose() (code uint16, reason string, err error) {
	for {
		f, err := p.ReadFrame()
		if err != nil {
			return 0, "", err
		}
		if f.Op != OpClose {
			continue
		}
		if len(f.Payload) < 2 {
			return 0, "", nil
		}
		reason := string(f.Payload[2:])
		if !utf8.ValidString(reason) {
			return 0, "", fmt.Errorf("wstest: close reason %q is not UTF-8", reason)
		}
		return binary.BigEndian.Uint16(f.Payload), reason, nil
	}
}

// ReadEOF reads and discards bytes until the connection ends, and returns
// nil if it ended with io.EOF.
func (p *RawPeer) ReadEOF() error {
	_, err := io.Copy(io.Discard, p.br)
	return err
}

// Close closes the connection.
func (p *RawPeer) Close() error { return p.Conn.Close() }

// TCPPair returns the two ends of a loopback TCP connection; both are
// closed when t ends.
func TCPPair(t testing.TB) (dialed, accepted net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		ch <- result{c, err}
	}()
	dialed, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		dialed.Close()
		t.Fatal(r.err)
	}
	t.Cleanup(func() {
		dialed.Close()
		r.c.Close()
	})
	return dialed, r.c
}
