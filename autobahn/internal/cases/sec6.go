package cases

import (
	"encoding/hex"
	"fmt"

	"github.com/wsforge/websocket/autobahn/internal/wire"
)

// Section 6: UTF-8 handling.
func init() {
	empty := b("")
	register(
		&Case{
			ID: "6.1.1", Description: "An empty text message.", Expectation: expEcho,
			Expected: ok(Msg(empty, false)),
			Script: func(r *Run) {
				r.Send(fr(wire.OpText, empty))
				r.CloseAfter(1)
			},
		},
		&Case{
			ID: "6.1.2", Description: "A text message in three empty fragments.", Expectation: expEcho,
			Expected: ok(Msg(empty, false)),
			Script: func(r *Run) {
				r.Send(fr(wire.OpText, empty, noFin))
				r.Send(fr(wire.OpContinuation, empty, noFin))
				r.Send(fr(wire.OpContinuation, empty))
				r.CloseAfter(1)
			},
		},
		&Case{
			ID: "6.1.3", Description: "A text message in three fragments, only the middle one non-empty.", Expectation: expEcho,
			Expected: ok(Msg(b("middle frame payload"), false)),
			Script: func(r *Run) {
				r.Send(fr(wire.OpText, empty, noFin))
				r.Send(fr(wire.OpContinuation, b("middle frame payload"), noFin))
				r.Send(fr(wire.OpContinuation, empty))
				r.CloseAfter(1)
			},
		},
	)

	hello := "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!" // "Hello-µ@ßöäüàá-UTF-8!!"
	kosme := "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
	echoUTF8 := func(id, desc string, payload string, send func(r *Run)) *Case {
		return &Case{
			ID: id, Description: fmt.Sprintf("%s Payload: %x.", desc, payload), Expectation: expEcho,
			Expected: ok(Msg(b(payload), false)),
			Script: func(r *Run) {
				send(r)
				r.CloseAfter(1)
			},
		}
	}
	register(
		echoUTF8("6.2.1", "A valid UTF-8 text message in one frame.", hello, func(r *Run) { r.SendMessage(b(hello), false, 0) }),
		echoUTF8("6.2.2", "A valid UTF-8 text message in two frames split on a code point boundary.", hello, func(r *Run) {
			r.Send(fr(wire.OpText, b(hello[:15]), noFin))
			r.Send(fr(wire.OpContinuation, b(hello[15:])))
		}),
		echoUTF8("6.2.3", "A valid UTF-8 text message in one-octet frames, so frames end inside code points.", hello, func(r *Run) {
			r.SendMessage(b(hello), false, 1)
		}),
		echoUTF8("6.2.4", "A valid UTF-8 text message in one-octet frames, so frames end inside code points.", kosme, func(r *Run) {
			r.SendMessage(b(kosme), false, 1)
		}),
	)

	badText := b(kosme + "\xed\xa0\x80" + "edited")
	for i, frag := range []int{0, 1} {
		frag := frag
		how := "in one frame"
		if frag == 1 {
			how = "in one-octet frames"
		}
		register(&Case{
			ID:          fmt.Sprintf("6.3.%d", i+1),
			Description: fmt.Sprintf("A text message that is not valid UTF-8 (a surrogate in the middle), %s. Payload: %x.", how, badText),
			Expectation: expFail1007,
			Expected:    ok(),
			Script: func(r *Run) {
				r.SendMessage(badText, false, frag)
				r.KillAfter(1)
			},
		})
	}

	registerFailFast()

	for gi, g := range utf8Groups() {
		for pi, pl := range g.payloads {
			pl := pl
			c := &Case{
				ID:          fmt.Sprintf("6.%d.%d", gi+5, pi+1),
				Description: fmt.Sprintf("A text message in one frame, %s: %s.", g.topic, hexOrEmpty(pl.data)),
				Script: func(r *Run) {
					r.SendMessage(pl.data, false, 0)
					r.KillAfter(0.5)
				},
			}
			if pl.valid {
				c.Expectation = expEcho
				c.Expected = ok(Msg(pl.data, false))
			} else {
				c.Expectation = expFail1007
				c.Expected = ok()
			}
			register(c)
		}
	}
}

func hexOrEmpty(p []byte) string {
	if len(p) == 0 {
		return "(empty)"
	}
	return "0x" + hex.EncodeToString(p)
}

// registerFailFast adds 6.4.1 to 6.4.4: an invalid text message delivered in
// three parts with one second pauses. A testee that validates incrementally
// fails the connection on the second part, before the second pause ends.
func registerFailFast() {
	part1 := b("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5") // valid
	part2 := b("\xf4\x90\x80\x80")                             // U+110000 encoded: invalid
	part3 := b("edited")
	whole := append(append(append([]byte(nil), part1...), part2...), part3...)
	const exp = "The first part is accepted, so the first pause ends (timeout A). The testee must fail the connection with 1007 as soon as the second part arrives; failing only after the second pause (timeout B) is NON-STRICT."
	outcomes := []Outcome{
		{Verdict: OK, Events: []Event{Timeout("A")}},
		{Verdict: NonStrict, Events: []Event{Timeout("A"), Timeout("B")}},
	}
	// Split points: the invalid code point as a whole, or up to the first octet
	// that makes the message invalid.
	splits := [][3][]byte{
		{part1, part2, part3},
		{whole[:12], whole[12:13], whole[13:]},
	}
	for i, sp := range splits {
		sp := sp
		// 6.4.1 / 6.4.2: three frames.
		register(&Case{
			ID:          fmt.Sprintf("6.4.%d", 1+i),
			Description: fmt.Sprintf("An invalid text message in three frames %x | %x | %x, with a one second pause after the first and the second frame.", sp[0], sp[1], sp[2]),
			Expectation: exp,
			Expected:    outcomes,
			Script: func(r *Run) {
				r.Send(fr(wire.OpText, sp[0], noFin))
				r.ContinueLater(1, "A", func() {
					if !r.IsOpen() {
						return
					}
					r.Mark("A")
					r.Send(fr(wire.OpContinuation, sp[1], noFin))
					r.ContinueLater(1, "B", func() {
						if !r.IsOpen() {
							return
						}
						r.Mark("B")
						r.Send(fr(wire.OpContinuation, sp[2]))
						r.KillAfter(1)
					})
				})
			},
		})
		// 6.4.3 / 6.4.4: the same parts as pieces of one frame.
		register(&Case{
			ID:          fmt.Sprintf("6.4.%d", 3+i),
			Description: fmt.Sprintf("An invalid text message as one frame (FIN unset, then an empty final continuation) whose payload is written in three pieces %x | %x | %x with one second pauses.", sp[0], sp[1], sp[2]),
			Expectation: exp,
			Expected:    outcomes,
			Script: func(r *Run) {
				s := r.P.BeginStream(len(whole))
				s.Part(sp[0])
				r.ContinueLater(1, "A", func() {
					if !r.IsOpen() {
						return
					}
					r.Mark("A")
					s.Part(sp[1])
					r.ContinueLater(1, "B", func() {
						if !r.IsOpen() {
							return
						}
						r.Mark("B")
						s.Part(sp[2])
						s.End()
						r.KillAfter(1)
					})
				})
			},
		})
	}
}
