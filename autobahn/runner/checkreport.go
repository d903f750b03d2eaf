package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/wsforge/websocket/autobahn/internal/cases"
	"github.com/wsforge/websocket/autobahn/internal/catalogue"
)

// checkReport reads an index.json written by the official suite and fails
// when a case is not OK: behaviour FAILED, NON-STRICT or UNIMPLEMENTED, or a
// close behaviour other than OK or INFORMATIONAL.
func checkReport(path string) int {
	if path == "" {
		return fail(fmt.Errorf("checkreport needs -report path/to/index.json"))
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return fail(err)
	}
	var index map[string]map[string]struct {
		Behavior        string `json:"behavior"`
		BehaviorClose   string `json:"behaviorClose"`
		RemoteCloseCode *int   `json:"remoteCloseCode"`
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	bad := 0
	agents := make([]string, 0, len(index))
	for a := range index {
		agents = append(agents, a)
	}
	sort.Strings(agents)
	for _, agent := range agents {
		ids := make([]string, 0, len(index[agent]))
		for id := range index[agent] {
			ids = append(ids, id)
		}
		catalogue.SortIDs(ids)
		counts := map[cases.Verdict]int{}
		for _, id := range ids {
			e := index[agent][id]
			v := cases.Combine(cases.Verdict(e.Behavior), cases.Verdict(e.BehaviorClose))
			counts[v]++
			if v != cases.OK && v != cases.Informational {
				bad++
				fmt.Printf("%s case %-8s %-13s behaviour=%s close=%s\n", agent, id, v, e.Behavior, e.BehaviorClose)
			}
		}
		fmt.Printf("%s: %d cases, %d OK, %d NON-STRICT, %d FAILED, %d INFORMATIONAL, %d UNIMPLEMENTED\n", agent, len(ids),
			counts[cases.OK], counts[cases.NonStrict], counts[cases.Failed], counts[cases.Informational], counts[cases.Unimplemented])
	}
	if bad > 0 {
		return 1
	}
	return 0
}
