// Package catalogue embeds the reference case catalogue: for each of the 517
// case ids of the Autobahn|Testsuite, the events that earn each verdict and the
// expected close behaviour, as reported by the official suite. Two files exist,
// one per role of the suite; they differ only in report flags.
//
// The files are regenerated with strip.go (see there); they carry facts only.
package catalogue

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

//go:embed cases-server-role.json cases-client-role.json
var files embed.FS

// Role selects which side of the connection the runner plays.
type Role int

// Roles of the runner.
const (
	// ServerRole tests a server: the runner is a fuzzing client.
	ServerRole Role = iota
	// ClientRole tests a client: the runner is a fuzzing server.
	ClientRole
)

func (r Role) file() string {
	if r == ClientRole {
		return "cases-client-role.json"
	}
	return "cases-server-role.json"
}

// Close is the expected close behaviour of a case.
type Close struct {
	// CloseCode lists the acceptable close codes from the testee; the first
	// one is what the runner sends when it closes after the expected events.
	CloseCode []int `json:"closeCode"`
	// ClosedByMe says whether the runner must be the one sending the first
	// close frame.
	ClosedByMe bool `json:"closedByMe"`
	// RequireClean demands a complete closing handshake.
	RequireClean bool `json:"requireClean"`
	// ClosedByWrongEndpointIsFatal turns a close by the wrong endpoint into a
	// failed case (used by the UTF-8 cases).
	ClosedByWrongEndpointIsFatal bool `json:"closedByWrongEndpointIsFatal,omitempty"`
}

// Entry is the catalogue record of one case.
type Entry struct {
	// Expected maps a verdict to the event sequence that earns it, in the
	// report rendering of the reference suite (long payloads are cut). An
	// empty map means the case judges the echo itself.
	Expected map[string][][]any `json:"expected"`
	// ExpectedClose is the expected close behaviour.
	ExpectedClose Close `json:"expectedClose"`
	// ReportTime asks for the case duration to be shown in summaries.
	ReportTime bool `json:"reportTime"`
	// ReportCompressionRatio asks for compression ratios (sections 12, 13).
	ReportCompressionRatio bool `json:"reportCompressionRatio"`
}

// Catalogue is the set of cases known for one role.
type Catalogue struct {
	entries map[string]Entry
	ids     []string
}

// Load parses the embedded catalogue for role.
func Load(role Role) (*Catalogue, error) {
	raw, err := files.ReadFile(role.file())
	if err != nil {
		return nil, err
	}
	var entries map[string]Entry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("catalogue %s: %w", role.file(), err)
	}
	c := &Catalogue{entries: entries}
	for id := range entries {
		if _, err := ParseID(id); err != nil {
			return nil, fmt.Errorf("catalogue %s: %w", role.file(), err)
		}
		c.ids = append(c.ids, id)
	}
	SortIDs(c.ids)
	return c, nil
}

// IDs returns all case ids in suite order.
func (c *Catalogue) IDs() []string { return append([]string(nil), c.ids...) }

// Get returns the entry of a case id.
func (c *Catalogue) Get(id string) (Entry, bool) {
	e, ok := c.entries[id]
	return e, ok
}

// ParseID splits a case id such as "6.4.1" into its numbers.
func ParseID(id string) ([]int, error) {
	parts := strings.Split(id, ".")
	out := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" {
			return nil, fmt.Errorf("invalid case id %q", id)
		}
		out[i] = n
	}
	return out, nil
}

// Less orders case ids numerically component by component (2.9 < 2.10).
func Less(a, b string) bool {
	x, errA := ParseID(a)
	y, errB := ParseID(b)
	if errA != nil || errB != nil {
		return a < b
	}
	for i := 0; i < len(x) && i < len(y); i++ {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return len(x) < len(y)
}

// SortIDs sorts case ids in suite order.
func SortIDs(ids []string) { sort.Slice(ids, func(i, j int) bool { return Less(ids[i], ids[j]) }) }

// Section returns the top-level section of a case id ("6.4.1" -> "6").
func Section(id string) string {
	s, _, _ := strings.Cut(id, ".")
	return s
}
