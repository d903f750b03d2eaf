package cases

import (
	"fmt"

	"github.com/wsforge/websocket/autobahn/internal/wire"
)

// Section 7: close handling.
func init() {
	hello := b("Hello World!")
	expNormal := "The testee answers with a close frame (code 1000, or none when the runner sent none) and the handshake completes cleanly; anything sent after the close is ignored."

	// closeCase registers a case whose verdict also fails on a wrong close code.
	closeCase := func(id, desc, exp string, expected []Outcome, suppress bool, script func(r *Run)) *Case {
		return &Case{ID: id, Description: desc, Expectation: exp, Expected: expected, Script: func(r *Run) {
			r.suppressClose = suppress
			hookWrongCodeFails(r)
			script(r)
			r.KillAfter(1)
		}}
	}
	register(
		closeCase("7.1.1", "A text message; the runner closes once it is echoed.", expEcho, ok(Msg(hello, false)), false, func(r *Run) {
			r.Send(fr(wire.OpText, hello))
		}),
		closeCase("7.1.2", "A close 1000 followed by a second, empty close frame.", expNormal, ok(), true, func(r *Run) {
			r.P.SendClose(1000, "")
			r.Send(fr(wire.OpClose, nil))
		}),
		closeCase("7.1.3", "A close 1000 followed by a ping.", expNormal+" No pong.", ok(), true, func(r *Run) {
			r.P.SendClose(1000, "")
			r.Send(fr(wire.OpPing, nil))
		}),
		closeCase("7.1.4", "A close 1000 followed by a text message.", expNormal+" No echo.", ok(), true, func(r *Run) {
			r.P.SendClose(1000, "")
			r.Send(fr(wire.OpText, hello))
		}),
		closeCase("7.1.5", "The first fragment of a text message, a close 1000, then the final fragment.", expNormal, ok(), true, func(r *Run) {
			r.Send(fr(wire.OpText, b("fragment1"), noFin))
			r.P.SendClose(1000, "")
			r.Send(fr(wire.OpContinuation, b("fragment2")))
		}),
	)
	register(&Case{
		ID:          "7.1.6",
		Description: "A 256 KiB text message, a short text message, a close 1000 and a ping, back to back.",
		Expectation: "Informational: whether the testee echoes the messages before it handles the close depends on the implementation.",
		Expected:    okOrNonStrict(Msg(hello, false)),
		Script: func(r *Run) {
			r.suppressClose = true
			r.afterLost = append(r.afterLost, func(r *Run) {
				switch r.Behavior {
				case OK:
					r.Result = "Text message was processed before close."
				case NonStrict:
					r.Result = "Close was processed before text message could be returned."
				}
				r.Behavior, r.BehaviorClose = Informational, Informational
			})
			r.Send(fr(wire.OpText, b("BAsd7&jh23"), repeatTo(256<<10)))
			r.Send(fr(wire.OpText, hello))
			r.P.SendClose(1000, "")
			r.Send(fr(wire.OpPing, nil))
			r.KillAfter(1)
		},
	})

	// 7.3: close frame payload lengths.
	reply1002 := "The testee fails the connection: a close 1002 in reply or a dropped TCP connection."
	register(
		closeCase("7.3.1", "A close frame with an empty payload (no code, no reason).", expNormal, ok(), true, func(r *Run) {
			r.P.SendCloseFrame(nil, nil, false)
		}),
		closeCase("7.3.2", "A close frame with a one-octet payload, which cannot hold a close code.", reply1002, ok(), true, func(r *Run) {
			r.P.SendCloseFrame(nil, b("a"), false)
		}),
		closeCase("7.3.3", "A close frame carrying only the code 1000.", expNormal, ok(), true, func(r *Run) {
			r.P.SendClose(1000, "")
		}),
		closeCase("7.3.4", "A close frame with code 1000 and a reason.", expNormal, ok(), true, func(r *Run) {
			r.P.SendClose(1000, "Hello World!")
		}),
		closeCase("7.3.5", "A close frame with code 1000 and a 123-octet reason (the maximum).", expNormal, ok(), true, func(r *Run) {
			r.P.SendClose(1000, string(fill('*', 123)))
		}),
		closeCase("7.3.6", "A close frame with code 1000 and a 124-octet reason: 126 payload octets, too long for a control frame.", reply1002, ok(), true, func(r *Run) {
			code := 1000
			r.P.SendCloseFrame(&code, fill('*', 124), false)
		}),
		closeCase("7.5.1", "A close frame with code 1000 and a reason that is not valid UTF-8.",
			"The testee fails the connection: a close 1002 or 1007 in reply, or a dropped TCP connection.", ok(), true, func(r *Run) {
				code := 1000
				r.P.SendCloseFrame(&code, b("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"), false)
			}),
	)

	// 7.7: valid close codes, 7.9: invalid close codes.
	for i, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		code := code
		register(closeCase(fmt.Sprintf("7.7.%d", i+1), fmt.Sprintf("A close frame with the valid code %d.", code),
			fmt.Sprintf("The testee completes the closing handshake cleanly, replying with 1000 or %d.", code), ok(), false, func(r *Run) {
				r.P.SendCloseFrame(&code, nil, false)
			}))
	}
	for i, code := range []int{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999} {
		code := code
		register(closeCase(fmt.Sprintf("7.9.%d", i+1), fmt.Sprintf("A close frame with the invalid code %d.", code),
			reply1002, ok(), false, func(r *Run) {
				r.P.SendCloseFrame(&code, nil, false)
			}))
	}

	// 7.13: close codes whose handling the RFC leaves open.
	for i, code := range []int{5000, 65535} {
		code := code
		register(&Case{
			ID:          fmt.Sprintf("7.13.%d", i+1),
			Description: fmt.Sprintf("A close frame with the code %d.", code),
			Expectation: "Informational: the RFC does not define what happens.",
			Expected:    ok(),
			Script: func(r *Run) {
				r.suppressClose = true
				r.afterLost = append(r.afterLost, func(r *Run) {
					r.Behavior, r.BehaviorClose = Informational, Informational
					r.Result = "Actual events are undefined by the spec."
				})
				r.P.SendCloseFrame(&code, nil, false)
				r.KillAfter(1)
			},
		})
	}
}
