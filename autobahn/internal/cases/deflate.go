package cases

import (
	"bytes"
	"crypto/sha1"
	"fmt"

	"github.com/wsforge/websocket/autobahn/internal/pmce"
)

// Sections 12 and 13 exercise permessage-deflate (RFC 7692). Each case
// negotiates the extension, then sends a number of compressed messages one
// at a time, each once the echo of the previous one came back, and checks
// every echo (type, length and content). Section 12 varies the data (five
// data sets) with the default offer; section 13 varies the negotiated
// parameters with the JSON data set. Both use the same eighteen message
// sizes and auto-fragmentation sizes.
//
// As a client (testing a server) the runner sends the case's offers; as a
// server (testing a client) it answers the testee's offers with the case's
// accept rule. A testee that does not take up the extension makes the case
// UNIMPLEMENTED, as in the reference suite.

// deflateSize is one message size row: payload length, message count, case
// timeout in seconds and auto-fragmentation size (0: one frame).
type deflateSize struct {
	length, count int
	wait          float64
	frag          int
}

var deflateSizes = []deflateSize{
	{16, 1000, 60, 0},
	{64, 1000, 60, 0},
	{256, 1000, 120, 0},
	{1024, 1000, 240, 0},
	{4096, 1000, 480, 0},
	{8192, 1000, 480, 0},
	{16384, 1000, 480, 0},
	{32768, 1000, 480, 0},
	{65536, 1000, 480, 0},
	{131072, 1000, 480, 0},
	{8192, 1000, 480, 256},
	{16384, 1000, 480, 256},
	{32768, 1000, 480, 256},
	{65536, 1000, 480, 256},
	{131072, 1000, 480, 256},
	{131072, 1000, 480, 1024},
	{131072, 1000, 480, 4096},
	{131072, 1000, 480, 32768},
}

// acceptRule is how the runner as a server answers a client's offers: the
// accepted offer, or nil to decline compression.
type acceptRule func(offers []pmce.Offer) *pmce.Accept

// acceptWith accepts the first offer that allows what the server requests
// of the client: client_no_context_takeover and a client window limit.
func acceptWith(noContextTakeover bool, windowBits int) acceptRule {
	return func(offers []pmce.Offer) *pmce.Accept {
		for _, o := range offers {
			if noContextTakeover && !o.AcceptNoContextTakeover || windowBits != 0 && !o.AcceptMaxWindowBits {
				continue
			}
			return &pmce.Accept{Offer: o, RequestNoContextTakeover: noContextTakeover, RequestMaxWindowBits: windowBits}
		}
		return nil
	}
}

// firstOf tries the rules in order.
func firstOf(rules ...acceptRule) acceptRule {
	return func(offers []pmce.Offer) *pmce.Accept {
		for _, rule := range rules {
			if a := rule(offers); a != nil {
				return a
			}
		}
		return nil
	}
}

// deflateParams is one parameter set of section 13: the client offers and
// the server's accept rule.
type deflateParams struct {
	offers []pmce.Offer
	accept acceptRule
	desc   string
}

var section13Params = []deflateParams{
	{[]pmce.Offer{pmce.Requesting(false, 0)}, acceptWith(false, 0), "the default offer, accepted as is"},
	{[]pmce.Offer{pmce.Requesting(true, 0)}, acceptWith(true, 0), "no context takeover both ways"},
	{[]pmce.Offer{pmce.Requesting(false, 9)}, acceptWith(false, 9), "512-octet windows (9 bits) both ways"},
	{[]pmce.Offer{pmce.Requesting(false, 15)}, acceptWith(false, 15), "32 KiB windows (15 bits) requested explicitly both ways"},
	{[]pmce.Offer{pmce.Requesting(true, 9)}, acceptWith(true, 9), "no context takeover and 9-bit windows both ways"},
	{[]pmce.Offer{pmce.Requesting(true, 15)}, acceptWith(true, 15), "no context takeover and 15-bit windows both ways"},
	{[]pmce.Offer{pmce.Requesting(true, 9), pmce.Requesting(true, 0), pmce.Requesting(false, 0)},
		firstOf(acceptWith(true, 9), acceptWith(true, 0), acceptWith(false, 0)),
		"three offers in preference order (no context takeover with 9-bit windows, no context takeover, default)"},
}

func init() {
	for j, c := range []*corpus{corpusJSON, corpusBitmap, corpusProse, corpusHTML, corpusPDF} {
		for i, s := range deflateSizes {
			register(deflateCase(fmt.Sprintf("12.%d.%d", j+1, i+1), c, s,
				deflateParams{[]pmce.Offer{pmce.DefaultOffer()}, acceptWith(false, 0), "the default offer"}))
		}
	}
	for j, dp := range section13Params {
		for i, s := range deflateSizes {
			register(deflateCase(fmt.Sprintf("13.%d.%d", j+1, i+1), corpusJSON, s, dp))
		}
	}
}

func deflateCase(id string, data *corpus, s deflateSize, dp deflateParams) *Case {
	frag := "in one frame each"
	if s.frag > 0 {
		frag = fmt.Sprintf("in frames of %d octets", s.frag)
	}
	return &Case{
		ID: id,
		Description: fmt.Sprintf("With permessage-deflate (%s), %d compressed messages of %d octets of the %s, %s, each sent once the previous one came back.",
			dp.desc, s.count, s.length, data.name, frag),
		Expectation: fmt.Sprintf("The testee negotiates permessage-deflate and echoes every message unchanged within %v s; the runner then closes with 1000 cleanly.", s.wait),
		Deflate:     &DeflateOffer{Offers: dp.offers, Accept: dp.accept},
		Script:      func(r *Run) { runDeflate(r, data, s) },
	}
}

func runDeflate(r *Run, data *corpus, s deflateSize) {
	if r.P.Deflate() == nil {
		r.Behavior = Unimplemented
		r.Result = "permessage-deflate was not negotiated: the testee declined the runner's offers, or made no offer this case accepts."
		r.P.SendClose(1000, "")
		return
	}
	r.P.SetAutoFragment(s.frag)
	r.Result = fmt.Sprintf("Case did not finish within %v seconds.", s.wait)
	r.afterLost = append(r.afterLost, func(r *Run) {
		if res := r.P.Result(); r.Behavior == Failed && res.FailedByMe {
			r.Result = "The runner failed the connection: " + res.FailReason
		}
	})
	r.CloseAfter(s.wait)
	snd := newRingSender(r.P.Deflater(), data.bytes(), s.length, s.count)
	var want []byte
	sendNext := func() {
		var compressed []byte
		want, compressed = snd.next()
		r.P.SendCompressed(compressed, len(want), data.binary, 0)
	}
	sendNext()
	r.onMessage = func(r *Run, payload []byte, binary bool) {
		switch {
		case binary != data.binary:
			r.Behavior = Failed
			r.Result = fmt.Sprintf("Echoed message type differs from what was sent (got binary %v, expected binary %v).", binary, data.binary)
		case len(payload) != len(want):
			r.Behavior = Failed
			r.Result = fmt.Sprintf("Echoed message length differs from what was sent (got length %d, expected length %d).", len(payload), len(want))
		case !bytes.Equal(payload, want):
			r.Behavior = Failed
			r.Result = fmt.Sprintf("Echoed message content differs from what was sent (got SHA-1 %x, expected SHA-1 %x).", sha1.Sum(payload), sha1.Sum(want))
		case snd.sent < s.count:
			sendNext()
			return
		default:
			r.Behavior = OK
			r.Result = "Received all echoed messages in time."
		}
		r.P.SendClose(1000, "")
	}
}

// ringSender produces consecutive slices of a data set, wrapping around, as
// compressed messages. The slice sequence repeats after period messages;
// once a message's compressed form depends on nothing but the message and
// the history a decompressor holds at that point (the preceding window of
// data, which repeats as well), it is kept and sent again one period later
// instead of being compressed again.
type ringSender struct {
	d      *pmce.Deflater
	data   []byte
	length int
	period int
	cache  [][]byte
	sent   int
}

// fullWindow is the history a compressor may refer back to (RFC 7692).
const fullWindow = 1 << 15

func newRingSender(d *pmce.Deflater, data []byte, length, count int) *ringSender {
	s := &ringSender{d: d, data: data, length: length, period: len(data) / length}
	if s.period < count {
		s.cache = make([][]byte, s.period)
	}
	return s
}

// next returns the next message and its compressed payload, which is valid
// until the next call.
func (s *ringSender) next() (msg, compressed []byte) {
	pos := s.sent * s.length % len(s.data)
	msg = s.data[pos : pos+s.length]
	k := -1
	if s.cache != nil {
		k = s.sent % s.period
	}
	s.sent++
	if k >= 0 && s.cache[k] != nil {
		return msg, s.cache[k]
	}
	compressed = s.d.Compress(msg)
	if k >= 0 && (s.d.NoContextTakeover() || (s.sent-1)*s.length >= fullWindow) {
		s.cache[k] = bytes.Clone(compressed)
	}
	return msg, compressed
}
