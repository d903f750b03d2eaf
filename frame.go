package websocket

import (
	"bufio"
	"encoding/binary"
	"math"
	"strconv"
)

// MessageType is the type of a data message: text or binary (RFC 6455 §5.6).
type MessageType int

const (
	// MessageText is a message of UTF-8 text.
	MessageText MessageType = 1
	// MessageBinary is a message of arbitrary bytes.
	MessageBinary MessageType = 2
)

// String returns "text", "binary", or the number for other values.
func (t MessageType) String() string {
	switch t {
	case MessageText:
		return "text"
	case MessageBinary:
		return "binary"
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

// opcode is a frame's opcode (RFC 6455 §5.2, §11.8).
type opcode byte

const (
	opContinuation opcode = 0x0
	opText         opcode = 0x1
	opBinary       opcode = 0x2
	opClose        opcode = 0x8
	opPing         opcode = 0x9
	opPong         opcode = 0xA
)

// isControl reports whether op is a control opcode (RFC 6455 §5.5).
func (op opcode) isControl() bool { return op&0x8 != 0 }

// isKnown reports whether op is defined by RFC 6455; 0x3-0x7 and 0xB-0xF
// are reserved (§5.2).
func (op opcode) isKnown() bool { return op <= opBinary || (op >= opClose && op <= opPong) }

// Frame header bits (RFC 6455 §5.2).
const (
	bitFIN  = 0x80
	bitRSV1 = 0x40
	bitRSV2 = 0x20
	bitRSV3 = 0x10
	bitMask = 0x80

	// maxHeaderSize is 2 bytes, an 8-byte extended length and a 4-byte key.
	maxHeaderSize = 14
	// maxControlPayload is the largest control frame payload (§5.5).
	maxControlPayload = 125
)

// header is a decoded frame header.
type header struct {
	fin    bool
	rsv    byte // the RSV1-3 bits as they sit in the first byte
	op     opcode
	masked bool
	key    uint32 // the masking key, little-endian as on the wire (see mask)
	length int64
}

// errHeaderLength reports a 64-bit payload length with the most significant
// bit set, which §5.2 forbids.
var errHeaderLength = protocolError("payload length with the most significant bit set")

// peekHeader decodes the next frame header without consuming it and returns
// it with its size in bytes; the caller discards that many bytes once it has
// accepted the frame. Peeking keeps a header that arrives in pieces, or a read
// interrupted by a deadline, from leaving the stream half consumed.
func peekHeader(br *bufio.Reader) (header, int, error) {
	b, err := br.Peek(2)
	if err != nil {
		return header{}, 0, err
	}
	h := header{
		fin:    b[0]&bitFIN != 0,
		rsv:    b[0] & (bitRSV1 | bitRSV2 | bitRSV3),
		op:     opcode(b[0] & 0x0F),
		masked: b[1]&bitMask != 0,
	}
	size := 2
	switch n := b[1] & 0x7F; n { // §5.2 Payload length
	case 126:
		size += 2
	case 127:
		size += 8
	default:
		h.length = int64(n)
	}
	if h.masked {
		size += 4
	}
	if size > 2 {
		if b, err = br.Peek(size); err != nil {
			return header{}, 0, err
		}
	}
	i := 2
	switch b[1] & 0x7F {
	case 126:
		h.length = int64(binary.BigEndian.Uint16(b[2:]))
		i += 2
	case 127:
		n := binary.BigEndian.Uint64(b[2:])
		if n > math.MaxInt64 { // §5.2: the most significant bit MUST be 0
			return header{}, 0, errHeaderLength
		}
		h.length = int64(n)
		i += 8
	}
	if h.masked {
		h.key = binary.LittleEndian.Uint32(b[i:])
	}
	return h, size, nil
}

// putHeader encodes h into b, which must hold maxHeaderSize bytes, using
// the shortest length encoding (§5.2), and returns the header's size.
func putHeader(b []byte, h header) int {
	b[0] = byte(h.op) | h.rsv
	if h.fin {
		b[0] |= bitFIN
	}
	var m byte
	if h.masked {
		m = bitMask
	}
	n := 2
	switch {
	case h.length <= 125:
		b[1] = m | byte(h.length)
	case h.length <= math.MaxUint16:
		b[1] = m | 126
		binary.BigEndian.PutUint16(b[2:], uint16(h.length))
		n = 4
	default:
		b[1] = m | 127
		binary.BigEndian.PutUint64(b[2:], uint64(h.length))
		n = 10
	}
	if h.masked {
		binary.LittleEndian.PutUint32(b[n:], h.key)
		n += 4
	}
	return n
}

// headerSize returns the size of h's encoding.
func headerSize(length int64, masked bool) int {
	n := 2
	switch {
	case length > math.MaxUint16:
		n = 10
	case length > 125:
		n = 4
	}
	if masked {
		n += 4
	}
	return n
}
