package websocket

import "encoding/binary"

// RFC 6455 §8.1: the payload of a text message is UTF-8, and an endpoint
// that receives invalid UTF-8 must fail the connection. Text messages arrive
// in pieces (fragments, partial reads), so utf8Validator checks them
// incrementally and says no at the first byte after which the message can no
// longer become valid, without waiting for the rest of it.
//
// The validator is a deterministic finite automaton whose states are the
// positions inside the well-formed byte sequences of RFC 3629 §4:
//
//	UTF8-1 = %x00-7F
//	UTF8-2 = %xC2-DF UTF8-tail
//	UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
//	         %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
//	UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
//	         %xF4 %x80-8F 2( UTF8-tail )
//	UTF8-tail = %x80-BF
//
// The narrowed second bytes after E0, ED, F0 and F4 exclude overlong forms,
// the surrogates U+D800..U+DFFF and code points above U+10FFFF. C0, C1 and
// F5..FF never occur.
//
// Each state is stored as a multiple of 6 so that the transition for a byte
// c from state s is the 6-bit field at bit s of utf8Trans[c]: one load and
// one shift per byte, with no dependency on a second table lookup.
const (
	utf8Accept  uint8 = 0 * 6 // at a code point boundary
	utf8Reject  uint8 = 1 * 6 // invalid; absorbing
	utf8Tail1   uint8 = 2 * 6 // one UTF8-tail byte to go
	utf8Tail2   uint8 = 3 * 6 // two UTF8-tail bytes to go
	utf8Tail3   uint8 = 4 * 6 // three UTF8-tail bytes to go
	utf8AfterE0 uint8 = 5 * 6 // %xE0: next is %xA0-BF
	utf8AfterED uint8 = 6 * 6 // %xED: next is %x80-9F
	utf8AfterF0 uint8 = 7 * 6 // %xF0: next is %x90-BF
	utf8AfterF4 uint8 = 8 * 6 // %xF4: next is %x80-8F
	utf8States        = 9
)

// utf8Trans holds, for every byte, the next state from each of the states
// above, packed 6 bits per state at bit offset state.
var utf8Trans = func() (t [256]uint64) {
	for c := range 256 {
		for s := range utf8States {
			t[c] |= uint64(utf8Next(uint8(s*6), byte(c))) << (s * 6)
		}
	}
	return t
}()

// utf8Next is the transition function of the automaton, written out from the
// RFC 3629 grammar above. It only builds utf8Trans.
func utf8Next(s uint8, c byte) uint8 {
	tail := 0x80 <= c && c <= 0xBF
	switch s {
	case utf8Accept:
		switch {
		case c <= 0x7F:
			return utf8Accept
		case 0xC2 <= c && c <= 0xDF:
			return utf8Tail1
		case c == 0xE0:
			return utf8AfterE0
		case 0xE1 <= c && c <= 0xEC, c == 0xEE, c == 0xEF:
			return utf8Tail2
		case c == 0xED:
			return utf8AfterED
		case c == 0xF0:
			return utf8AfterF0
		case 0xF1 <= c && c <= 0xF3:
			return utf8Tail3
		case c == 0xF4:
			return utf8AfterF4
		}
	case utf8Tail1:
		if tail {
			return utf8Accept
		}
	case utf8Tail2:
		if tail {
			return utf8Tail1
		}
	case utf8Tail3:
		if tail {
			return utf8Tail2
		}
	case utf8AfterE0:
		if 0xA0 <= c && c <= 0xBF {
			return utf8Tail1
		}
	case utf8AfterED:
		if 0x80 <= c && c <= 0x9F {
			return utf8Tail1
		}
	case utf8AfterF0:
		if 0x90 <= c && c <= 0xBF {
			return utf8Tail2
		}
	case utf8AfterF4:
		if 0x80 <= c && c <= 0x8F {
			return utf8Tail2
		}
	}
	return utf8Reject
}

// utf8Validator checks UTF-8 incrementally. The zero value is ready (at a
// code point boundary).
type utf8Validator struct {
	state uint8 // one of the utf8 states above
}

// valid consumes p and reports whether the input so far can still be, or be
// extended to, valid UTF-8. It returns false as soon as it cannot; from then
// on the validator stays invalid until reset. valid does not allocate.
func (v *utf8Validator) valid(p []byte) bool {
	const highBits = 0x8080808080808080 // set in a word iff it holds a non-ASCII byte
	s := uint64(v.state)
	if s == uint64(utf8Reject) {
		return false
	}
	for len(p) >= 8 {
		w := binary.LittleEndian.Uint64(p)
		p = p[8:]
		if s == uint64(utf8Accept) && w&highBits == 0 {
			// At a code point boundary ASCII needs no automaton: skip
			// these 8 bytes, then 32 at a time while ASCII lasts.
			for len(p) >= 32 && (binary.LittleEndian.Uint64(p[0:8])|
				binary.LittleEndian.Uint64(p[8:16])|
				binary.LittleEndian.Uint64(p[16:24])|
				binary.LittleEndian.Uint64(p[24:32]))&highBits == 0 {
				p = p[32:]
			}
			continue
		}
		// Run the automaton over the 8 bytes of w, then test for rejection
		// once: it is absorbing, so a rejection inside w persists.
		s = utf8Trans[byte(w)] >> (s & 63)
		s = utf8Trans[byte(w>>8)] >> (s & 63)
		s = utf8Trans[byte(w>>16)] >> (s & 63)
		s = utf8Trans[byte(w>>24)] >> (s & 63)
		s = utf8Trans[byte(w>>32)] >> (s & 63)
		s = utf8Trans[byte(w>>40)] >> (s & 63)
		s = utf8Trans[byte(w>>48)] >> (s & 63)
		s = utf8Trans[byte(w>>56)] >> (s & 63)
		s &= 63
		if s == uint64(utf8Reject) {
			v.state = utf8Reject
			return false
		}
	}
	for _, c := range p {
		s = utf8Trans[c] >> (s & 63)
	}
	s &= 63
	v.state = uint8(s)
	return s != uint64(utf8Reject)
}

// complete reports whether the input so far is valid UTF-8 that ends at a
// code point boundary, as a whole text message must (RFC 6455 §8.1).
func (v *utf8Validator) complete() bool {
	return v.state == utf8Accept
}

// reset makes v ready for a new message.
func (v *utf8Validator) reset() {
	v.state = utf8Accept
}
