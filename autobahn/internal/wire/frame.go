// Package wire holds the low-level RFC 6455 helpers shared by the conformance
// runner and its tests: frame encoding, payload masking, the opening-handshake
// key computation and a strict incremental UTF-8 validator.
//
// Nothing here enforces protocol rules on what it encodes: the runner must be
// able to put deliberately invalid frames on the wire.
package wire

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	mrand "math/rand/v2"
)

// Frame opcodes defined by RFC 6455.
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
)

// MaxControlPayload is the largest payload a control frame may carry.
const MaxControlPayload = 125

// AppendFrame appends one frame to dst and returns the extended slice.
// rsv holds the three reserved bits (0..7) and opcode the low four bits of the
// first octet; both are reduced modulo their field size. When mask is non-nil
// the frame is masked with it; payload itself is not modified.
func AppendFrame(dst []byte, fin bool, rsv, opcode byte, mask *[4]byte, payload []byte) []byte {
	b0 := opcode & 0x0f
	b0 |= (rsv & 0x7) << 4
	if fin {
		b0 |= 0x80
	}
	var b1 byte
	if mask != nil {
		b1 = 0x80
	}
	n := len(payload)
	switch {
	case n <= 125:
		dst = append(dst, b0, b1|byte(n))
	case n <= 0xffff:
		dst = append(dst, b0, b1|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	if mask == nil {
		return append(dst, payload...)
	}
	dst = append(dst, mask[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	Mask(*mask, 0, dst[start:])
	return dst
}

// Mask XORs p in place with the masking key, starting at key position pos
// (the number of payload octets already processed), and returns the key
// position after p. Masking and unmasking are the same operation.
func Mask(key [4]byte, pos int, p []byte) int {
	pos &= 3
	i := 0
	// Align to the key, then process eight octets at a time.
	for ; i < len(p) && pos != 0; i++ {
		p[i] ^= key[pos]
		pos = (pos + 1) & 3
	}
	if len(p)-i >= 8 {
		k4 := binary.LittleEndian.Uint32(key[:])
		k8 := uint64(k4) | uint64(k4)<<32
		for ; len(p)-i >= 8; i += 8 {
			v := binary.LittleEndian.Uint64(p[i:])
			binary.LittleEndian.PutUint64(p[i:], v^k8)
		}
	}
	for ; i < len(p); i++ {
		p[i] ^= key[pos]
		pos = (pos + 1) & 3
	}
	return pos
}

// NewMaskKey returns a random masking key. It need not be unpredictable
// (the runner is no browser), so it comes from a fast generator.
func NewMaskKey() [4]byte {
	var k [4]byte
	binary.LittleEndian.PutUint32(k[:], mrand.Uint32())
	return k
}

// NewHandshakeKey returns a random Sec-WebSocket-Key value.
func NewHandshakeKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// AcceptKey computes the Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
func AcceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// ValidCloseCode reports whether code may appear in a close frame, using the
// same rule as the reference suite: 1000-1003, 1007-1013 and 3000-4999.
func ValidCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1013:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}
