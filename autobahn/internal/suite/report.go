package suite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wsforge/websocket/autobahn/internal/cases"
	"github.com/wsforge/websocket/autobahn/internal/catalogue"
)

// SectionSummary counts the verdicts of one section.
type SectionSummary struct {
	Section string         `json:"section"`
	Name    string         `json:"name"`
	Cases   int            `json:"cases"`
	Counts  map[string]int `json:"counts"`
	Time    time.Duration  `json:"-"`
	Seconds float64        `json:"seconds"`
}

// summaryColumns are the verdict columns of the summary table.
var summaryColumns = []cases.Verdict{cases.OK, cases.NonStrict, cases.Failed, cases.Informational, cases.Unimplemented, Missing}

// Summarize groups results by section, in suite order.
func Summarize(results []*CaseResult) []SectionSummary {
	var out []SectionSummary
	idx := map[string]int{}
	for _, r := range results {
		sec := catalogue.Section(r.ID)
		i, ok := idx[sec]
		if !ok {
			i = len(out)
			idx[sec] = i
			out = append(out, SectionSummary{Section: sec, Name: SectionName(sec), Counts: map[string]int{}})
		}
		s := &out[i]
		s.Cases++
		s.Counts[string(r.Verdict)]++
		s.Time += r.Wall
		s.Seconds = s.Time.Seconds()
	}
	return out
}

// Failing reports whether the run must fail: any case FAILED, NON-STRICT,
// UNIMPLEMENTED or MISSING. Informational and not-run cases do not count.
func Failing(results []*CaseResult) bool {
	return len(NotOK(results)) > 0
}

// NotOK returns the results that make the run fail.
func NotOK(results []*CaseResult) []*CaseResult {
	var out []*CaseResult
	for _, r := range results {
		switch r.Verdict {
		case cases.OK, cases.Informational:
		default:
			out = append(out, r)
		}
	}
	return out
}

// FormatSummary renders the per-section table, the total time and the list of
// cases that are not OK.
func FormatSummary(rep *Report) string {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "Agent %s, mode %s, %d cases, %s\n\n", rep.Agent, rep.Mode, len(rep.Results), rep.Elapsed.Round(time.Millisecond))
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "section\tname\tcases\t")
	for _, v := range summaryColumns {
		fmt.Fprintf(tw, "%s\t", v)
	}
	fmt.Fprint(tw, "time\t\n")
	total := SectionSummary{Counts: map[string]int{}}
	for _, s := range Summarize(rep.Results) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t", s.Section, s.Name, s.Cases)
		for _, v := range summaryColumns {
			fmt.Fprintf(tw, "%d\t", s.Counts[string(v)])
			total.Counts[string(v)] += s.Counts[string(v)]
		}
		fmt.Fprintf(tw, "%.2fs\t\n", s.Time.Seconds())
		total.Cases += s.Cases
	}
	fmt.Fprintf(tw, "total\t\t%d\t", total.Cases)
	for _, v := range summaryColumns {
		fmt.Fprintf(tw, "%d\t", total.Counts[string(v)])
	}
	fmt.Fprintf(tw, "%.2fs\t\n", rep.Elapsed.Seconds())
	tw.Flush()
	if bad := NotOK(rep.Results); len(bad) > 0 {
		fmt.Fprintf(&buf, "\nCases that are not OK:\n")
		for _, r := range bad {
			fmt.Fprintf(&buf, "  %-8s %-13s behaviour=%s close=%s remoteCloseCode=%s closedByMe=%v clean=%v: %s / %s\n",
				r.ID, r.Verdict, r.Behavior, r.BehaviorClose, codeString(r.Conn.RemoteCloseCode), r.Conn.ClosedByMe, r.Conn.WasClean, r.Result, r.ResultClose)
		}
	}
	return buf.String()
}

func codeString(c *int) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprint(*c)
}

// ReportFile is the per-case report file name, built like the reference
// suite's: the agent reduced to [a-z0-9_], "_case_", the id with '_' for '.'.
func ReportFile(agent, id string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(strings.TrimSpace(agent)) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		} else {
			b.WriteByte(' ')
		}
	}
	name := strings.ReplaceAll(strings.TrimSpace(b.String()), " ", "_")
	return name + "_case_" + strings.ReplaceAll(id, ".", "_") + ".json"
}

// WriteReports writes one JSON file per case, index.json (verdicts by agent
// and case) and summary.txt into dir.
func WriteReports(dir string, rep *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	type indexEntry struct {
		Behavior        cases.Verdict `json:"behavior"`
		BehaviorClose   cases.Verdict `json:"behaviorClose"`
		Verdict         cases.Verdict `json:"verdict"`
		RemoteCloseCode *int          `json:"remoteCloseCode"`
		Duration        int64         `json:"duration"`
		ReportFile      string        `json:"reportfile"`
	}
	index := map[string]map[string]indexEntry{rep.Agent: {}}
	for _, r := range rep.Results {
		file := ReportFile(rep.Agent, r.ID)
		if err := writeJSON(filepath.Join(dir, file), r); err != nil {
			return err
		}
		index[rep.Agent][r.ID] = indexEntry{r.Behavior, r.BehaviorClose, r.Verdict, r.Conn.RemoteCloseCode, r.DurationMS, file}
	}
	if err := writeJSON(filepath.Join(dir, "index.json"), index); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "summary.txt"), []byte(FormatSummary(rep)), 0o644)
}

func writeJSON(path string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
