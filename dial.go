package websocket

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

const (
	// maxResponseHeaderBytes bounds what Dial reads of a proxy's or server's
	// response before its headers end, as http.DefaultMaxHeaderBytes does
	// for servers.
	maxResponseHeaderBytes = 1 << 20

	// maxErrorBodyBytes is how much of a refusing server's body Dial keeps
	// in HandshakeError.Response.Body.
	maxErrorBodyBytes = 1 << 10

	// maxErrorBodyWait bounds the wait for that body, so that a server that
	// refuses without ending its body cannot hold Dial until ctx ends.
	maxErrorBodyWait = time.Second
)

// reservedRequestHeaders are the headers Dial writes itself; a caller may not
// set them through DialOptions.Header (RFC 6455 §4.1, §4.2.1). Keys are in
// canonical form.
var reservedRequestHeaders = map[string]string{
	"Host":                     "set DialOptions.Host instead",
	"Upgrade":                  "it is part of the handshake",
	"Connection":               "it is part of the handshake",
	"Sec-Websocket-Key":        "it is part of the handshake",
	"Sec-Websocket-Version":    "it is part of the handshake",
	"Sec-Websocket-Extensions": "set DialOptions.Compression instead",
	"Sec-Websocket-Protocol":   "set DialOptions.Subprotocols instead",
}

// Dial opens a WebSocket connection to the server at rawURL (RFC 6455 §4.1).
//
// The URL's scheme is ws or wss; http and https are accepted as their
// equivalents. The whole opening handshake (name resolution, TCP, proxy,
// TLS, request and response) is bounded by ctx; once Dial returns, ctx no
// longer affects the Conn.
//
// When the server answers but refuses the handshake, Dial returns its
// response together with a [*HandshakeError] (which wraps [ErrBadHandshake]):
// the status and headers are intact and Body holds up to the first KiB of
// the body, so callers can see why (401, 403, 426...). On success the
// response is the server's 101 with an empty Body.
//
// The connection goes through the proxy opts.Proxy names, which by default
// is taken from the environment (see [http.ProxyFromEnvironment]).
//
// An option set to a value it cannot take (a negative size or duration, a
// compression level or window size out of range...) makes Dial return an
// error naming the field before it connects.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, *http.Response, error) {
	if ctx == nil {
		return nil, nil, errors.New("websocket: dial: nil Context")
	}
	if err := opts.check(); err != nil {
		return nil, nil, err
	}
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	u, err := parseDialURL(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: dial: %w", err)
	}
	d := &dialer{ctx: ctx, opts: &o, u: u, addr: hostPort(u, defaultPort(u.Scheme))}
	c, resp, err := d.dial()
	if err != nil {
		var he *HandshakeError
		if errors.As(err, &he) {
			return nil, resp, err
		}
		return nil, nil, fmt.Errorf("websocket: dial %s: %w", u.Redacted(), err)
	}
	return c, resp, nil
}

// dialer holds the state of one call to Dial.
type dialer struct {
	ctx   context.Context
	opts  *DialOptions // a copy of the caller's
	u     *url.URL     // scheme ws or wss
	addr  string       // host:port of the server
	stage string       // what is under way, for errors
}

// parseDialURL parses a WebSocket URI (RFC 6455 §3) and returns it with the
// scheme ws or wss.
func parseDialURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return nil, fmt.Errorf("URL %q: scheme must be ws, wss, http or https", u.Redacted())
	}
	// §3: "Fragment identifiers are meaningless in the context of WebSocket
	// URIs and MUST NOT be used on these URIs."
	if strings.Contains(rawURL, "#") {
		return nil, fmt.Errorf("URL %q: a WebSocket URL must not have a fragment", u.Redacted())
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, fmt.Errorf("URL %q: missing host", u.Redacted())
	}
	return u, nil
}

func defaultPort(scheme string) string {
	switch scheme {
	case "wss", "https":
		return "443"
	case "socks5", "socks5h":
		return "1080"
	}
	return "80"
}

// hostPort returns u's host and port, with port if u has none (RFC 6455 §3).
func hostPort(u *url.URL, port string) string {
	if p := u.Port(); p != "" {
		port = p
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func (d *dialer) dial() (*Conn, *http.Response, error) {
	cfg := d.opts.connConfig()
	req, key, err := d.request()
	if err != nil {
		return nil, nil, err
	}
	d.stage = "finding proxy"
	proxyURL, err := d.proxyFor()
	if err != nil {
		return nil, nil, d.fail(err)
	}
	raw, err := d.dialTransport(proxyURL)
	if err != nil {
		return nil, nil, d.fail(err)
	}
	release := watchContext(d.ctx, raw)
	c, resp, err := d.handshake(raw, proxyURL, req, key, cfg)
	// Stop watching ctx; if the watch already fired, ctx has ended and the
	// connection's deadline is in the past, so it cannot be handed over.
	if !release() && err == nil {
		err = d.fail(d.ctx.Err())
		c, resp = nil, nil
	}
	if err != nil {
		raw.Close()
		return nil, resp, err
	}
	raw.SetDeadline(time.Time{})
	return newConn(c.nc, c.br, true, c.cfg), resp, nil
}

// handshaken is what a successful opening handshake hands to newConn.
type handshaken struct {
	nc  net.Conn
	br  *bufio.Reader
	cfg connConfig
}

// handshake runs everything after the TCP connection: the proxy tunnel, TLS
// and the WebSocket opening handshake.
func (d *dialer) handshake(raw net.Conn, proxyURL *url.URL, req []byte, key string, cfg connConfig) (*handshaken, *http.Response, error) {
	nc := raw
	if proxyURL != nil && (proxyURL.Scheme == "http" || proxyURL.Scheme == "https") {
		var err error
		if nc, err = d.tunnel(nc, proxyURL); err != nil {
			return nil, nil, d.fail(err)
		}
	}
	if d.u.Scheme == "wss" {
		d.stage = "TLS handshake"
		tc := tls.Client(nc, d.tlsConfig(d.u.Hostname()))
		if err := tc.HandshakeContext(d.ctx); err != nil {
			return nil, nil, d.fail(err)
		}
		nc = tc
	}

	d.stage = "writing request"
	if _, err := nc.Write(req); err != nil {
		return nil, nil, d.fail(err)
	}
	d.stage = "reading response"
	lr := &handshakeReader{r: nc, n: maxResponseHeaderBytes}
	br := bufio.NewReaderSize(lr, cfg.readBufferSize)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet, URL: d.u})
	if err != nil {
		return nil, nil, d.fail(err)
	}
	protocol, deflate, reason := checkResponse(resp, key, d.opts.Subprotocols, d.opts.Compression)
	if reason != "" {
		captureErrorBody(d.ctx, raw, resp)
		return nil, resp, &HandshakeError{Reason: reason, Response: resp}
	}
	resp.Body = http.NoBody
	lr.n = -1 // the handshake is over: frames are bounded by the read limit
	cfg.subprotocol = protocol
	cfg.deflate = deflate
	return &handshaken{nc: nc, br: br, cfg: cfg}, resp, nil
}

// request validates the options and returns the opening handshake request
// (RFC 6455 §4.1) and the key it carries.
func (d *dialer) request() ([]byte, string, error) {
	host := d.opts.Host
	if host == "" {
		host = removeZone(strings.TrimSuffix(d.u.Host, ":"))
	}
	if !httpguts.ValidHostHeader(host) {
		return nil, "", fmt.Errorf("invalid Host %q", host)
	}
	if err := validateHeader(d.opts.Header, reservedRequestHeaders); err != nil {
		return nil, "", err
	}
	if err := validateHeader(d.opts.ProxyConnectHeader, reservedConnectHeaders); err != nil {
		return nil, "", fmt.Errorf("ProxyConnectHeader: %w", err)
	}

	// §4.1 item 7: a nonce of 16 random bytes, Base64-encoded, chosen
	// randomly for each connection.
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, "", err
	}
	key := base64.StdEncoding.EncodeToString(nonce[:])

	var b bytes.Buffer
	b.WriteString("GET " + d.u.RequestURI() + " HTTP/1.1\r\n") // §4.1 items 1-3
	b.WriteString("Host: " + host + "\r\n")                    // §4.1 item 4
	b.WriteString("Upgrade: websocket\r\n")                    // §4.1 item 5
	b.WriteString("Connection: Upgrade\r\n")                   // §4.1 item 6
	b.WriteString("Sec-WebSocket-Key: " + key + "\r\n")        // §4.1 item 7
	b.WriteString("Sec-WebSocket-Version: 13\r\n")             // §4.1 item 9
	if len(d.opts.Subprotocols) > 0 {                          // §4.1 item 10
		b.WriteString("Sec-WebSocket-Protocol: " + strings.Join(d.opts.Subprotocols, ", ") + "\r\n")
	}
	if d.opts.Compression != nil { // §4.1 item 11, RFC 7692 §5
		b.WriteString("Sec-WebSocket-Extensions: " + offerDeflate(d.opts.Compression) + "\r\n")
	}
	if d.u.User != nil && d.opts.Header.Get("Authorization") == "" {
		b.WriteString("Authorization: Basic " + basicAuth(d.u.User) + "\r\n")
	}
	d.opts.Header.Write(&b) // §4.1 item 12: other header fields
	b.WriteString("\r\n")
	return b.Bytes(), key, nil
}

// validateHeader reports a malformed header or one whose name is in reserved.
func validateHeader(h http.Header, reserved map[string]string) error {
	for k, vs := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("invalid header name %q", k)
		}
		if why, ok := reserved[http.CanonicalHeaderKey(k)]; ok {
			return fmt.Errorf("header %s may not be set: %s", k, why)
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("invalid value for header %s", k)
			}
		}
	}
	return nil
}

// checkResponse verifies the server's answer to the opening handshake as
// RFC 6455 §4.1 requires of the client ("If the server's response does not
// conform ... the client MUST _Fail the WebSocket Connection_"). It returns
// the subprotocol the server chose and the negotiated compression, or the
// reason the handshake failed.
func checkResponse(resp *http.Response, key string, protocols []string, compression *CompressionOptions) (protocol string, deflate *deflateState, reason string) {
	h := resp.Header
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols: // §4.1 response item 1
		return "", nil, "server did not switch protocols"
	case !headerHasToken(h, "Upgrade", "websocket"): // §4.1 response item 2
		return "", nil, "Upgrade header must include websocket"
	case !headerHasToken(h, "Connection", "upgrade"): // §4.1 response item 3
		return "", nil, "Connection header must include upgrade"
	}
	// §4.1 response item 4: Sec-WebSocket-Accept is the Base64 SHA-1 of our
	// key and the GUID, compared exactly.
	want := acceptKey(key)
	if got := h["Sec-Websocket-Accept"]; len(got) != 1 || got[0] != string(want[:]) {
		return "", nil, "Sec-WebSocket-Accept does not match the key"
	}
	// §4.1 response item 5, §9.1: only extensions we offered, with
	// parameters we can accept (RFC 7692 §5, §7.1).
	deflate, err := verifyDeflate(h, compression)
	if err != nil {
		return "", nil, err.Error()
	}
	// §4.1 response item 6: at most one subprotocol, one we offered.
	switch got := headerTokens(h, "Sec-Websocket-Protocol"); {
	case len(got) > 1:
		return "", nil, "server chose more than one subprotocol"
	case len(got) == 1:
		for _, p := range protocols {
			if p == got[0] {
				return p, deflate, ""
			}
		}
		return "", nil, fmt.Sprintf("server chose subprotocol %q, which was not offered", got[0])
	}
	return "", deflate, ""
}

// captureErrorBody replaces resp.Body with up to its first maxErrorBodyBytes,
// waiting for them at most maxErrorBodyWait.
func captureErrorBody(ctx context.Context, raw net.Conn, resp *http.Response) {
	deadline := time.Now().Add(maxErrorBodyWait)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	raw.SetReadDeadline(deadline)
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
	resp.Body = io.NopCloser(bytes.NewReader(b))
}

// watchContext bounds I/O on nc by ctx: it sets ctx's deadline on nc and,
// when ctx is cancelled, a deadline in the past. The returned release stops
// the watch and reports whether it did so before ctx ended.
func watchContext(ctx context.Context, nc net.Conn) (release func() bool) {
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(aLongTimeAgo) })
	return stop
}

// fail wraps err with the stage under way. When ctx has ended, the I/O error
// it caused is replaced by the context's error.
func (d *dialer) fail(err error) error {
	if cerr := contextErr(d.ctx); cerr != nil {
		err = cerr
	}
	if d.stage == "" {
		return err
	}
	return fmt.Errorf("%s: %w", d.stage, err)
}

// contextErr returns ctx.Err(), or context.DeadlineExceeded once ctx's
// deadline has passed even if its timer has not yet fired: a deadline set on
// a connection can expire a moment before the context notices.
func contextErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// removeZone removes an IPv6 zone from a host for the Host header
// ("[fe80::1%en0]:8080" becomes "[fe80::1]:8080").
func removeZone(host string) string {
	if !strings.HasPrefix(host, "[") {
		return host
	}
	i := strings.LastIndex(host, "]")
	if i < 0 {
		return host
	}
	j := strings.LastIndex(host[:i], "%")
	if j < 0 {
		return host
	}
	return host[:j] + host[i:]
}

// handshakeReader limits how much the handshake reads while n >= 0, so that
// a peer whose headers never end cannot make Dial buffer without bound.
// Setting n to -1 lifts the limit.
type handshakeReader struct {
	r io.Reader
	n int64
}

var errResponseTooLarge = errors.New("response header too large")

func (l *handshakeReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return l.r.Read(p)
	}
	if l.n == 0 {
		return 0, errResponseTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
