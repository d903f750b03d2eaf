package suite

import (
	"net"
	"time"

	"github.com/wsforge/websocket/autobahn/internal/cases"
	"github.com/wsforge/websocket/autobahn/internal/catalogue"
	"github.com/wsforge/websocket/autobahn/internal/fuzz"
	"github.com/wsforge/websocket/autobahn/internal/pmce"
)

// Verdict the runner adds to those of the cases.
const (
	// Missing marks a case the testee never ran (client died, server gone).
	Missing cases.Verdict = "MISSING"
)

// CaseResult is the outcome of one case for one agent.
type CaseResult struct {
	ID          string        `json:"id"`
	Agent       string        `json:"agent"`
	Mode        string        `json:"mode"`
	Description string        `json:"description"`
	Expectation string        `json:"expectation"`
	Started     time.Time     `json:"started"`
	DurationMS  int64         `json:"duration"` // from open to connection loss, as the reference suite measures
	Wall        time.Duration `json:"-"`        // including connection setup
	ReportTime  bool          `json:"reportTime"`

	Verdict       cases.Verdict `json:"verdict"`
	Behavior      cases.Verdict `json:"behavior"`
	BehaviorClose cases.Verdict `json:"behaviorClose"`
	Result        string        `json:"result"`
	ResultClose   string        `json:"resultClose"`
	Notes         []string      `json:"notes,omitempty"`

	Expected      map[string][][]any `json:"expected"`
	ExpectedClose catalogue.Close    `json:"expectedClose"`
	Received      [][]any            `json:"received"`
	Observed      cases.Observed     `json:"observed"`

	// Deflate describes the negotiated permessage-deflate, if any.
	Deflate     string                 `json:"permessageDeflate,omitempty"`
	Compression *fuzz.CompressionStats `json:"compression,omitempty"`

	Conn     fuzz.Result     `json:"connection"`
	Traffic  Traffic         `json:"traffic"`
	Stats    fuzz.Stats      `json:"stats"`
	WireLog  []fuzz.LogEntry `json:"wirelog,omitempty"`
	LogSkip  int             `json:"wirelogOmitted,omitempty"`
	Request  string          `json:"httpRequest,omitempty"`
	Response string          `json:"httpResponse,omitempty"`
}

// Traffic summarises what went over the wire in each direction.
type Traffic struct {
	SentOctets     int         `json:"sentOctets"`
	SentFrames     map[int]int `json:"sentFramesByOpcode"`
	ReceivedOctets int         `json:"receivedOctets"`
	ReceivedFrames map[int]int `json:"receivedFramesByOpcode"`
}

func sumOctets(m map[int]int) int {
	n := 0
	for size, count := range m {
		n += size * count
	}
	return n
}

// newResult prepares a result for case c before it runs.
func newResult(c *cases.Case, e catalogue.Entry, agent, mode string) *CaseResult {
	return &CaseResult{
		ID:            c.ID,
		Agent:         agent,
		Mode:          mode,
		Description:   c.Description,
		Expectation:   c.Expectation,
		Started:       time.Now().UTC(),
		ReportTime:    e.ReportTime,
		Expected:      cases.RenderExpected(c.Expected),
		ExpectedClose: e.ExpectedClose,
		Received:      [][]any{},
	}
}

// missing is the result of a case the testee never ran.
func missing(c *cases.Case, e catalogue.Entry, agent, mode, why string) *CaseResult {
	r := newResult(c, e, agent, mode)
	r.Verdict, r.Behavior, r.BehaviorClose = Missing, Missing, Missing
	r.Result = why
	return r
}

// execute runs case c on an open connection and returns its result. deflate
// holds the negotiated permessage-deflate parameters, if any.
func execute(conn net.Conn, initial []byte, isServer bool, deflate *pmce.Params, c *cases.Case, e catalogue.Entry, res *CaseResult, pc fuzz.Config) *CaseResult {
	pc.IsServer = isServer
	pc.Deflate = deflate
	if deflate != nil {
		res.Deflate = deflate.String()
	}
	run := cases.NewRun(c, e.ExpectedClose, nil)
	p := fuzz.New(conn, pc)
	p.Run(initial, run)
	fillFromRun(res, run, p.Result())
	return res
}

// handshakeFailed records a case whose opening handshake did not complete.
func handshakeFailed(c *cases.Case, e catalogue.Entry, res *CaseResult, why string) *CaseResult {
	run := cases.NewRun(c, e.ExpectedClose, nil)
	run.NeverOpened()
	fillFromRun(res, run, fuzz.Result{WasNotCleanReason: why})
	res.Notes = append(res.Notes, "opening handshake failed: "+why)
	return res
}

func fillFromRun(res *CaseResult, run *cases.Run, pr fuzz.Result) {
	res.Behavior = run.Behavior
	res.BehaviorClose = run.BehaviorClose
	res.Verdict = run.Overall()
	res.Result = run.Result
	res.ResultClose = run.ResultClose
	res.Notes = append(res.Notes, run.Notes...)
	res.Received = cases.RenderEvents(run.Received)
	res.Observed = run.Observed
	res.Conn = pr
	res.DurationMS = int64(pr.Duration * 1000)
	res.Stats = pr.Stats
	res.Compression = pr.Compression
	res.WireLog = pr.WireLog
	res.LogSkip = pr.WireLogOmitted
	res.Traffic = Traffic{
		SentOctets:     sumOctets(pr.Stats.TxOctets),
		SentFrames:     pr.Stats.TxFrames,
		ReceivedOctets: sumOctets(pr.Stats.RxOctets),
		ReceivedFrames: pr.Stats.RxFrames,
	}
}
