package websocket

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
)

// ErrBadHandshake is wrapped by every error that reports a failed opening
// handshake, on either side.
var ErrBadHandshake = errors.New("websocket: bad handshake")

// HandshakeError describes a failed opening handshake. On the client,
// Response is the server's answer (its Body holds up to the first KiB of the
// response body) and Status is zero; on the server, Response is nil and
// Status is the HTTP status Upgrade answered with.
type HandshakeError struct {
	Reason   string
	Response *http.Response
	Status   int
}

func (e *HandshakeError) Error() string {
	if e.Response != nil {
		return "websocket: bad handshake: " + e.Reason + " (HTTP status " + e.Response.Status + ")"
	}
	return "websocket: bad handshake: " + e.Reason
}

// Unwrap returns ErrBadHandshake, so errors.Is(err, ErrBadHandshake) holds.
func (e *HandshakeError) Unwrap() error { return ErrBadHandshake }

// keyGUID is appended to the client's key to compute the accept key
// (RFC 6455 §1.3, §4.2.2).
const keyGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKey computes Sec-WebSocket-Accept for key: the Base64 of the SHA-1 of
// key followed by keyGUID (RFC 6455 §4.2.2 step 5.4). It works on stack
// arrays and does not allocate for keys of the standard 24 characters.
func acceptKey(key string) [28]byte {
	var buf [24 + len(keyGUID)]byte
	in := buf[:0]
	if len(key) > 24 {
		in = make([]byte, 0, len(key)+len(keyGUID))
	}
	in = append(append(in, key...), keyGUID...)
	sum := sha1.Sum(in)
	var out [28]byte
	base64.StdEncoding.Encode(out[:], sum[:])
	return out
}

// validKey reports whether key is the Base64 of exactly 16 bytes
// (RFC 6455 §4.2.1 item 5).
func validKey(key string) bool {
	if len(key) != 24 {
		return false
	}
	var dst [18]byte
	n, err := base64.StdEncoding.Strict().Decode(dst[:], []byte(key))
	return err == nil && n == 16
}

// headerHasToken reports whether the comma-separated values of header name
// contain token, compared case-insensitively (RFC 7230 §3.2.6, §6.1).
// Tokens are ASCII: "websoc\u212Aet" (a Kelvin sign) is not "websocket",
// whatever Unicode case folding says, and only spaces and tabs are trimmed.
func headerHasToken(h http.Header, name, token string) bool {
	return httpguts.HeaderValuesContainsToken(headerValues(h, name), token)
}

// headerValues returns the values of header name. Callers pass canonical
// names ("Sec-Websocket-Key"), which are looked up directly: net/http would
// canonicalize "Sec-WebSocket-Key" on every call, allocating.
func headerValues(h http.Header, name string) []string {
	if vs, ok := h[name]; ok {
		return vs
	}
	return h.Values(name)
}

// headerTokens returns the comma-separated values of header name, trimmed,
// without empty elements.
func headerTokens(h http.Header, name string) []string {
	var out []string
	for _, v := range headerValues(h, name) {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// Upgrade turns an HTTP request into a WebSocket connection (RFC 6455 §4.2).
// Call it from an [http.Handler]. On success the connection has been taken
// over from the HTTP server: use the returned Conn, not w, from then on.
//
// When the request is not an acceptable WebSocket handshake, Upgrade answers
// it with the status RFC 6455 calls for and a short plain-text body, and
// returns an error wrapping [ErrBadHandshake]: 405 for a method other than
// GET, 426 when the Upgrade token or version 13 is missing, 403 for an origin
// that is not allowed, and 400 for anything else malformed. An option set
// to a value it cannot take (a negative size or duration, a compression
// level or window size out of range...) is the server's fault: Upgrade
// answers 500 and returns an error naming the field.
//
// The origin check is on by default: a browser request is accepted only from
// the request's own host or from opts.OriginPatterns.
//
// Note that [http.Server.Shutdown] does not close connections taken over
// this way; close them yourself.
func Upgrade(w http.ResponseWriter, r *http.Request, opts *UpgradeOptions) (*Conn, error) {
	if opts == nil {
		opts = &defaultUpgradeOptions
	}
	if err := opts.check(); err != nil {
		http.Error(w, "websocket: the server is misconfigured", http.StatusInternalServerError)
		return nil, err
	}
	if status, reason := checkRequest(w, r, opts); status != 0 {
		http.Error(w, "websocket: "+reason, status)
		return nil, &HandshakeError{Reason: reason, Status: status}
	}
	return upgrade(w, r, opts)
}

// defaultUpgradeOptions stands for a nil *UpgradeOptions; it is only read.
var defaultUpgradeOptions UpgradeOptions

// upgrade takes the connection over and answers 101. Upgrade and the steps
// below are kept apart, each with a small stack frame, so that the deepest
// call of an upgrade stays within the handler goroutine's first stack: a
// goroutine whose stack grows keeps the larger one while its connection
// lives.
//
//go:noinline
func upgrade(w http.ResponseWriter, r *http.Request, opts *UpgradeOptions) (*Conn, error) {
	key := r.Header["Sec-Websocket-Key"][0] // checkRequest saw exactly one
	protocol := selectSubprotocol(r.Header, opts.Subprotocols)
	extensions, deflate := acceptDeflate(r.Header, opts.Compression)
	nc, brw, err := hijack(w)
	if err != nil {
		return nil, err
	}
	// The accept key is computed here, not in the deeper respond: SHA-1
	// takes a large frame.
	accept := acceptKey(key)
	if err := respond(nc, brw.Writer, w.Header(), opts, &accept, protocol, extensions); err != nil {
		nc.Close()
		return nil, err
	}
	cfg := opts.connConfig()
	cfg.subprotocol = protocol
	cfg.deflate = deflate
	return newConn(nc, brw.Reader, false, cfg), nil
}

// hijack takes the connection over from the HTTP server.
//
//go:noinline
func hijack(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "websocket: cannot take over the connection", http.StatusInternalServerError)
		return nil, nil, fmt.Errorf("websocket: upgrade: %w", err)
	}
	return nc, brw, nil
}

// responseHeader returns the extra headers of the 101: a copy of set with
// the values of extra added, or nil when both are empty, as they usually
// are. It is a function of its own to keep the copy's frame out of the
// write's.
//
//go:noinline
func responseHeader(set, extra http.Header) http.Header {
	if len(set) == 0 && len(extra) == 0 {
		return nil
	}
	h := make(http.Header, len(set)+len(extra))
	for k, vs := range set {
		h[k] = append(h[k], vs...)
	}
	for k, vs := range extra {
		h[k] = append(h[k], vs...)
	}
	return h
}

// respond writes the 101 response, with the headers already set on the
// ResponseWriter and opts.ResponseHeader, within opts.HandshakeTimeout.
//
//go:noinline
func respond(nc net.Conn, bw *bufio.Writer, set http.Header, opts *UpgradeOptions, accept *[28]byte, protocol, extensions string) error {
	resp := responseHeader(set, opts.ResponseHeader)
	if opts.HandshakeTimeout > 0 {
		nc.SetWriteDeadline(time.Now().Add(opts.HandshakeTimeout))
	}
	if err := writeResponse(nc, bw, accept, protocol, extensions, resp); err != nil {
		return fmt.Errorf("websocket: upgrade: %w", err)
	}
	if opts.HandshakeTimeout > 0 {
		nc.SetWriteDeadline(time.Time{})
	}
	return nil
}

// checkRequest validates an opening handshake (RFC 6455 §4.2.1) and returns
// the HTTP status and reason of the first problem, or 0.
func checkRequest(w http.ResponseWriter, r *http.Request, opts *UpgradeOptions) (int, string) {
	h := r.Header
	switch {
	case r.Method != http.MethodGet: // §4.2.1 item 1
		w.Header().Set("Allow", http.MethodGet)
		return http.StatusMethodNotAllowed, "method must be GET"
	case !r.ProtoAtLeast(1, 1) || r.ProtoMajor != 1: // §4.2.1 item 1
		return http.StatusBadRequest, "HTTP/1.1 required"
	case !headerHasToken(h, "Upgrade", "websocket"): // §4.2.1 item 3
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		return http.StatusUpgradeRequired, "Upgrade header must include websocket"
	case !headerHasToken(h, "Connection", "upgrade"): // §4.2.1 item 4
		return http.StatusBadRequest, "Connection header must include upgrade"
	case len(h["Sec-Websocket-Version"]) != 1 || h["Sec-Websocket-Version"][0] != "13": // §4.2.1 item 6, §4.4
		w.Header().Set("Sec-WebSocket-Version", "13")
		return http.StatusUpgradeRequired, "unsupported version: only 13 is spoken"
	case len(h["Sec-Websocket-Key"]) != 1 || !validKey(h["Sec-Websocket-Key"][0]): // §4.2.1 item 5
		return http.StatusBadRequest, "Sec-WebSocket-Key must be the Base64 of 16 bytes"
	}
	if !opts.InsecureSkipOriginCheck {
		if err := checkOrigin(r, opts.OriginPatterns); err != nil { // §10.2
			return http.StatusForbidden, err.Error()
		}
	}
	return 0, ""
}

// checkOrigin allows a request without Origin (not from a browser), one
// whose origin host equals the request's Host, and one matching a pattern
// (RFC 6455 §10.2). A refusal names the Origin and the Host it compared and
// the usual fixes, in one line, because the common cause is a reverse proxy
// that replaced the Host the browser sent: nginx's "proxy_set_header Host
// $host;" drops the port, so "Origin: http://127.0.0.1:8443" reaches us with
// "Host: 127.0.0.1".
func checkOrigin(r *http.Request, patterns []string) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	// The usual browser request first, without parsing: an http(s) origin
	// naming the request's own host.
	if scheme, host, ok := strings.Cut(origin, "://"); ok && host != "" && strings.EqualFold(host, r.Host) &&
		(strings.EqualFold(scheme, "https") || strings.EqualFold(scheme, "http")) {
		return nil
	}
	if origin == "null" {
		// An opaque origin (RFC 6454 §6.2, §7.3): sandboxed iframes and
		// file:// pages. It names no host, so nothing can match it.
		return errors.New(originReason("opaque origin (null), as sandboxed iframes and file:// pages send, matches neither Host ", r.Host, " nor any OriginPatterns entry; serve the page over http(s)"))
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return errors.New(originReason("malformed Origin ", origin, " (Host ", r.Host, "): want scheme://host[:port]"))
	}
	if strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	for _, p := range patterns {
		subject := u.Host
		if strings.Contains(p, "://") {
			subject = u.Scheme + "://" + u.Host
		}
		if ok, err := path.Match(strings.ToLower(p), strings.ToLower(subject)); err == nil && ok {
			return nil
		}
	}
	host := url.URL{Host: r.Host}
	differ := ": hosts differ"
	if strings.EqualFold(u.Hostname(), host.Hostname()) && u.Port() != host.Port() {
		differ = ": same hostname, ports differ"
	}
	return errors.New(originReason("Origin ", origin, " vs Host ", r.Host, differ+"; fix: proxy_set_header Host $http_host; (nginx) or list it in UpgradeOptions.OriginPatterns"))
}

// maxOriginReason bounds an origin refusal so that the body Upgrade answers
// with ("websocket: ", the reason, a newline) stays within 200 bytes
// however long the headers the client sent.
const maxOriginReason = 200 - len("websocket: \n")

// originReason joins parts into a refusal: text at even indexes as it is,
// header values at odd indexes quoted (so the reason stays on one line).
// When the whole would exceed maxOriginReason, values shorter than an equal
// share of the room keep their length and the others share the rest
// equally, each cut short.
func originReason(parts ...string) string {
	room := maxOriginReason
	var long []int // indexes of the values not yet known to fit
	for i, p := range parts {
		if i%2 == 0 {
			room -= len(p)
		} else {
			long = append(long, i)
		}
	}
	quoted := make([]string, len(parts))
	for _, i := range long {
		quoted[i] = strconv.Quote(parts[i])
	}
	// Values shorter than an equal share keep their length and give what
	// they do not use to the others.
	for changed := true; changed && len(long) > 0; {
		changed = false
		share := room / len(long)
		for j, i := range long {
			if len(quoted[i]) <= share {
				room -= len(quoted[i])
				long = append(long[:j], long[j+1:]...)
				changed = true
				break
			}
		}
	}
	for _, i := range long {
		quoted[i] = quoteWithin(parts[i], room/len(long))
	}
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 0 {
			b.WriteString(p)
		} else {
			b.WriteString(quoted[i])
		}
	}
	return b.String()
}

// quoteWithin returns s quoted as by [strconv.Quote], cut short with "..."
// inside the quotes so that the result takes at most n bytes.
func quoteWithin(s string, n int) string {
	const more = "..."
	if n < len(`""`)+len(more) {
		return `"` + more + `"`
	}
	s = s[:min(len(s), n)] // quoting never shortens
	for len(s) > 0 && len(strconv.Quote(s))+len(more) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	q := strconv.Quote(s)
	return q[:len(q)-1] + more + `"`
}

// selectSubprotocol returns the first of the server's protocols that the
// client offered (RFC 6455 §4.2.2 item 5.4, /subprotocol/), or "".
// It allocates nothing, however long the header.
func selectSubprotocol(h http.Header, server []string) string {
	best := len(server) // the index of the best protocol offered so far
	for _, v := range h["Sec-Websocket-Protocol"] {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			t = strings.TrimSpace(t)
			for i, s := range server[:best] {
				if s == t {
					best = i
					break
				}
			}
		}
	}
	if best == len(server) {
		return ""
	}
	return server[best]
}

// writeResponse sends the 101 response (RFC 6455 §4.2.2 item 5).
func writeResponse(nc net.Conn, bw *bufio.Writer, accept *[28]byte, protocol, extensions string, extra http.Header) error {
	if bw == nil {
		bw = bufio.NewWriter(nc)
	}
	bw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	bw.Write(append(bw.AvailableBuffer(), accept[:]...)) // accept stays on the stack
	bw.WriteString("\r\n")
	if protocol != "" {
		bw.WriteString("Sec-WebSocket-Protocol: ")
		bw.WriteString(protocol)
		bw.WriteString("\r\n")
	}
	if extensions != "" {
		bw.WriteString("Sec-WebSocket-Extensions: ")
		bw.WriteString(extensions)
		bw.WriteString("\r\n")
	}
	if len(extra) > 0 {
		if err := writeExtraHeader(bw, extra); err != nil {
			return err
		}
	}
	bw.WriteString("\r\n")
	return bw.Flush()
}

// writeExtraHeader writes the application's headers of the 101, less those
// the handshake sets itself; it may delete them from extra, a copy.
//
//go:noinline
func writeExtraHeader(bw *bufio.Writer, extra http.Header) error {
	// Keys are compared canonically: a map literal may hold "upgrade" or
	// "Sec-WebSocket-Accept", which Header.Write would send as they are.
	for k := range extra {
		switch http.CanonicalHeaderKey(k) {
		case "Upgrade", "Connection", "Sec-Websocket-Accept", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions", "Content-Type", "Content-Length", "Transfer-Encoding":
			delete(extra, k)
		}
	}
	return extra.Write(bw)
}
