package cases

import "fmt"

// Section 10: automatic fragmentation of outgoing messages.
func init() {
	payload := fill('*', 65536)
	const fragment = 1300
	register(&Case{
		ID:          "10.1.1",
		Description: fmt.Sprintf("A 64 KiB text message that the runner fragments automatically into frames of %d octets.", fragment),
		Expectation: "The testee reassembles and echoes the message; clean close 1000.",
		Expected:    ok(Msg(payload, false)),
		Script: func(r *Run) {
			r.P.SetAutoFragment(fragment)
			r.afterLost = append(r.afterLost, func(r *Run) {
				// The reference case also checks the runner's own frame counts.
				wantCont, wantText := len(payload)/fragment, 0
				if len(payload)%fragment > 0 {
					wantText = 1
				}
				if !r.Opened {
					r.Behavior = Failed
					r.Result = "WebSocket connection was never open"
					return
				}
				if gotCont, gotText := r.P.TxFrames(0), r.P.TxFrames(1); gotCont != wantCont || gotText != wantText {
					r.Behavior = Failed
					r.Result = fmt.Sprintf("Frames transmitted {0: %d, 1: %d} do not match what we expected {0: %d, 1: %d}.", gotCont, gotText, wantCont, wantText)
				}
			})
			r.SendMessage(payload, false, 0)
			r.KillAfter(10)
		},
	})
}
