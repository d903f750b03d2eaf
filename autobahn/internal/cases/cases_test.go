package cases

import (
	"testing"

	"github.com/wsforge/websocket/autobahn/internal/catalogue"
)

// TestCatalogueConsistency checks every implemented case against the
// reference catalogue: same ids, and expected events that render identically.
func TestCatalogueConsistency(t *testing.T) {
	cat, err := catalogue.Load(catalogue.ServerRole)
	if err != nil {
		t.Fatal(err)
	}
	implemented := map[string]bool{}
	for _, id := range Implemented() {
		implemented[id] = true
		c, _ := Lookup(id)
		e, ok := cat.Get(id)
		if !ok {
			t.Errorf("case %s is not in the catalogue", id)
			continue
		}
		if err := c.CheckAgainst(e); err != nil {
			t.Error(err)
		}
		if c.Description == "" || c.Expectation == "" || c.Script == nil {
			t.Errorf("case %s: incomplete definition", id)
		}
	}
	counts := map[string]int{}
	for _, id := range cat.IDs() {
		sec := catalogue.Section(id)
		if !implemented[id] {
			t.Errorf("catalogue case %s has no definition", id)
			continue
		}
		counts[sec]++
	}
	want := map[string]int{"1": 16, "2": 11, "3": 7, "4": 10, "5": 20, "6": 145, "7": 37, "9": 54, "10": 1, "12": 90, "13": 126}
	for sec, n := range want {
		if counts[sec] != n {
			t.Errorf("section %s: %d implemented cases, want %d", sec, counts[sec], n)
		}
	}
	if len(Implemented()) != 517 {
		t.Errorf("%d implemented cases, want 517", len(Implemented()))
	}
}

func TestCombine(t *testing.T) {
	tests := []struct {
		behavior, close, want Verdict
	}{
		{OK, OK, OK},
		{OK, WrongCode, Failed},
		{OK, Unclean, Failed},
		{OK, Failed, Failed},
		{OK, FailedByClient, NonStrict},
		{NonStrict, OK, NonStrict},
		{Failed, OK, Failed},
		{Informational, Informational, Informational},
		{Unimplemented, OK, Unimplemented},
	}
	for _, tc := range tests {
		if got := Combine(tc.behavior, tc.close); got != tc.want {
			t.Errorf("Combine(%s, %s) = %s, want %s", tc.behavior, tc.close, got, tc.want)
		}
	}
}
