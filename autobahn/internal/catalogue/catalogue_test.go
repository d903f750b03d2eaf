package catalogue

import (
	"reflect"
	"testing"
)

func TestLoadBothRoles(t *testing.T) {
	server, err := Load(ServerRole)
	if err != nil {
		t.Fatal(err)
	}
	client, err := Load(ClientRole)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(server.IDs()); n != 517 {
		t.Fatalf("server role: %d cases, want 517", n)
	}
	if !reflect.DeepEqual(server.IDs(), client.IDs()) {
		t.Fatal("roles list different cases")
	}
	for _, id := range server.IDs() {
		s, _ := server.Get(id)
		c, _ := client.Get(id)
		if !reflect.DeepEqual(s.Expected, c.Expected) || !reflect.DeepEqual(s.ExpectedClose, c.ExpectedClose) {
			t.Errorf("%s: roles disagree", id)
		}
		if len(s.ExpectedClose.CloseCode) == 0 {
			t.Errorf("%s: no close code", id)
		}
	}
}

func TestSectionCounts(t *testing.T) {
	c, err := Load(ServerRole)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, id := range c.IDs() {
		counts[Section(id)]++
	}
	want := map[string]int{"1": 16, "2": 11, "3": 7, "4": 10, "5": 20, "6": 145, "7": 37, "9": 54, "10": 1, "12": 90, "13": 126}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("got %v", counts)
	}
}

func TestLess(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"2.9", "2.10", true},
		{"2.10", "2.9", false},
		{"1.1.8", "1.2.1", true},
		{"9.8.6", "10.1.1", true},
		{"6.4", "6.4.1", true},
		{"7.13.1", "7.9.9", false},
	}
	for _, tc := range tests {
		if got := Less(tc.a, tc.b); got != tc.want {
			t.Errorf("Less(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}
