package cases

import (
	"fmt"
	"reflect"

	"github.com/wsforge/websocket/autobahn/internal/catalogue"
	"github.com/wsforge/websocket/autobahn/internal/fuzz"
)

// RenderEvents renders events the way the reference suite's reports (and so
// the catalogue) do: [kind, payload preview, binary] for messages,
// [kind, payload preview] for pongs and [kind, label] for timeouts.
func RenderEvents(events []Event) [][]any {
	out := make([][]any, 0, len(events))
	for _, e := range events {
		switch e.Kind {
		case KindMessage:
			out = append(out, []any{e.Kind, fuzz.Preview(e.Payload), e.Binary})
		case KindTimeout:
			out = append(out, []any{e.Kind, e.Label})
		default:
			out = append(out, []any{e.Kind, fuzz.Preview(e.Payload)})
		}
	}
	return out
}

// RenderExpected renders the expected outcomes of a case as verdict -> events.
func RenderExpected(outcomes []Outcome) map[string][][]any {
	out := make(map[string][][]any, len(outcomes))
	for _, o := range outcomes {
		out[string(o.Verdict)] = RenderEvents(o.Events)
	}
	return out
}

// CheckAgainst verifies that the case's expected events render exactly as the
// catalogue entry records them. It guards the hand-written case tables
// against drifting from the reference facts.
func (c *Case) CheckAgainst(e catalogue.Entry) error {
	got := RenderExpected(c.Expected)
	want := e.Expected
	if want == nil {
		want = map[string][][]any{}
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("case %s: expected events %v, catalogue has %v", c.ID, got, want)
	}
	return nil
}
