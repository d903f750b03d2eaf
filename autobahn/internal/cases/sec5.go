package cases

import (
	"fmt"

	"github.com/wsforge/websocket/autobahn/internal/fuzz"
	"github.com/wsforge/websocket/autobahn/internal/wire"
)

// Section 5: fragmentation.
func init() {
	f1, f2 := b("fragment1"), b("fragment2")
	fail := func(id, desc string, frames ...frameSpec) *Case {
		return &Case{ID: id, Description: desc, Expectation: expFail1002, Expected: ok(), Script: func(r *Run) {
			for _, f := range frames {
				r.Send(f.frame())
			}
			r.KillAfter(1)
		}}
	}
	register(
		fail("5.1", "A ping split into two fragments (ping without FIN, then a continuation).",
			frameSpec{wire.OpPing, false, f1}, frameSpec{wire.OpContinuation, true, f2}),
		fail("5.2", "A pong split into two fragments (pong without FIN, then a continuation).",
			frameSpec{wire.OpPong, false, f1}, frameSpec{wire.OpContinuation, true, f2}),
	)

	modes := []int{0, -1, 1}
	for i, mode := range modes {
		mode := mode
		register(&Case{
			ID:          fmt.Sprintf("5.%d", 3+i),
			Description: "A text message in two fragments" + deliveryText(mode) + ".",
			Expectation: expEcho,
			Expected:    ok(Msg(b("fragment1fragment2"), false)),
			Script: func(r *Run) {
				d := delivery(mode)
				r.Send(fr(wire.OpText, f1, append(d, noFin)...))
				r.Send(fr(wire.OpContinuation, f2, d...))
				r.CloseAfter(1)
			},
		})
	}
	for i, mode := range modes {
		mode := mode
		register(&Case{
			ID:          fmt.Sprintf("5.%d", 6+i),
			Description: "A text message in two fragments with a ping between them" + deliveryText(mode) + ".",
			Expectation: "The testee answers the ping at once, then echoes the reassembled message; clean close 1000.",
			Expected:    ok(Pong(b("ping payload")), Msg(b("fragment1fragment2"), false)),
			Script: func(r *Run) {
				d := delivery(mode)
				r.Send(fr(wire.OpText, f1, append(d, noFin)...))
				r.Send(fr(wire.OpPing, b("ping payload"), d...))
				r.Send(fr(wire.OpContinuation, f2, d...))
				r.CloseAfter(1)
			},
		})
	}
	// A continuation frame with nothing to continue, then a text message.
	for j, fin := range []bool{true, false} {
		for i, mode := range modes {
			mode, fin := mode, fin
			register(&Case{
				ID:          fmt.Sprintf("5.%d", 9+3*j+i),
				Description: fmt.Sprintf("A continuation frame (FIN=%v) with nothing to continue, then a text message%s.", fin, deliveryText(mode)),
				Expectation: expFail1002,
				Expected:    ok(),
				Script: func(r *Run) {
					d := delivery(mode)
					first := fr(wire.OpContinuation, b("non-continuation payload"), d...)
					first.Fin = fin
					r.Send(first)
					r.Send(fr(wire.OpText, b("Hello, world!"), d...))
					r.KillAfter(1)
				},
			})
		}
	}
	register(&Case{
		ID:          "5.15",
		Description: "A text message in two fragments, then a continuation frame without FIN with nothing to continue, then a text frame.",
		Expectation: "The testee echoes the first message, then fails the connection with 1002 (failing before the echo is NON-STRICT).",
		Expected:    okOrNonStrict(Msg(b("fragment1fragment2"), false)),
		Script: func(r *Run) {
			r.Send(fr(wire.OpText, f1, noFin))
			r.Send(fr(wire.OpContinuation, f2))
			r.Send(fr(wire.OpContinuation, b("fragment3"), noFin))
			r.Send(fr(wire.OpText, b("fragment4")))
			r.KillAfter(1)
		},
	})
	for i, fin := range []bool{false, true} {
		var frames []frameSpec
		for k := 0; k < 2; k++ {
			frames = append(frames, frameSpec{wire.OpContinuation, fin, f1}, frameSpec{wire.OpText, false, f2}, frameSpec{wire.OpContinuation, true, b("fragment3")})
		}
		register(fail(fmt.Sprintf("5.%d", 16+i),
			fmt.Sprintf("Twice: a continuation frame (FIN=%v) with nothing to continue, then a text message in two fragments.", fin),
			frames...))
	}
	register(fail("5.18", "A text message in two fragments whose second frame also carries the text opcode.",
		frameSpec{wire.OpText, false, f1}, frameSpec{wire.OpText, true, f2}))

	// 5.19 / 5.20: pings between fragments, with a one second pause.
	for i, sync := range []bool{false, true} {
		sync := sync
		desc := "A text message in five fragments: two fragments and a ping, a one second pause, then two fragments, a second ping and the last fragment"
		if sync {
			desc += ", every frame pushed to the socket on its own"
		}
		frags := [][]byte{f1, f2, b("fragment3"), b("fragment4"), b("fragment5")}
		pings := [][]byte{b("pongme 1!"), b("pongme 2!")}
		register(&Case{
			ID:          fmt.Sprintf("5.%d", 19+i),
			Description: desc + ".",
			Expectation: "The testee answers each ping at once (the first one before the message is complete) and then echoes the whole message; clean close 1000.",
			Expected:    ok(Pong(pings[0]), Pong(pings[1]), Msg(b("fragment1fragment2fragment3fragment4fragment5"), false)),
			Script: func(r *Run) {
				send := func(op byte, fin bool, p []byte) {
					f := fr(op, p)
					f.Fin, f.Sync = fin, sync
					r.Send(f)
				}
				send(wire.OpText, false, frags[0])
				send(wire.OpContinuation, false, frags[1])
				send(wire.OpPing, true, pings[0])
				r.ContinueLater(1, "", func() {
					send(wire.OpContinuation, false, frags[2])
					send(wire.OpContinuation, false, frags[3])
					send(wire.OpPing, true, pings[1])
					send(wire.OpContinuation, true, frags[4])
					r.CloseAfter(1)
				})
			},
		})
	}
}

// frameSpec is a compact frame description for the tables above.
type frameSpec struct {
	op      byte
	fin     bool
	payload []byte
}

func (s frameSpec) frame() fuzz.Frame {
	f := fr(s.op, s.payload)
	f.Fin = s.fin
	return f
}
