package suite

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wsforge/websocket/autobahn/internal/cases"
)

func TestSelect(t *testing.T) {
	all := []string{"1.1.1", "1.1.2", "1.2.1", "2.1", "2.10", "6.1.1", "6.10.1", "10.1.1", "12.1.1", "13.1.1"}
	tests := []struct {
		name             string
		include, exclude string
		want             []string
		wantErr          bool
	}{
		{"everything", "*", "", all, false},
		{"prefix glob", "1.*", "", []string{"1.1.1", "1.1.2", "1.2.1"}, false},
		{"glob matches from the start only", "1*", "", []string{"1.1.1", "1.1.2", "1.2.1", "10.1.1", "12.1.1", "13.1.1"}, false},
		{"dot is literal", "6.1.*", "", []string{"6.1.1"}, false},
		{"exact ids", "2.10,1.1.2", "", []string{"1.1.2", "2.10"}, false},
		{"exclude", "*", "12.*,13.*,1.1.*", []string{"1.2.1", "2.1", "2.10", "6.1.1", "6.10.1", "10.1.1"}, false},
		{"unknown exact id", "3.1", "", nil, true},
		{"nothing", "9.*", "", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(all, SplitPatterns(tc.include), SplitPatterns(tc.exclude))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReportFile(t *testing.T) {
	tests := []struct{ agent, id, want string }{
		{"wsforge", "1.1.1", "wsforge_case_1_1_1.json"},
		{"My Server/1.0", "6.4.1", "my_server_1_0_case_6_4_1.json"},
	}
	for _, tc := range tests {
		if got := ReportFile(tc.agent, tc.id); got != tc.want {
			t.Errorf("ReportFile(%q, %q) = %q, want %q", tc.agent, tc.id, got, tc.want)
		}
	}
}

func TestWriteReports(t *testing.T) {
	dir := t.TempDir()
	rep := &Report{Agent: "a", Mode: "fuzzingclient", Results: []*CaseResult{
		{ID: "1.1.1", Verdict: cases.OK, Behavior: cases.OK, BehaviorClose: cases.OK},
		{ID: "7.9.1", Verdict: cases.NonStrict, Behavior: cases.OK, BehaviorClose: cases.FailedByClient},
		{ID: "9.1.1", Verdict: cases.Informational, Behavior: cases.Informational, BehaviorClose: cases.OK},
	}}
	if err := WriteReports(dir, rep); err != nil {
		t.Fatal(err)
	}
	var index map[string]map[string]map[string]any
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		t.Fatal(err)
	}
	if got := index["a"]["7.9.1"]["verdict"]; got != "NON-STRICT" {
		t.Errorf("index verdict %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "a_case_1_1_1.json")); err != nil {
		t.Error(err)
	}
	summary, err := os.ReadFile(filepath.Join(dir, "summary.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(summary), "7.9.1") || strings.Contains(string(summary), "  1.1.1 ") {
		t.Errorf("summary lists the wrong cases:\n%s", summary)
	}
	if !Failing(rep.Results) || Failing(rep.Results[:1]) || Failing(rep.Results[2:]) {
		t.Error("Failing must count NON-STRICT but neither OK nor INFORMATIONAL")
	}
}
