// Package suite runs the conformance cases in the two modes of the reference
// suite: as a fuzzing client against a server under test, and as a fuzzing
// server that clients under test connect to.
package suite

import (
	"fmt"
	"regexp"
	"strings"
)

// SplitPatterns splits a comma separated pattern list, dropping empty items.
func SplitPatterns(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Select resolves case patterns against all case ids, like the reference
// suite's "cases" and "exclude-cases" settings: a pattern with '*' matches
// every id it matches from the start ('*' stands for any text, '.' is
// literal); a pattern without '*' names one case exactly. The result is in
// suite order.
func Select(all, include, exclude []string) ([]string, error) {
	in, err := resolve(all, include)
	if err != nil {
		return nil, err
	}
	out, err := resolve(all, exclude)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, id := range all {
		if in[id] && !out[id] {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func resolve(all, patterns []string) (map[string]bool, error) {
	known := make(map[string]bool, len(all))
	for _, id := range all {
		known[id] = true
	}
	set := map[string]bool{}
	for _, p := range patterns {
		if !strings.Contains(p, "*") {
			if !known[p] {
				return nil, fmt.Errorf("unknown case id %q", p)
			}
			set[p] = true
			continue
		}
		re, err := globToRegexp(p)
		if err != nil {
			return nil, err
		}
		for _, id := range all {
			if re.MatchString(id) {
				set[id] = true
			}
		}
	}
	return set, nil
}

func globToRegexp(p string) (*regexp.Regexp, error) {
	parts := strings.Split(p, "*")
	for i, part := range parts {
		parts[i] = regexp.QuoteMeta(part)
	}
	re, err := regexp.Compile("^" + strings.Join(parts, ".*"))
	if err != nil {
		return nil, fmt.Errorf("invalid case pattern %q: %w", p, err)
	}
	return re, nil
}

// sectionNames are the reference suite's category names.
var sectionNames = map[string]string{
	"1":  "Framing",
	"2":  "Pings/Pongs",
	"3":  "Reserved Bits",
	"4":  "Opcodes",
	"5":  "Fragmentation",
	"6":  "UTF-8 Handling",
	"7":  "Close Handling",
	"9":  "Limits/Performance",
	"10": "Auto-Fragmentation",
	"12": "WebSocket Compression (payloads)",
	"13": "WebSocket Compression (parameters)",
}

// SectionName returns the display name of a section.
func SectionName(sec string) string {
	if n, ok := sectionNames[sec]; ok {
		return n
	}
	return "Misc"
}
