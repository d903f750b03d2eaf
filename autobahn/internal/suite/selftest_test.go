package suite

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsforge/websocket/autobahn/internal/cases"
	"github.com/wsforge/websocket/autobahn/internal/catalogue"
)

// The self-test runs the runner against the raw testee of rawtestee_test.go,
// correct and deliberately broken, and checks that exactly the cases that
// exercise each breakage fail. Each scenario selects only the sections it
// needs; scenarios run in parallel.

// expectsCloseCode reports whether the catalogue expects code from the testee.
func expectsCloseCode(t *testing.T, code int) func(id string) bool {
	cat, err := catalogue.Load(catalogue.ServerRole)
	if err != nil {
		t.Fatal(err)
	}
	return func(id string) bool {
		e, _ := cat.Get(id)
		return slices.Equal(e.ExpectedClose.CloseCode, []int{code})
	}
}

// expectsPong reports whether the OK outcome of a case contains a pong.
func expectsPong(id string) bool {
	c, _ := cases.Lookup(id)
	for _, o := range c.Expected {
		if o.Verdict == cases.OK {
			for _, e := range o.Events {
				if e.Kind == cases.KindPong {
					return true
				}
			}
		}
	}
	return false
}

func none(string) bool { return false }

// deflateCases are short cases of sections 12 and 13 (16-octet messages):
// binary with context takeover, text with 9-bit windows, and several offers
// with no context takeover.
const deflateCases = "12.2.1,13.3.1,13.7.1"

func TestSelfTest(t *testing.T) {
	utf8Cases := expectsCloseCode(t, 1007)
	all := func(string) bool { return true }
	tests := []struct {
		name  string
		role  catalogue.Role
		brk   breakage
		cases string
		// fails says which cases must fail; all others must pass.
		fails func(id string) bool
		// verdict, if set, is the verdict the failing cases must get.
		verdict cases.Verdict
	}{
		{"correct server", catalogue.ServerRole, breakage{}, "1.*,2.*,3.*,4.*,5.*,6.*,7.*", none, ""},
		{"correct client", catalogue.ClientRole, breakage{}, "1.*,2.*,3.*,4.*,5.*,6.*,7.*", none, ""},
		// The suite only ever sends masked frames, so a server that accepts
		// unmasked ones passes every case: the catalogue cannot see it.
		{"server accepts unmasked frames", catalogue.ServerRole, breakage{unmasked: true}, "1.*,2.*,3.*,4.*,5.*", none, ""},
		// A client that does not mask is failed by the runner on its first
		// frame, in every case.
		{"client sends unmasked frames", catalogue.ClientRole, breakage{unmasked: true}, "1.*,2.*,3.*", all, ""},
		// Every case that expects 1007 for an invalid text payload, and the
		// close with an invalid UTF-8 reason.
		{"server skips UTF-8 validation", catalogue.ServerRole, breakage{skipUTF8: true}, "6.*,7.5.1",
			func(id string) bool { return utf8Cases(id) || id == "7.5.1" }, ""},
		{"client skips UTF-8 validation", catalogue.ClientRole, breakage{skipUTF8: true}, "6.3.*,6.4.*,6.6.*,7.5.1",
			func(id string) bool { return utf8Cases(id) || id == "7.5.1" }, ""},
		// Exactly the invalid close codes of 7.9; 7.13 (5000, 65535) is
		// informational and stays so.
		{"server echoes invalid close codes", catalogue.ServerRole, breakage{echoBadCodes: true}, "7.*",
			func(id string) bool { return strings.HasPrefix(id, "7.9.") }, ""},
		// Every case whose OK outcome contains a pong.
		{"server answers pings late", catalogue.ServerRole, breakage{pongDelay: 10 * time.Second}, "2.*,5.*", expectsPong, ""},
		// Compression: a testee without it leaves the cases unimplemented;
		// with it, a few short cases of each parameter set pass; RSV1 on a
		// continuation frame fails the connection.
		{"server without permessage-deflate", catalogue.ServerRole, breakage{}, "12.1.1,13.1.1", all, cases.Unimplemented},
		{"client without permessage-deflate", catalogue.ClientRole, breakage{}, "12.1.1,13.1.1", all, cases.Unimplemented},
		{"server with permessage-deflate", catalogue.ServerRole, breakage{deflate: true}, deflateCases, none, ""},
		{"client with permessage-deflate", catalogue.ClientRole, breakage{deflate: true}, deflateCases, none, ""},
		{"server sets RSV1 on continuation frames", catalogue.ServerRole, breakage{deflate: true, rsv1OnContinuation: true}, "12.1.3,13.2.3", all, cases.Failed},
		{"client sets RSV1 on continuation frames", catalogue.ClientRole, breakage{deflate: true, rsv1OnContinuation: true}, "12.1.3,13.2.3", all, cases.Failed},
		// Context takeover where the runner asked for none: its
		// back-references into earlier messages cannot be resolved.
		{"server keeps its context", catalogue.ServerRole, breakage{deflate: true, keepContext: true}, "13.2.4,13.6.4", all, cases.Failed},
		{"client keeps its context", catalogue.ClientRole, breakage{deflate: true, keepContext: true}, "13.2.4,13.6.4", all, cases.Failed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep := runScenario(t, tc.role, tc.brk, tc.cases)
			checkFailures(t, rep, tc.fails)
			for _, r := range rep.Results {
				if tc.verdict != "" && tc.fails(r.ID) && r.Verdict != tc.verdict {
					t.Errorf("case %s: %s (%s), want %s", r.ID, r.Verdict, r.Result, tc.verdict)
				}
			}
		})
	}
}

func selectCases(t *testing.T, patterns string) []string {
	cat, err := catalogue.Load(catalogue.ServerRole)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := Select(cat.IDs(), SplitPatterns(patterns), nil)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// runScenario runs the selected cases against a raw testee in the given role.
func runScenario(t *testing.T, role catalogue.Role, brk breakage, patterns string) *Report {
	t.Helper()
	ids := selectCases(t, patterns)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	if role == catalogue.ServerRole {
		go rawServe(ln, brk)
		rep, err := RunClient(ctx, ClientConfig{URL: "ws://" + ln.Addr().String(), Cases: ids})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	srv, err := NewServer(ServerConfig{Cases: ids})
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { hs.Close() })
	clientErr := make(chan error, 1)
	go func() { clientErr <- rawClient(ln.Addr().String(), "raw", brk) }()
	select {
	case rep := <-srv.Done():
		if err := <-clientErr; err != nil {
			t.Fatalf("raw client: %v", err)
		}
		return rep
	case err := <-clientErr:
		if err != nil {
			t.Fatalf("raw client: %v", err)
		}
		select {
		case rep := <-srv.Done():
			return rep
		case <-ctx.Done():
			t.Fatal("the raw client finished but the server produced no report")
		}
	case <-ctx.Done():
		t.Fatal("scenario timed out")
	}
	return nil
}

func checkFailures(t *testing.T, rep *Report, fails func(string) bool) {
	t.Helper()
	var unexpected, undetected []string
	for _, r := range rep.Results {
		bad := r.Verdict != cases.OK && r.Verdict != cases.Informational
		switch {
		case bad && !fails(r.ID):
			unexpected = append(unexpected, r.ID+" "+string(r.Verdict)+" ("+string(r.Behavior)+"/"+string(r.BehaviorClose)+": "+r.Result+" / "+r.ResultClose+")")
		case !bad && fails(r.ID):
			undetected = append(undetected, r.ID)
		}
		if r.Verdict == Missing {
			t.Errorf("case %s: %s", r.ID, r.Verdict)
		}
	}
	if len(unexpected) > 0 {
		t.Errorf("cases that should pass but did not:\n  %s", strings.Join(unexpected, "\n  "))
	}
	if len(undetected) > 0 {
		t.Errorf("cases that should fail but passed: %v", undetected)
	}
	if t.Failed() || testing.Verbose() {
		t.Log(FormatSummary(rep))
	}
}
