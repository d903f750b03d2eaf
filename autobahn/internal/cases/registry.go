package cases

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/wsforge/websocket/autobahn/internal/catalogue"
	"github.com/wsforge/websocket/autobahn/internal/fuzz"
)

var (
	registryMu sync.Mutex
	registry   = map[string]*Case{}
)

// register adds cases to the registry; ids must be unique.
func register(cs ...*Case) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, c := range cs {
		if _, dup := registry[c.ID]; dup {
			panic("cases: duplicate case id " + c.ID)
		}
		registry[c.ID] = c
	}
}

// Lookup returns the case with the given id.
func Lookup(id string) (*Case, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	c, ok := registry[id]
	return c, ok
}

// Implemented returns the ids of all implemented cases in suite order.
func Implemented() []string {
	registryMu.Lock()
	ids := make([]string, 0, len(registry))
	for id := range registry {
		ids = append(ids, id)
	}
	registryMu.Unlock()
	catalogue.SortIDs(ids)
	return ids
}

// --- helpers for the case tables ---

// frameOpt modifies a frame built by fr.
type frameOpt func(*fuzz.Frame)

// fr builds a final (FIN set) frame.
func fr(op byte, payload []byte, opts ...frameOpt) fuzz.Frame {
	f := fuzz.Frame{Opcode: op, Fin: true, Payload: payload}
	for _, o := range opts {
		o(&f)
	}
	return f
}

var (
	noFin  frameOpt = func(f *fuzz.Frame) { f.Fin = false }
	synced frameOpt = func(f *fuzz.Frame) { f.Sync = true }
)

func rsv(n byte) frameOpt     { return func(f *fuzz.Frame) { f.RSV = n } }
func chop(n int) frameOpt     { return func(f *fuzz.Frame) { f.Chop = n } }
func repeatTo(n int) frameOpt { return func(f *fuzz.Frame) { f.RepeatTo = n } }

// delivery returns the option for the three ways of writing a frame the suite
// uses: in one go (0), frame-wise synchronised (-1), or chopped into n-octet
// pieces (n > 0).
func delivery(mode int) []frameOpt {
	switch {
	case mode < 0:
		return []frameOpt{synced}
	case mode > 0:
		return []frameOpt{chop(mode)}
	}
	return nil
}

func deliveryText(mode int) string {
	switch {
	case mode < 0:
		return ", each frame pushed to the socket on its own"
	case mode == 1:
		return ", written one octet at a time"
	case mode > 1:
		return fmt.Sprintf(", written in %d-octet pieces", mode)
	}
	return ""
}

func b(s string) []byte { return []byte(s) }

func fill(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }

func ok(events ...Event) []Outcome { return []Outcome{{Verdict: OK, Events: events}} }

// okOrNonStrict: the listed events are OK; receiving nothing is NON-STRICT.
func okOrNonStrict(events ...Event) []Outcome {
	return []Outcome{{Verdict: OK, Events: events}, {Verdict: NonStrict, Events: []Event{}}}
}

// Expectation texts shared by many cases.
const (
	expEcho        = "The testee echoes the message unchanged; the runner then closes with 1000 and the closing handshake completes cleanly."
	expFail1002    = "The testee fails the connection at once: close code 1002 (protocol error) or a dropped TCP connection."
	expFail1007    = "The testee fails the connection at once: close code 1007 (invalid payload data) or a dropped TCP connection."
	expEchoThenErr = "The testee echoes the first message, then fails the connection with 1002 and does not answer the ping (an early failure without the echo is NON-STRICT)."
)

// hookWrongCodeFails makes a wrong close code fail the case's behaviour too,
// as the reference close-handling cases do.
func hookWrongCodeFails(r *Run) {
	r.afterLost = append(r.afterLost, func(r *Run) {
		if r.BehaviorClose == WrongCode {
			r.Behavior = Failed
			r.Result = r.ResultClose
		}
	})
}
