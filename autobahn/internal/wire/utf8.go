package wire

import "encoding/binary"

// UTF8Validator checks UTF-8 incrementally, octet by octet, so that a stream
// can be rejected at the first octet that makes it invalid (fail fast), even
// when a code point is split across frames or TCP segments.
//
// It accepts exactly the well-formed UTF-8 of RFC 3629: no overlong forms, no
// UTF-16 surrogates, nothing above U+10FFFF. Once an invalid octet has been
// seen the validator stays in the rejected state until Reset.
// The zero value is ready to use.
type UTF8Validator struct {
	need     int  // continuation octets still expected for the current code point
	lo, hi   byte // allowed range of the next continuation octet
	rejected bool
	total    int // octets consumed since Reset
}

// Reset prepares the validator for a new stream.
func (v *UTF8Validator) Reset() { *v = UTF8Validator{} }

// Validate consumes p. It returns valid=false as soon as the stream so far is
// not a prefix of well-formed UTF-8, and complete=true when the stream so far
// ends on a code point boundary. An empty p changes nothing: it reports
// valid=true and whether the stream is currently complete.
func (v *UTF8Validator) Validate(p []byte) (valid, complete bool) {
	if len(p) == 0 {
		return true, !v.rejected && v.need == 0
	}
	if v.rejected {
		return false, false
	}
	for i := 0; i < len(p); i++ {
		if v.need == 0 {
			// Between code points, skip ASCII eight octets at a time.
			for i+8 <= len(p) && binary.LittleEndian.Uint64(p[i:])&0x8080808080808080 == 0 {
				i += 8
			}
			for i < len(p) && p[i] < 0x80 {
				i++
			}
			if i == len(p) {
				break
			}
		}
		if !v.step(p[i]) {
			v.rejected = true
			v.total += i
			return false, false
		}
	}
	v.total += len(p)
	return true, v.need == 0
}

// Offset returns the number of octets accepted since Reset (the index of the
// offending octet once the stream has been rejected).
func (v *UTF8Validator) Offset() int { return v.total }

// Complete reports whether the stream so far is valid and ends on a code
// point boundary.
func (v *UTF8Validator) Complete() bool { return !v.rejected && v.need == 0 }

func (v *UTF8Validator) step(c byte) bool {
	if v.need > 0 {
		if c < v.lo || c > v.hi {
			return false
		}
		v.need--
		v.lo, v.hi = 0x80, 0xbf
		return true
	}
	v.lo, v.hi = 0x80, 0xbf
	switch {
	case c < 0x80:
		return true
	case c >= 0xc2 && c <= 0xdf:
		v.need = 1
	case c == 0xe0:
		v.need, v.lo = 2, 0xa0 // no overlong three-octet forms
	case c == 0xed:
		v.need, v.hi = 2, 0x9f // no UTF-16 surrogates
	case c >= 0xe1 && c <= 0xef:
		v.need = 2
	case c == 0xf0:
		v.need, v.lo = 3, 0x90 // no overlong four-octet forms
	case c >= 0xf1 && c <= 0xf3:
		v.need = 3
	case c == 0xf4:
		v.need, v.hi = 3, 0x8f // nothing above U+10FFFF
	default:
		return false
	}
	return true
}

// ValidUTF8 reports whether p is complete, well-formed UTF-8.
func ValidUTF8(p []byte) bool {
	var v UTF8Validator
	ok, complete := v.Validate(p)
	return ok && complete
}
