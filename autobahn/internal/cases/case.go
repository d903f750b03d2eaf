// Package cases implements the case catalogue of the conformance runner: the
// same case ids, traffic, timings and expectations as the Autobahn|Testsuite
// sections 1-7, 9, 10, 12 and 13, written as Go scripts that drive a fuzz.Peer.
//
// A Case is static data plus a script. Each execution gets a fresh Run, which
// is the fuzz.Handler of the connection: it records the testee's events
// (messages, pongs, and the case's own timeout markers), closes the connection
// once the expected events arrived, and derives the verdicts when the
// connection is gone, following the reference suite's rules.
package cases

import (
	"bytes"
	"fmt"
	"time"

	"github.com/wsforge/websocket/autobahn/internal/catalogue"
	"github.com/wsforge/websocket/autobahn/internal/fuzz"
	"github.com/wsforge/websocket/autobahn/internal/pmce"
)

// Verdict is the outcome of a case or of one of its aspects.
type Verdict string

// Verdicts, with the reference suite's spelling.
const (
	OK             Verdict = "OK"
	NonStrict      Verdict = "NON-STRICT"
	Failed         Verdict = "FAILED"
	WrongCode      Verdict = "WRONG CODE"
	Unclean        Verdict = "UNCLEAN"
	FailedByClient Verdict = "FAILED BY CLIENT"
	Informational  Verdict = "INFORMATIONAL"
	Unimplemented  Verdict = "UNIMPLEMENTED"
)

// Event kinds recorded by a run.
const (
	KindMessage = "message"
	KindPong    = "pong"
	KindTimeout = "timeout"
)

// Event is something the testee did (or a timeout the case marked).
type Event struct {
	Kind    string
	Payload []byte // message and pong payload
	Binary  bool   // message type
	Label   string // timeout label
}

func (e Event) equal(o Event) bool {
	return e.Kind == o.Kind && e.Binary == o.Binary && e.Label == o.Label && bytes.Equal(e.Payload, o.Payload)
}

// Msg returns a message event.
func Msg(payload []byte, binary bool) Event {
	return Event{Kind: KindMessage, Payload: payload, Binary: binary}
}

// Pong returns a pong event.
func Pong(payload []byte) Event { return Event{Kind: KindPong, Payload: payload} }

// Timeout returns a timeout marker event.
func Timeout(label string) Event { return Event{Kind: KindTimeout, Label: label} }

// Outcome is one expected event sequence and the verdict it earns.
type Outcome struct {
	Verdict Verdict
	Events  []Event
}

// DeflateOffer describes the permessage-deflate negotiation of a case of
// sections 12 and 13: the offers the runner makes as a client, in preference
// order, and how it answers a client's offers as a server.
type DeflateOffer struct {
	Offers []pmce.Offer
	// Accept picks the offer to accept and what to request of the client;
	// nil declines compression.
	Accept func(offers []pmce.Offer) *pmce.Accept
}

// Case is one conformance case.
type Case struct {
	ID          string
	Description string // what the runner does (our own words)
	Expectation string // what a conforming testee does (our own words)
	// Expected lists the outcomes by event sequence; nil when the case judges
	// the traffic itself (section 9).
	Expected []Outcome
	// Script starts the case once the connection is open.
	Script func(r *Run)
	// Deflate is the extension negotiation the case needs, if any.
	Deflate *DeflateOffer
}

// Run is one execution of a case; it is the fuzz.Handler of the connection.
type Run struct {
	Case  *Case
	Close catalogue.Close
	P     *fuzz.Peer

	Received      []Event
	Behavior      Verdict
	BehaviorClose Verdict
	Result        string
	ResultClose   string
	Notes         []string // runner observations beyond the reference verdicts
	Observed      Observed
	Opened        bool

	suppressClose bool
	onMessage     func(r *Run, payload []byte, binary bool)
	afterLost     []func(r *Run)
	done          func(r *Run)
}

// Observed summarises everything the testee sent on the data level.
type Observed struct {
	Messages     int   `json:"messages"`
	MessageBytes int64 `json:"messageBytes"`
	Pongs        int   `json:"pongs"`
	// First holds the first few messages and pongs, rendered.
	First []string `json:"first,omitempty"`
}

// NewRun prepares an execution of c with the catalogue's close expectation.
// done, if not nil, is called when the run has finished.
func NewRun(c *Case, close catalogue.Close, done func(*Run)) *Run {
	return &Run{
		Case:          c,
		Close:         close,
		Behavior:      Failed,
		BehaviorClose: Failed,
		Result:        "Actual events differ from any expected.",
		ResultClose:   "TCP connection was dropped without close handshake",
		done:          done,
	}
}

// Open implements fuzz.Handler.
func (r *Run) Open(p *fuzz.Peer) {
	r.P = p
	r.Opened = true
	r.Case.Script(r)
}

// Message implements fuzz.Handler.
func (r *Run) Message(p *fuzz.Peer, payload []byte, binary bool) {
	r.Observed.Messages++
	r.Observed.MessageBytes += int64(len(payload))
	r.observe(fmt.Sprintf("message binary=%v len=%d %s", binary, len(payload), fuzz.Preview(payload)))
	if r.onMessage != nil {
		r.onMessage(r, payload, binary)
		return
	}
	r.Received = append(r.Received, Msg(bytes.Clone(payload), binary))
	r.finishWhenDone()
}

// Pong implements fuzz.Handler.
func (r *Run) Pong(p *fuzz.Peer, payload []byte) {
	r.Observed.Pongs++
	r.observe(fmt.Sprintf("pong len=%d %s", len(payload), fuzz.Preview(payload)))
	r.Received = append(r.Received, Pong(payload))
	r.finishWhenDone()
}

func (r *Run) observe(s string) {
	if len(r.Observed.First) < 10 {
		r.Observed.First = append(r.Observed.First, s)
	}
}

// finishWhenDone starts the closing handshake once the events received so far
// match every expected outcome (in practice: the only one).
func (r *Run) finishWhenDone() {
	for _, o := range r.Case.Expected {
		if !sameEvents(r.Received, o.Events) {
			return
		}
	}
	if r.Close.ClosedByMe && !r.suppressClose {
		r.P.SendClose(r.Close.CloseCode[0], "")
	}
}

func sameEvents(a, b []Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].equal(b[i]) {
			return false
		}
	}
	return true
}

// Lost implements fuzz.Handler: it derives the verdicts.
func (r *Run) Lost(p *fuzz.Peer) {
	for _, o := range r.Case.Expected {
		if sameEvents(r.Received, o.Events) {
			r.Behavior = o.Verdict
			r.Result = "Actual events match at least one expected."
			break
		}
	}
	res := p.Result()
	switch {
	case !r.Opened:
		r.BehaviorClose = Failed
		r.ResultClose = "The WebSocket opening handshake was never completed!"
	case r.Close.ClosedByMe != res.ClosedByMe:
		r.BehaviorClose = Failed
		r.ResultClose = "The connection was failed by the wrong endpoint"
	case r.Close.RequireClean && !res.WasClean:
		r.BehaviorClose = Unclean
		r.ResultClose = "The spec requires the connection to be failed cleanly here"
	case res.RemoteCloseCode != nil && !containsInt(r.Close.CloseCode, *res.RemoteCloseCode):
		r.BehaviorClose = WrongCode
		r.ResultClose = fmt.Sprintf("The close code should have been %s or empty", joinInts(r.Close.CloseCode))
	case !res.IsServer && res.DroppedByMe:
		r.BehaviorClose = FailedByClient
		r.ResultClose = "It is preferred that the server close the TCP connection"
	default:
		r.BehaviorClose = OK
		r.ResultClose = "Connection was properly closed"
	}
	// For the UTF-8 cases, a close by the wrong endpoint means the testee did
	// not detect the invalid payload at all.
	if r.Opened && r.Close.ClosedByWrongEndpointIsFatal && r.Close.ClosedByMe != res.ClosedByMe {
		r.Behavior = Failed
	}
	for _, f := range r.afterLost {
		f(r)
	}
	if r.done != nil {
		r.done(r)
	}
}

// Overall combines both verdicts: a case is OK only when its behaviour and its
// close behaviour are OK. Wrong close codes and unclean or wrong-endpoint
// closes fail the case; a client that had to drop the connection itself
// (server too slow to close TCP) is NON-STRICT.
func (r *Run) Overall() Verdict { return Combine(r.Behavior, r.BehaviorClose) }

// Combine is the overall verdict for a behaviour and a close behaviour.
func Combine(behavior, closeBehavior Verdict) Verdict {
	switch behavior {
	case Failed:
		return Failed
	case Informational, Unimplemented:
		return behavior
	}
	switch closeBehavior {
	case OK, Informational:
	case FailedByClient:
		return NonStrict
	default:
		return Failed
	}
	if behavior == NonStrict {
		return NonStrict
	}
	if behavior == OK {
		return OK
	}
	return Failed
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func joinInts(list []int) string {
	var b bytes.Buffer
	for i, v := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, v)
	}
	return b.String()
}

// --- actions for case scripts ---

// Send puts a frame on the wire.
func (r *Run) Send(f fuzz.Frame) { r.P.SendFrame(f) }

// SendMessage sends a data message, fragmented when frag > 0.
func (r *Run) SendMessage(payload []byte, binary bool, frag int) {
	r.P.SendMessage(payload, binary, frag)
}

// KillAfter fails the connection after d seconds.
func (r *Run) KillAfter(d float64) { r.P.KillAfter(secs(d)) }

// CloseAfter starts the closing handshake after d seconds.
func (r *Run) CloseAfter(d float64) { r.P.CloseAfter(secs(d)) }

// ContinueLater runs fn after d seconds while the connection is not closed.
func (r *Run) ContinueLater(d float64, tag string, fn func()) { r.P.ContinueLater(secs(d), tag, fn) }

// Mark records a timeout marker event.
func (r *Run) Mark(label string) { r.Received = append(r.Received, Timeout(label)) }

// IsOpen reports whether the connection is still in the OPEN state.
func (r *Run) IsOpen() bool { return r.P.State() == fuzz.StateOpen }

func secs(d float64) time.Duration { return time.Duration(d * float64(time.Second)) }

// NeverOpened derives the verdicts of a run whose opening handshake failed:
// nothing was received, and the close behaviour is a failure.
func (r *Run) NeverOpened() {
	for _, o := range r.Case.Expected {
		if sameEvents(nil, o.Events) {
			r.Behavior = o.Verdict
			r.Result = "Actual events match at least one expected."
			break
		}
	}
	r.BehaviorClose = Failed
	r.ResultClose = "The WebSocket opening handshake was never completed!"
}
