package cases

import (
	"bytes"
	"fmt"

	"github.com/wsforge/websocket/autobahn/internal/wire"
)

// Section 9: limits and performance. These cases judge the echo themselves:
// the reference suite only checks the type and length of the echoed message
// (it leaves a content check as a to-do). The runner does the same for the
// verdict and records a content mismatch as a note.
func init() {
	const (
		kib = 1 << 10
		mib = 1 << 20
	)
	textSeed, binSeed := b("BAsd7&jh23"), b("\x00\xfe\x23\xfa\xf0")
	sizes := []int{64 * kib, 256 * kib, 1 * mib, 4 * mib, 8 * mib, 16 * mib}
	waitText := []float64{10, 10, 100, 100, 100, 100}
	waitBin := []float64{10, 10, 10, 10, 100, 100}
	for i, n := range sizes {
		n := n
		register(bigEcho(fmt.Sprintf("9.1.%d", i+1), fmt.Sprintf("A text message of %s in one frame.", size(n)),
			false, n, waitText[i], repeated(textSeed, n), oneFrame(wire.OpText, 0)))
		register(bigEcho(fmt.Sprintf("9.2.%d", i+1), fmt.Sprintf("A binary message of %s in one frame.", size(n)),
			true, n, waitBin[i], repeated(binSeed, n), oneFrame(wire.OpBinary, 0)))
	}
	frags := []int{64, 256, 1 * kib, 4 * kib, 16 * kib, 64 * kib, 256 * kib, 1 * mib, 4 * mib}
	for i, frag := range frags {
		frag := frag
		register(bigEcho(fmt.Sprintf("9.3.%d", i+1), fmt.Sprintf("A 4 MiB text message in frames of %s.", size(frag)),
			false, 4*mib, 100, repeated(b("*"), 4*mib), fragmented(false, frag)))
		seed := b("*")
		if i == 0 {
			seed = b("\xfe")
		}
		register(bigEcho(fmt.Sprintf("9.4.%d", i+1), fmt.Sprintf("A 4 MiB binary message in frames of %s.", size(frag)),
			true, 4*mib, 100, repeated(seed, 4*mib), fragmented(true, frag)))
	}
	for i, c := range []int{64, 128, 256, 512, 1024, 2048} {
		register(bigEcho(fmt.Sprintf("9.5.%d", i+1), fmt.Sprintf("A 1 MiB text message in one frame, written in %d-octet pieces.", c),
			false, mib, 1000, repeated(textSeed, mib), oneFrame(wire.OpText, c)))
		register(bigEcho(fmt.Sprintf("9.6.%d", i+1), fmt.Sprintf("A 1 MiB binary message in one frame, written in %d-octet pieces.", c),
			true, mib, 1000, repeated(binSeed, mib), oneFrame(wire.OpBinary, c)))
	}
	rtt := []struct {
		n    int
		wait float64
	}{{0, 60}, {16, 60}, {64, 60}, {256, 120}, {1024, 240}, {4096, 480}}
	for i, t := range rtt {
		register(roundTrips(fmt.Sprintf("9.7.%d", i+1), false, t.n, t.wait), roundTrips(fmt.Sprintf("9.8.%d", i+1), true, t.n, t.wait))
	}
}

func size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d octets", n)
}

// repeated returns a generator of n octets made by repeating seed; payloads
// are built when a case runs, not when the table is built.
func repeated(seed []byte, n int) func() []byte {
	return func() []byte { return bytes.Repeat(seed, n/len(seed)+1)[:n] }
}

// oneFrame sends the payload as a single frame, chopped when chopSize > 0.
func oneFrame(op byte, chopSize int) func(r *Run, payload []byte) {
	return func(r *Run, payload []byte) { r.Send(fr(op, payload, chop(chopSize))) }
}

// fragmented sends the payload as a message in frames of frag octets.
func fragmented(binary bool, frag int) func(r *Run, payload []byte) {
	return func(r *Run, payload []byte) { r.SendMessage(payload, binary, frag) }
}

// bigEcho sends one large message and judges the first message that comes back.
func bigEcho(id, desc string, binary bool, n int, wait float64, gen func() []byte, send func(r *Run, payload []byte)) *Case {
	kind := "text"
	if binary {
		kind = "binary"
	}
	return &Case{
		ID:          id,
		Description: desc,
		Expectation: fmt.Sprintf("The testee echoes a %s message of the same length within %v s; the runner then closes with 1000 cleanly.", kind, wait),
		Script: func(r *Run) {
			want := gen()
			r.Result = fmt.Sprintf("Did not receive message within %v seconds.", wait)
			r.onMessage = func(r *Run, payload []byte, isBinary bool) {
				switch {
				case isBinary != binary:
					r.Result = fmt.Sprintf("Expected %s message with payload, but got the other type.", kind)
				case len(payload) != n:
					r.Result = fmt.Sprintf("Expected %s message with payload of length %d, but got %d.", kind, n, len(payload))
				default:
					r.Behavior = OK
					r.Result = fmt.Sprintf("Received %s message of length %d.", kind, len(payload))
					if !bytes.Equal(payload, want) {
						r.Notes = append(r.Notes, "echoed payload has the right length but different content")
					}
				}
				r.P.SendClose(1000, "")
			}
			send(r, want)
			r.CloseAfter(wait)
		},
	}
}

// roundTrips sends count messages one after the other, each after the echo
// of the previous one.
func roundTrips(id string, binary bool, n int, wait float64) *Case {
	const count = 1000
	kind, op, seed := "text", byte(wire.OpText), b("*")
	if binary {
		kind, op, seed = "binary", wire.OpBinary, b("\xfe")
	}
	return &Case{
		ID:          id,
		Description: fmt.Sprintf("%d %s messages of %d octets, each sent once the previous one came back (round-trip time).", count, kind, n),
		Expectation: fmt.Sprintf("The testee echoes all %d messages within %v s; the runner then closes with 1000 cleanly.", count, wait),
		Script: func(r *Run) {
			sent := 0
			sendOne := func() {
				if n == 0 {
					r.Send(fr(op, nil)) // a repeat length of 0 means an empty payload
				} else {
					r.Send(fr(op, seed, repeatTo(n)))
				}
				sent++
			}
			r.Result = fmt.Sprintf("Case did not finish within %v seconds.", wait)
			r.onMessage = func(r *Run, payload []byte, isBinary bool) {
				switch {
				case isBinary != binary || len(payload) != n:
					r.Behavior = Failed
					r.Result = fmt.Sprintf("Echo'ed message type or length differs from what I sent (got binary = %v, payload length = %d).", isBinary, len(payload))
					r.P.SendClose(1000, "")
				case sent < count:
					sendOne()
				default:
					r.Behavior = OK
					r.Result = "Ok, received all echo'ed messages in time."
					r.P.SendClose(1000, "")
				}
			}
			r.CloseAfter(wait)
			sendOne()
		},
	}
}
