package cases

import (
	"fmt"

	"github.com/wsforge/websocket/autobahn/internal/wire"
)

// Section 1: framing of text and binary messages of growing length.
func init() {
	sizes := []struct {
		n    int
		chop int
		kill float64
	}{{0, 0, 1}, {125, 0, 1}, {126, 0, 1}, {127, 0, 1}, {128, 0, 1}, {65535, 0, 10}, {65536, 0, 10}, {65536, 997, 10}}
	for sub, kind := range []struct {
		binary bool
		fill   byte
		name   string
	}{{false, '*', "text"}, {true, 0xfe, "binary"}} {
		for i, s := range sizes {
			payload := fill(kind.fill, s.n)
			op := byte(wire.OpText)
			if kind.binary {
				op = wire.OpBinary
			}
			desc := fmt.Sprintf("One %s message of %d octets in a single frame", kind.name, s.n)
			if s.chop > 0 {
				desc += fmt.Sprintf(", the frame written in %d-octet pieces", s.chop)
			}
			s := s
			register(&Case{
				ID:          fmt.Sprintf("1.%d.%d", sub+1, i+1),
				Description: desc + ".",
				Expectation: expEcho,
				Expected:    ok(Msg(payload, kind.binary)),
				Script: func(r *Run) {
					r.Send(fr(op, payload, chop(s.chop)))
					r.KillAfter(s.kill)
				},
			})
		}
	}
}

// Section 2: pings and pongs.
func init() {
	pingCase := func(id, desc string, payload []byte, chopSize int, closeAfter float64) *Case {
		return &Case{
			ID:          id,
			Description: desc,
			Expectation: "The testee answers with a pong carrying the same payload; the runner then closes with 1000 cleanly.",
			Expected:    ok(Pong(payload)),
			Script: func(r *Run) {
				r.Send(fr(wire.OpPing, payload, chop(chopSize)))
				r.CloseAfter(closeAfter)
			},
		}
	}
	register(
		pingCase("2.1", "A ping without payload.", b(""), 0, 1),
		pingCase("2.2", "A ping with a short text payload.", b("Hello, world!"), 0, 1),
		pingCase("2.3", "A ping with a short payload that is not UTF-8.", b("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"), 0, 1),
		pingCase("2.4", "A ping with the largest allowed payload, 125 octets.", fill(0xfe, 125), 0, 1),
		&Case{
			ID:          "2.5",
			Description: "A ping with a 126-octet payload, one more than control frames may carry.",
			Expectation: expFail1002,
			Expected:    ok(),
			Script: func(r *Run) {
				r.Send(fr(wire.OpPing, fill(0xfe, 126)))
				r.KillAfter(1)
			},
		},
		pingCase("2.6", "A ping with a 125-octet payload, written one octet at a time.", fill(0xfe, 125), 1, 2),
	)
	unsolicited := func(id string, payload []byte) *Case {
		return &Case{
			ID:          id,
			Description: fmt.Sprintf("An unsolicited pong (%d payload octets), directly followed by a close 1000.", len(payload)),
			Expectation: "The testee ignores the pong and completes the closing handshake cleanly with 1000.",
			Expected:    ok(),
			Script: func(r *Run) {
				r.Send(fr(wire.OpPong, payload))
				r.P.SendClose(1000, "")
				r.CloseAfter(1)
			},
		}
	}
	register(unsolicited("2.7", nil), unsolicited("2.8", b("unsolicited pong payload")))
	register(&Case{
		ID:          "2.9",
		Description: "An unsolicited pong, then a ping with payload.",
		Expectation: "The testee ignores the pong and answers the ping with a matching pong; clean close 1000.",
		Expected:    ok(Pong(b("ping payload"))),
		Script: func(r *Run) {
			r.Send(fr(wire.OpPong, b("unsolicited pong payload")))
			r.Send(fr(wire.OpPing, b("ping payload")))
			r.CloseAfter(1)
		},
	})
	tenPings := func(id string, chopSize int) *Case {
		var events []Event
		for i := 0; i < 10; i++ {
			events = append(events, Pong(b(fmt.Sprintf("payload-%d", i))))
		}
		return &Case{
			ID:          id,
			Description: "Ten pings in a row with payloads payload-0 ... payload-9" + deliveryText(chopSize) + ".",
			Expectation: "The testee answers every ping with its own pong, in order (the suite checks this although the RFC allows skipping pongs); clean close 1000.",
			Expected:    ok(events...),
			Script: func(r *Run) {
				for _, e := range events {
					r.Send(fr(wire.OpPing, e.Payload, chop(chopSize)))
				}
				r.CloseAfter(3)
			},
		}
	}
	register(tenPings("2.10", 0), tenPings("2.11", 1))
}

// Sections 3 and 4: reserved bits and reserved opcodes.
func init() {
	hello := b("Hello, world!")
	single := func(id, desc string, f func(r *Run)) *Case {
		return &Case{ID: id, Description: desc, Expectation: expFail1002, Expected: ok(), Script: func(r *Run) {
			f(r)
			r.KillAfter(1)
		}}
	}
	// A valid text message, a bad frame, then a ping; delivered as given.
	echoThenBad := func(id, desc string, badPayload []byte, badOp, badRSV byte, mode int) *Case {
		return &Case{
			ID:          id,
			Description: desc + deliveryText(mode) + ".",
			Expectation: expEchoThenErr,
			Expected:    okOrNonStrict(Msg(hello, false)),
			Script: func(r *Run) {
				d := delivery(mode)
				r.Send(fr(wire.OpText, hello, d...))
				r.Send(fr(badOp, badPayload, append(d, rsv(badRSV))...))
				r.Send(fr(wire.OpPing, nil, d...))
				r.KillAfter(1)
			},
		}
	}

	register(
		single("3.1", "A text message with RSV = 1 (no extension negotiated).", func(r *Run) {
			r.Send(fr(wire.OpText, hello, rsv(1)))
		}),
		echoThenBad("3.2", "A text message, the same message with RSV = 2, then a ping", hello, wire.OpText, 2, 0),
		echoThenBad("3.3", "A text message, the same message with RSV = 3, then a ping", hello, wire.OpText, 3, -1),
		echoThenBad("3.4", "A text message, the same message with RSV = 4, then a ping", hello, wire.OpText, 4, 1),
		single("3.5", "A binary message with RSV = 5.", func(r *Run) {
			r.Send(fr(wire.OpBinary, b("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"), rsv(5)))
		}),
		// The reference description speaks of a ping, but the frame it sends
		// is a binary data frame; the bytes on the wire are what counts.
		single("3.6", "A binary frame with RSV = 6 carrying \"Hello, world!\".", func(r *Run) {
			r.Send(fr(wire.OpBinary, hello, rsv(6)))
		}),
		single("3.7", "A close frame with RSV = 7.", func(r *Run) {
			r.Send(fr(wire.OpClose, nil, rsv(7)))
		}),
	)

	reservedPayload := b("reserved opcode payload")
	register(
		single("4.1.1", "A frame with the reserved data opcode 3.", func(r *Run) { r.Send(fr(3, nil)) }),
		single("4.1.2", "A frame with the reserved data opcode 4 and a payload.", func(r *Run) { r.Send(fr(4, reservedPayload)) }),
		echoThenBad("4.1.3", "A text message, an empty frame with reserved opcode 5, then a ping", nil, 5, 0, 0),
		echoThenBad("4.1.4", "A text message, a frame with reserved opcode 6 and a payload, then a ping", hello, 6, 0, 0),
		echoThenBad("4.1.5", "A text message, a frame with reserved opcode 7 and a payload, then a ping", hello, 7, 0, 1),
		single("4.2.1", "A frame with the reserved control opcode 11.", func(r *Run) { r.Send(fr(11, nil)) }),
		single("4.2.2", "A frame with the reserved control opcode 12 and a payload.", func(r *Run) { r.Send(fr(12, reservedPayload)) }),
		echoThenBad("4.2.3", "A text message, an empty frame with reserved opcode 13, then a ping", nil, 13, 0, 0),
		echoThenBad("4.2.4", "A text message, a frame with reserved opcode 14 and a payload, then a ping", hello, 14, 0, 0),
		echoThenBad("4.2.5", "A text message, a frame with reserved opcode 15 and a payload, then a ping", hello, 15, 0, 1),
	)
}
