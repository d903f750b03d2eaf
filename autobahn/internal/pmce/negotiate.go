// Package pmce is the conformance runner's own permessage-deflate (RFC 7692):
// the extension negotiation in the terms of the reference suite (client
// offers, server accepts, server responses) and a compressor and decompressor
// for the runner's side of a connection.
//
// It is deliberately independent of the library under test: the runner must
// be able to judge wsforge, so it shares no code with it.
package pmce

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Name is the extension token of permessage-deflate.
const Name = "permessage-deflate"

// Param is one extension parameter; Value is "" when HasValue is false.
type Param struct {
	Name     string
	Value    string
	HasValue bool
}

// Extension is one element of a Sec-WebSocket-Extensions header.
type Extension struct {
	Name   string
	Params []Param
}

// ParseHeader parses the values of Sec-WebSocket-Extensions header fields
// (RFC 6455 §9.1): comma separated elements, each a token followed by
// semicolon separated parameters, values being tokens or quoted strings.
func ParseHeader(values []string) ([]Extension, error) {
	var out []Extension
	for _, v := range values {
		s := v
		for {
			s = strings.TrimLeft(s, " \t")
			if s == "" {
				break
			}
			if s[0] == ',' { // empty list element
				s = s[1:]
				continue
			}
			var e Extension
			var err error
			if e.Name, s, err = token(s); err != nil {
				return nil, fmt.Errorf("extension name: %w", err)
			}
			for {
				s = strings.TrimLeft(s, " \t")
				if s == "" || s[0] == ',' {
					break
				}
				if s[0] != ';' {
					return nil, fmt.Errorf("unexpected %q after extension %s", s[0], e.Name)
				}
				s = strings.TrimLeft(s[1:], " \t")
				var p Param
				if p.Name, s, err = token(s); err != nil {
					return nil, fmt.Errorf("parameter of %s: %w", e.Name, err)
				}
				s = strings.TrimLeft(s, " \t")
				if s != "" && s[0] == '=' {
					p.HasValue = true
					s = strings.TrimLeft(s[1:], " \t")
					if s != "" && s[0] == '"' {
						p.Value, s, err = quoted(s)
					} else {
						p.Value, s, err = token(s)
					}
					if err != nil {
						return nil, fmt.Errorf("value of %s: %w", p.Name, err)
					}
				}
				e.Params = append(e.Params, p)
			}
			out = append(out, e)
		}
	}
	return out, nil
}

func isTokenChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	return !strings.ContainsRune("()<>@,;:\\\"/[]?={}", rune(c))
}

func token(s string) (string, string, error) {
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	if i == 0 {
		return "", s, errors.New("token expected")
	}
	return s[:i], s[i:], nil
}

// quoted reads a quoted string whose content must be a token (RFC 6455 §9.1).
func quoted(s string) (string, string, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			v := b.String()
			if _, rest, err := token(v); err != nil || rest != "" {
				return "", s, fmt.Errorf("quoted value %q is not a token", v)
			}
			return v, s[i+1:], nil
		case '\\':
			if i+1 == len(s) {
				return "", s, errors.New("unterminated quoted string")
			}
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", s, errors.New("unterminated quoted string")
}

// windowBits parses a max_window_bits value: a decimal between 8 and 15
// without leading zeros (RFC 7692 §7.1.2).
func windowBits(v string) (int, bool) {
	if v == "" || len(v) > 2 || v[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 8 || n > 15 {
		return 0, false
	}
	return n, true
}

// Offer is a client's permessage-deflate offer, in the reference suite's
// terms.
type Offer struct {
	// AcceptNoContextTakeover: the client lets the server require
	// client_no_context_takeover (sent as client_no_context_takeover).
	AcceptNoContextTakeover bool
	// AcceptMaxWindowBits: the client lets the server limit the client's
	// window (sent as client_max_window_bits without a value).
	AcceptMaxWindowBits bool
	// RequestNoContextTakeover asks the server not to keep its context
	// between messages (server_no_context_takeover).
	RequestNoContextTakeover bool
	// RequestMaxWindowBits, when not 0, limits the server's window
	// (server_max_window_bits=N).
	RequestMaxWindowBits int
	// ClientMaxWindowBits is the value of client_max_window_bits when the
	// testee sent one (0 when absent or without value); the reference suite
	// ignores it.
	ClientMaxWindowBits int
}

// DefaultOffer is the reference suite's default client offer.
func DefaultOffer() Offer { return Offer{AcceptNoContextTakeover: true, AcceptMaxWindowBits: true} }

// Requesting is a default offer that also asks for the given server context
// takeover and window limit (0: none).
func Requesting(noContextTakeover bool, maxWindowBits int) Offer {
	o := DefaultOffer()
	o.RequestNoContextTakeover, o.RequestMaxWindowBits = noContextTakeover, maxWindowBits
	return o
}

// String renders the offer as a Sec-WebSocket-Extensions element.
func (o Offer) String() string {
	s := Name
	if o.AcceptNoContextTakeover {
		s += "; client_no_context_takeover"
	}
	if o.AcceptMaxWindowBits {
		s += "; client_max_window_bits"
	}
	if o.RequestNoContextTakeover {
		s += "; server_no_context_takeover"
	}
	if o.RequestMaxWindowBits != 0 {
		s += "; server_max_window_bits=" + strconv.Itoa(o.RequestMaxWindowBits)
	}
	return s
}

// ParseOffer reads a client's permessage-deflate offer. Like the reference
// suite, a server may always require client_no_context_takeover (RFC 7692
// §7.1.1.2), so AcceptNoContextTakeover is always true.
func ParseOffer(e Extension) (Offer, error) {
	o := Offer{AcceptNoContextTakeover: true}
	if e.Name != Name {
		return o, fmt.Errorf("not %s: %s", Name, e.Name)
	}
	seen := map[string]bool{}
	for _, p := range e.Params {
		if seen[p.Name] {
			return o, fmt.Errorf("parameter %s given twice", p.Name)
		}
		seen[p.Name] = true
		switch p.Name {
		case "client_max_window_bits":
			o.AcceptMaxWindowBits = true
			if p.HasValue {
				bits, ok := windowBits(p.Value)
				if !ok {
					return o, fmt.Errorf("invalid client_max_window_bits %q", p.Value)
				}
				o.ClientMaxWindowBits = bits
			}
		case "client_no_context_takeover", "server_no_context_takeover":
			if p.HasValue {
				return o, fmt.Errorf("parameter %s takes no value", p.Name)
			}
			if p.Name == "server_no_context_takeover" {
				o.RequestNoContextTakeover = true
			}
		case "server_max_window_bits":
			bits, ok := windowBits(p.Value)
			if !p.HasValue || !ok {
				return o, fmt.Errorf("invalid server_max_window_bits %q", p.Value)
			}
			o.RequestMaxWindowBits = bits
		default:
			return o, fmt.Errorf("unknown parameter %s", p.Name)
		}
	}
	return o, nil
}

// Accept is a server's acceptance of one offer, in the reference suite's
// terms: it grants what the offer requested and may request context
// takeover and window limits of the client.
type Accept struct {
	Offer Offer
	// RequestNoContextTakeover requires client_no_context_takeover.
	RequestNoContextTakeover bool
	// RequestMaxWindowBits, when not 0, limits the client's window.
	RequestMaxWindowBits int
}

// String renders the response element.
func (a Accept) String() string {
	s := Name
	if a.Offer.RequestNoContextTakeover {
		s += "; server_no_context_takeover"
	}
	if a.Offer.RequestMaxWindowBits != 0 {
		s += "; server_max_window_bits=" + strconv.Itoa(a.Offer.RequestMaxWindowBits)
	}
	if a.RequestNoContextTakeover {
		s += "; client_no_context_takeover"
	}
	if a.RequestMaxWindowBits != 0 {
		s += "; client_max_window_bits=" + strconv.Itoa(a.RequestMaxWindowBits)
	}
	return s
}

// Params are the server's side of the accepted extension.
func (a Accept) Params() Params {
	return Params{
		SendNoContextTakeover: a.Offer.RequestNoContextTakeover,
		SendWindowBits:        orMax(a.Offer.RequestMaxWindowBits),
		RecvNoContextTakeover: a.RequestNoContextTakeover,
		RecvWindowBits:        orMax(a.RequestMaxWindowBits),
	}
}

// Response is a server's answer to the runner's offers.
type Response struct {
	ServerNoContextTakeover bool
	ServerMaxWindowBits     int // 0: absent
	ClientNoContextTakeover bool
	ClientMaxWindowBits     int // 0: absent
}

// ParseResponse reads a server's permessage-deflate response and checks it
// against the offers made: RFC 7692 requires it to fit one of them.
func ParseResponse(e Extension, offers []Offer) (Response, error) {
	var r Response
	if e.Name != Name {
		return r, fmt.Errorf("the server accepted extension %s, which was not offered", e.Name)
	}
	seen := map[string]bool{}
	for _, p := range e.Params {
		if seen[p.Name] {
			return r, fmt.Errorf("parameter %s given twice", p.Name)
		}
		seen[p.Name] = true
		switch p.Name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if p.HasValue {
				return r, fmt.Errorf("parameter %s takes no value", p.Name)
			}
			if p.Name == "server_no_context_takeover" {
				r.ServerNoContextTakeover = true
			} else {
				r.ClientNoContextTakeover = true
			}
		case "server_max_window_bits", "client_max_window_bits":
			bits, ok := windowBits(p.Value)
			if !p.HasValue || !ok {
				return r, fmt.Errorf("invalid %s %q", p.Name, p.Value)
			}
			if p.Name == "server_max_window_bits" {
				r.ServerMaxWindowBits = bits
			} else {
				r.ClientMaxWindowBits = bits
			}
		default:
			return r, fmt.Errorf("unknown parameter %s", p.Name)
		}
	}
	var why error
	for _, o := range offers {
		if why = r.fits(o); why == nil {
			return r, nil
		}
	}
	return r, why
}

// fits checks a response against one offer (RFC 7692 §7.1.1.1, §7.1.2).
func (r Response) fits(o Offer) error {
	switch {
	case o.RequestNoContextTakeover && !r.ServerNoContextTakeover:
		return errors.New("server_no_context_takeover was requested but not granted")
	case o.RequestMaxWindowBits != 0 && (r.ServerMaxWindowBits == 0 || r.ServerMaxWindowBits > o.RequestMaxWindowBits):
		return fmt.Errorf("server_max_window_bits=%d was requested, the response has %d", o.RequestMaxWindowBits, r.ServerMaxWindowBits)
	case r.ClientMaxWindowBits != 0 && !o.AcceptMaxWindowBits:
		return errors.New("client_max_window_bits in the response, but not offered")
	}
	return nil
}

// Params are the client's side of the negotiated extension.
func (r Response) Params() Params {
	return Params{
		SendNoContextTakeover: r.ClientNoContextTakeover,
		SendWindowBits:        orMax(r.ClientMaxWindowBits),
		RecvNoContextTakeover: r.ServerNoContextTakeover,
		RecvWindowBits:        orMax(r.ServerMaxWindowBits),
	}
}

func orMax(bits int) int {
	if bits == 0 {
		return 15
	}
	return bits
}

// Params are the negotiated parameters from the runner's point of view.
type Params struct {
	// SendNoContextTakeover: the runner compresses each message on its own.
	SendNoContextTakeover bool
	// SendWindowBits is the window the runner's compressor may use (8-15).
	SendWindowBits int
	// RecvNoContextTakeover: the testee promised to compress each message on
	// its own, so the runner decompresses without history.
	RecvNoContextTakeover bool
	// RecvWindowBits is the window the testee may use.
	RecvWindowBits int
}

// String describes the parameters for reports.
func (p Params) String() string {
	ctx := func(no bool) string {
		if no {
			return "no context takeover"
		}
		return "context takeover"
	}
	return fmt.Sprintf("runner sends with %s, window %d bits; testee sends with %s, window %d bits",
		ctx(p.SendNoContextTakeover), p.SendWindowBits, ctx(p.RecvNoContextTakeover), p.RecvWindowBits)
}
