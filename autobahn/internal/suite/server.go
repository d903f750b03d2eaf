package suite

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wsforge/websocket/autobahn/internal/cases"
	"github.com/wsforge/websocket/autobahn/internal/catalogue"
	"github.com/wsforge/websocket/autobahn/internal/fuzz"
	"github.com/wsforge/websocket/autobahn/internal/pmce"
	"github.com/wsforge/websocket/autobahn/internal/wire"
)

// ServerConfig configures a fuzzing server (testing clients).
type ServerConfig struct {
	// Cases are the selected case ids in order (see Select).
	Cases []string
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// Verbose logs every case, not only those that are not OK.
	Verbose bool
	// Peer holds protocol timeouts; zero values select the defaults.
	Peer fuzz.Config
	// OnUpdateReports, if set, is called when a client asks for its reports,
	// before the server answers; it lets the caller write report files.
	OnUpdateReports func(*Report)
}

// Server is a fuzzing server: clients under test fetch the case count from
// /getCaseCount, run case N (1-based) at /runCase?case=N&agent=A (or
// casetuple=ID instead of case=N), and finish with /updateReports?agent=A,
// the URL protocol of the reference suite. /getCaseInfo?case=N returns the
// case id and description as JSON.
type Server struct {
	cfg     ServerConfig
	cat     *catalogue.Catalogue
	served  []string // selected cases: what /runCase indexes
	log     logger
	started time.Time

	mu      sync.Mutex
	idle    *sync.Cond                        // signalled when running drops to 0
	running int                               // case runs in progress
	results map[string]map[string]*CaseResult // agent -> case id -> result
	done    chan *Report
	once    sync.Once
}

// NewServer prepares a fuzzing server for the selected cases.
func NewServer(cfg ServerConfig) (*Server, error) {
	cat, err := catalogue.Load(catalogue.ClientRole)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		cat:     cat,
		log:     logger{w: cfg.Log, verbose: cfg.Verbose},
		results: map[string]map[string]*CaseResult{},
		done:    make(chan *Report, 1),
		started: time.Now(),
	}
	s.idle = sync.NewCond(&s.mu)
	for _, id := range cfg.Cases {
		_, ok := cases.Lookup(id)
		if _, inCat := cat.Get(id); !ok || !inCat {
			return nil, fmt.Errorf("unknown case %s", id)
		}
		s.served = append(s.served, id)
	}
	return s, nil
}

// CaseCount is the number of cases served to clients.
func (s *Server) CaseCount() int { return len(s.served) }

// Done delivers the report of the first agent that asked for its reports.
func (s *Server) Done() <-chan *Report { return s.done }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	agent := q.Get("agent")
	switch r.URL.Path {
	case "/getCaseCount", "/getCaseInfo":
	case "/runCase", "/updateReports":
		if agent == "" {
			http.Error(w, "need agent", http.StatusBadRequest)
			return
		}
	default:
		http.Error(w, "unknown path; use /getCaseCount, /runCase, /getCaseInfo or /updateReports", http.StatusNotFound)
		return
	}
	var c *cases.Case
	if r.URL.Path == "/runCase" || r.URL.Path == "/getCaseInfo" {
		var err error
		if c, err = s.caseParam(q); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	if r.URL.Path == "/runCase" {
		s.mu.Lock()
		s.running++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			if s.running--; s.running == 0 {
				s.idle.Broadcast()
			}
			s.mu.Unlock()
		}()
	}
	hs, err := serverHandshake(w, r, c)
	if err != nil {
		return
	}
	switch r.URL.Path {
	case "/getCaseCount":
		p := fuzz.New(hs.conn, s.peerConfig())
		p.Run(hs.initial, &commandHandler{open: func(p *fuzz.Peer) {
			p.SendMessage([]byte(strconv.Itoa(len(s.served))), false, 0)
			p.SendCloseFrame(nil, nil, false)
		}})
	case "/getCaseInfo":
		info, _ := json.Marshal(map[string]string{"id": c.ID, "description": c.Description})
		p := fuzz.New(hs.conn, s.peerConfig())
		p.Run(hs.initial, &commandHandler{open: func(p *fuzz.Peer) {
			p.SendMessage(info, false, 0)
			p.SendCloseFrame(nil, nil, false)
		}})
	case "/updateReports":
		// A client may ask right after its last case ended on its side,
		// before the runner has finished judging that case.
		rep := s.report(agent)
		if s.cfg.OnUpdateReports != nil {
			s.cfg.OnUpdateReports(rep)
		}
		p := fuzz.New(hs.conn, s.peerConfig())
		p.Run(hs.initial, &commandHandler{open: func(p *fuzz.Peer) { p.SendCloseFrame(nil, nil, false) }})
		s.once.Do(func() { s.done <- rep })
	case "/runCase":
		e, _ := s.cat.Get(c.ID)
		start := time.Now()
		res := newResult(c, e, agent, "fuzzingserver")
		res.Request, res.Response = hs.request, hs.response
		execute(hs.conn, hs.initial, true, hs.deflate, c, e, res, s.cfg.Peer)
		res.Wall = time.Since(start)
		s.mu.Lock()
		if s.results[agent] == nil {
			s.results[agent] = map[string]*CaseResult{}
		}
		s.results[agent][c.ID] = res
		s.mu.Unlock()
		s.log.caseDone(res)
	}
}

// caseParam finds the case of a request: case=N (1-based index among the
// served cases) or casetuple=ID, as the reference fuzzing server accepts.
func (s *Server) caseParam(q url.Values) (*cases.Case, error) {
	if id := q.Get("casetuple"); id != "" {
		for _, served := range s.served {
			if served == id {
				c, _ := cases.Lookup(id)
				return c, nil
			}
		}
		return nil, fmt.Errorf("case %q is not served", id)
	}
	n, err := strconv.Atoi(q.Get("case"))
	if err != nil || n < 1 || n > len(s.served) {
		return nil, fmt.Errorf("invalid case %q (cases 1..%d)", q.Get("case"), len(s.served))
	}
	c, _ := cases.Lookup(s.served[n-1])
	return c, nil
}

func (s *Server) peerConfig() fuzz.Config {
	pc := s.cfg.Peer
	pc.IsServer = true
	return pc
}

// report collects the results of agent in case order; cases the agent did
// not run are missing.
func (s *Server) report(agent string) *Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.running > 0 {
		s.idle.Wait()
	}
	rep := &Report{Agent: agent, Mode: "fuzzingserver", Started: s.started, Elapsed: time.Since(s.started)}
	got := s.results[agent]
	for _, id := range s.cfg.Cases {
		c, _ := cases.Lookup(id)
		e, _ := s.cat.Get(id)
		switch r, ok := got[id]; {
		case ok:
			rep.Results = append(rep.Results, r)
		default:
			rep.Results = append(rep.Results, missing(c, e, agent, rep.Mode, "the client did not run this case"))
		}
	}
	return rep
}

// commandHandler serves the non-case endpoints.
type commandHandler struct{ open func(p *fuzz.Peer) }

// Open, Message, Pong and Lost implement fuzz.Handler.
func (h *commandHandler) Open(p *fuzz.Peer)                { h.open(p) }
func (h *commandHandler) Message(*fuzz.Peer, []byte, bool) {}
func (h *commandHandler) Pong(*fuzz.Peer, []byte)          {}
func (h *commandHandler) Lost(*fuzz.Peer)                  {}

// serverHandshake validates a WebSocket upgrade request, answers it and takes
// over the connection. On failure it has written an HTTP error. For a case
// of sections 12 and 13 (c.Deflate set) it answers the client's
// permessage-deflate offers with the case's accept rule and returns the
// negotiated parameters (nil: declined).
func serverHandshake(w http.ResponseWriter, r *http.Request, c *cases.Case) (*serverHS, error) {
	var why string
	switch {
	case r.Method != http.MethodGet:
		why = "method must be GET"
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		why = "missing Connection: Upgrade"
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		why = "missing Upgrade: websocket"
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		w.Header().Set("Sec-WebSocket-Version", "13")
		why = "unsupported Sec-WebSocket-Version"
	case r.Header.Get("Sec-WebSocket-Key") == "":
		why = "missing Sec-WebSocket-Key"
	}
	if why != "" {
		http.Error(w, why, http.StatusBadRequest)
		return nil, fmt.Errorf("bad upgrade request: %s", why)
	}
	var deflate *pmce.Params
	extensions := ""
	if c != nil && c.Deflate != nil && c.Deflate.Accept != nil {
		if a := c.Deflate.Accept(deflateOffers(r.Header.Values("Sec-WebSocket-Extensions"))); a != nil {
			p := a.Params()
			deflate = &p
			extensions = "Sec-WebSocket-Extensions: " + a.String() + "\r\n"
		}
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot take over the connection", http.StatusInternalServerError)
		return nil, fmt.Errorf("response writer cannot hijack")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	var reqText strings.Builder
	fmt.Fprintf(&reqText, "%s %s %s\r\n", r.Method, r.RequestURI, r.Proto)
	for k, vs := range r.Header {
		for _, v := range vs {
			fmt.Fprintf(&reqText, "%s: %s\r\n", k, v)
		}
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\n" +
		"Server: wsforge-autobahn-runner\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + wire.AcceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n" +
		extensions + "\r\n"
	if _, err := io.WriteString(conn, resp); err != nil {
		conn.Close()
		return nil, err
	}
	var initial []byte
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		initial = append(initial, b...)
	}
	return &serverHS{conn: conn, initial: initial, request: reqText.String(), response: resp, deflate: deflate}, nil
}

// serverHS is a connection taken over after the opening handshake.
type serverHS struct {
	conn              net.Conn
	initial           []byte // octets that arrived with the request
	request, response string
	deflate           *pmce.Params // negotiated permessage-deflate
}

// deflateOffers returns the client's valid permessage-deflate offers in
// order; malformed ones are left out, as a server declines them.
func deflateOffers(values []string) []pmce.Offer {
	exts, err := pmce.ParseHeader(values)
	if err != nil {
		return nil
	}
	var offers []pmce.Offer
	for _, e := range exts {
		if e.Name != pmce.Name {
			continue
		}
		if o, err := pmce.ParseOffer(e); err == nil {
			offers = append(offers, o)
		}
	}
	return offers
}
