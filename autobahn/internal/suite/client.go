package suite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wsforge/websocket/autobahn/internal/cases"
	"github.com/wsforge/websocket/autobahn/internal/catalogue"
	"github.com/wsforge/websocket/autobahn/internal/fuzz"
	"github.com/wsforge/websocket/autobahn/internal/pmce"
	"github.com/wsforge/websocket/autobahn/internal/wire"
)

// ClientConfig configures a fuzzing client run (testing a server).
type ClientConfig struct {
	// URL of the server under test, ws://host:port/path.
	URL string
	// Agent names the testee in reports; empty means "use the Server header".
	Agent string
	// Cases are the case ids to run, in order (see Select).
	Cases []string
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// Verbose logs every case, not only those that are not OK.
	Verbose bool
	// Peer holds protocol timeouts; zero values select the defaults.
	Peer fuzz.Config
	// HandshakeTimeout bounds connecting plus the opening handshake (5s).
	HandshakeTimeout time.Duration
}

// Report is the outcome of a run for one agent.
type Report struct {
	Agent   string
	Mode    string
	Started time.Time
	Elapsed time.Duration
	Results []*CaseResult
}

// RunClient runs the selected cases one after the other against the server
// at cfg.URL, one connection per case, like the reference fuzzing client.
func RunClient(ctx context.Context, cfg ClientConfig) (*Report, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("invalid url: %w", err)
	}
	if u.Scheme != "ws" {
		return nil, fmt.Errorf("unsupported url scheme %q (only ws:// is supported)", u.Scheme)
	}
	cat, err := catalogue.Load(catalogue.ServerRole)
	if err != nil {
		return nil, err
	}
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = 5 * time.Second
	}
	log := logger{w: cfg.Log, verbose: cfg.Verbose}
	rep := &Report{Agent: cfg.Agent, Mode: "fuzzingclient", Started: time.Now()}
	var stop string
	for _, id := range cfg.Cases {
		c, ok := cases.Lookup(id)
		e, inCat := cat.Get(id)
		if !ok || !inCat {
			return nil, fmt.Errorf("unknown case %s", id)
		}
		var res *CaseResult
		switch {
		case stop != "":
			res = missing(c, e, rep.Agent, rep.Mode, stop)
		case ctx.Err() != nil:
			stop = "run canceled"
			res = missing(c, e, rep.Agent, rep.Mode, stop)
		default:
			res = runClientCase(ctx, u, c, e, &cfg, rep)
			if res.Verdict == Missing {
				stop = res.Result
			}
		}
		res.Agent = rep.Agent
		rep.Results = append(rep.Results, res)
		log.caseDone(res)
	}
	if rep.Agent == "" {
		rep.Agent = "UnknownServer"
	}
	for _, r := range rep.Results {
		r.Agent = rep.Agent
	}
	rep.Elapsed = time.Since(rep.Started)
	return rep, nil
}

func runClientCase(ctx context.Context, u *url.URL, c *cases.Case, e catalogue.Entry, cfg *ClientConfig, rep *Report) *CaseResult {
	start := time.Now()
	res := newResult(c, e, rep.Agent, rep.Mode)
	var offers []pmce.Offer
	if c.Deflate != nil {
		offers = c.Deflate.Offers
	}
	hs, err := clientHandshake(ctx, u, cfg.HandshakeTimeout, offers)
	if hs != nil {
		res.Request, res.Response = hs.request, hs.response
	}
	if err != nil {
		var ce *connectError
		if errors.As(err, &ce) {
			return missing(c, e, rep.Agent, rep.Mode, err.Error())
		}
		res = handshakeFailed(c, e, res, err.Error())
		res.Wall = time.Since(start)
		return res
	}
	if rep.Agent == "" {
		rep.Agent = hs.server
	}
	execute(hs.conn, hs.initial, false, hs.deflate, c, e, res, cfg.Peer)
	res.Wall = time.Since(start)
	return res
}

type clientHS struct {
	conn              net.Conn
	initial           []byte
	server            string
	request, response string
	deflate           *pmce.Params // negotiated permessage-deflate
}

// connectError means the server could not be reached at all.
type connectError struct{ err error }

// Error implements error.
func (e *connectError) Error() string { return "cannot connect to the testee: " + e.err.Error() }

// Unwrap returns the dial error.
func (e *connectError) Unwrap() error { return e.err }

// clientHandshake connects and performs the opening handshake the way the
// reference fuzzing client does (same request headers), offering
// permessage-deflate when offers are given.
func clientHandshake(ctx context.Context, u *url.URL, timeout time.Duration, offers []pmce.Offer) (*clientHS, error) {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, &connectError{err}
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	resource := u.RequestURI()
	key := wire.NewHandshakeKey()
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\n", resource)
	fmt.Fprintf(&req, "User-Agent: wsforge-autobahn-runner\r\n")
	fmt.Fprintf(&req, "Host: %s\r\n", host)
	req.WriteString("Upgrade: WebSocket\r\nConnection: Upgrade\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n")
	fmt.Fprintf(&req, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", key)
	if len(offers) > 0 {
		elems := make([]string, len(offers))
		for i, o := range offers {
			elems[i] = o.String()
		}
		fmt.Fprintf(&req, "Sec-WebSocket-Extensions: %s\r\n", strings.Join(elems, ", "))
	}
	req.WriteString("\r\n")
	hs := &clientHS{conn: conn, request: req.String()}
	if _, err := io.WriteString(conn, hs.request); err != nil {
		conn.Close()
		return hs, fmt.Errorf("sending the opening handshake: %w", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return hs, fmt.Errorf("reading the opening handshake response: %w", err)
	}
	hs.response = fmt.Sprintf("%s %s\r\n", resp.Proto, resp.Status)
	for k, vs := range resp.Header {
		for _, v := range vs {
			hs.response += k + ": " + v + "\r\n"
		}
	}
	hs.server = resp.Header.Get("Server")
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols:
		err = fmt.Errorf("WebSocket connection upgrade failed (%s)", resp.Status)
	case !strings.EqualFold(strings.TrimSpace(resp.Header.Get("Upgrade")), "websocket"):
		err = fmt.Errorf("HTTP Upgrade header missing or not 'websocket': %q", resp.Header.Get("Upgrade"))
	case !headerHasToken(resp.Header, "Connection", "upgrade"):
		err = fmt.Errorf("HTTP Connection header does not include 'upgrade': %q", resp.Header.Get("Connection"))
	case resp.Header.Get("Sec-WebSocket-Accept") != wire.AcceptKey(key):
		err = fmt.Errorf("bad Sec-WebSocket-Accept %q", resp.Header.Get("Sec-WebSocket-Accept"))
	default:
		hs.deflate, err = checkExtensions(resp.Header.Values("Sec-WebSocket-Extensions"), offers)
	}
	if err != nil {
		conn.Close()
		return hs, err
	}
	if n := br.Buffered(); n > 0 {
		hs.initial, _ = br.Peek(n)
		hs.initial = append([]byte(nil), hs.initial...)
	}
	_ = conn.SetDeadline(time.Time{})
	return hs, nil
}

// checkExtensions validates the server's extension response against the
// offers: nothing, or one permessage-deflate element that fits an offer.
func checkExtensions(values []string, offers []pmce.Offer) (*pmce.Params, error) {
	exts, err := pmce.ParseHeader(values)
	switch {
	case err != nil:
		return nil, fmt.Errorf("invalid Sec-WebSocket-Extensions %q: %w", values, err)
	case len(exts) == 0:
		return nil, nil
	case len(offers) == 0:
		return nil, fmt.Errorf("server selected extensions that were not offered: %q", values)
	case len(exts) > 1:
		return nil, fmt.Errorf("server selected more than one extension: %q", values)
	}
	resp, err := pmce.ParseResponse(exts[0], offers)
	if err != nil {
		return nil, fmt.Errorf("permessage-deflate response %q: %w", values, err)
	}
	p := resp.Params()
	return &p, nil
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// logger prints progress lines.
type logger struct {
	w       io.Writer
	verbose bool
}

func (l logger) printf(format string, args ...any) {
	if l.w != nil {
		fmt.Fprintf(l.w, format, args...)
	}
}

func (l logger) caseDone(r *CaseResult) {
	if l.verbose || len(r.Notes) > 0 || (r.Verdict != cases.OK && r.Verdict != cases.Informational) {
		l.printf("case %-8s %-13s behaviour=%s close=%s (%s) %s\n", r.ID, r.Verdict, r.Behavior, r.BehaviorClose,
			time.Duration(r.DurationMS)*time.Millisecond, r.Result)
		for _, n := range r.Notes {
			l.printf("              note: %s\n", n)
		}
	}
}
