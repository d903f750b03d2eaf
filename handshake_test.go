package websocket

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/wsforge/websocket/internal/wstest"
)

// sampleKey and sampleAccept are the example of RFC 6455 §1.3.
const (
	sampleKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// hsTimeout bounds every blocking step of these tests, so that a hang
// fails the test with a message instead of stalling it.
const hsTimeout = 10 * time.Second

// recvWithin waits for a value from ch for at most hsTimeout.
func recvWithin[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(hsTimeout):
		t.Fatalf("no %s within %v", what, hsTimeout)
		var zero T
		return zero
	}
}

// b64 returns the standard Base64 of n bytes of value b.
func b64(n int, b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, n))
}

// validRequest returns a well-formed opening handshake for example.com.
func validRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://example.com/chat", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Key", sampleKey)
	r.Header.Set("Sec-WebSocket-Version", "13")
	return r
}

func TestUpgradeRejects(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(r *http.Request)
		opts       *UpgradeOptions
		wantStatus int
		wantHeader http.Header // headers the response must carry
	}{
		{
			name:       "POST",
			edit:       func(r *http.Request) { r.Method = http.MethodPost },
			wantStatus: http.StatusMethodNotAllowed,
			wantHeader: http.Header{"Allow": {"GET"}},
		},
		{
			name:       "HEAD",
			edit:       func(r *http.Request) { r.Method = http.MethodHead },
			wantStatus: http.StatusMethodNotAllowed,
			wantHeader: http.Header{"Allow": {"GET"}},
		},
		{
			name:       "HTTP/1.0",
			edit:       func(r *http.Request) { r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.0", 1, 0 },
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "HTTP/2.0",
			edit:       func(r *http.Request) { r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0 },
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "no Upgrade header",
			edit:       func(r *http.Request) { r.Header.Del("Upgrade") },
			wantStatus: http.StatusUpgradeRequired,
			wantHeader: http.Header{"Upgrade": {"websocket"}},
		},
		{
			name:       "Upgrade h2c",
			edit:       func(r *http.Request) { r.Header.Set("Upgrade", "h2c") },
			wantStatus: http.StatusUpgradeRequired,
			wantHeader: http.Header{"Upgrade": {"websocket"}},
		},
		{
			name:       "Upgrade token is a prefix",
			edit:       func(r *http.Request) { r.Header.Set("Upgrade", "websocketx, foo") },
			wantStatus: http.StatusUpgradeRequired,
			wantHeader: http.Header{"Upgrade": {"websocket"}},
		},
		{
			name:       "no Connection header",
			edit:       func(r *http.Request) { r.Header.Del("Connection") },
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "Connection keep-alive",
			edit:       func(r *http.Request) { r.Header.Set("Connection", "keep-alive") },
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "Connection token is a prefix",
			edit:       func(r *http.Request) { r.Header.Set("Connection", "keep-alive, upgraded") },
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "no key",
			edit:       func(r *http.Request) { r.Header.Del("Sec-WebSocket-Key") },
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "key not Base64",
			edit:       func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "not base64 at all!!!!!!!") },
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "key URL-safe Base64",
			edit:       func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "_____________________w==") },
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "key of 15 bytes",
			edit:       func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", b64(15, 'k')) },
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "key of 17 bytes",
			edit:       func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", b64(17, 'k')) },
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "two keys",
			edit:       func(r *http.Request) { r.Header.Add("Sec-WebSocket-Key", b64(16, 'k')) },
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "no version",
			edit:       func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") },
			wantStatus: http.StatusUpgradeRequired,
			wantHeader: http.Header{"Sec-Websocket-Version": {"13"}},
		},
		{
			name:       "version 8",
			edit:       func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") },
			wantStatus: http.StatusUpgradeRequired,
			wantHeader: http.Header{"Sec-Websocket-Version": {"13"}},
		},
		{
			name:       "version list 8, 13",
			edit:       func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8, 13") },
			wantStatus: http.StatusUpgradeRequired,
			wantHeader: http.Header{"Sec-Websocket-Version": {"13"}},
		},
		{
			name:       "origin of another host",
			edit:       func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") },
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "origin not among the patterns",
			edit:       func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") },
			opts:       &UpgradeOptions{OriginPatterns: []string{"*.example.com"}},
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "null origin",
			edit:       func(r *http.Request) { r.Header.Set("Origin", "null") },
			wantStatus: http.StatusForbidden,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			r := validRequest()
			tt.edit(r)
			w := httptest.NewRecorder()
			c, err := Upgrade(w, r, tt.opts)
			if c != nil {
				c.CloseNow()
				t.Fatal("got a Conn, want nil")
			}
			if !errors.Is(err, ErrBadHandshake) {
				t.Errorf("got error %v, want one wrapping ErrBadHandshake", err)
			}
			if w.Code != tt.wantStatus {
				t.Errorf("got status %d, want %d", w.Code, tt.wantStatus)
			}
			for k, want := range tt.wantHeader {
				if got := w.Header().Values(k); !slices.Equal(got, want) {
					t.Errorf("got %s %q, want %q", k, got, want)
				}
			}
			if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/plain") {
				t.Errorf("got Content-Type %q, want text/plain", got)
			}
			if body := w.Body.String(); body == "" || len(body) > 200 || !strings.HasPrefix(body, "websocket: ") {
				t.Errorf("got body %q, want a short plain-text reason", body)
			}
		})
	}
}

// upgradeResult is what a handler's call to Upgrade returned.
type upgradeResult struct {
	c   *Conn
	err error
}

// upgradeServer starts a loopback HTTP server whose handler calls upgrade
// and sends its result on the returned channel; it returns the address.
func upgradeServer(t *testing.T, upgrade func(w http.ResponseWriter, r *http.Request) (*Conn, error)) (string, <-chan upgradeResult) {
	t.Helper()
	results := make(chan upgradeResult, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrade(w, r)
		results <- upgradeResult{c, err}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), results
}

// awaitUpgrade receives a result of upgradeServer and arranges for its Conn
// to be closed when t ends.
func awaitUpgrade(t *testing.T, results <-chan upgradeResult) (*Conn, error) {
	t.Helper()
	res := recvWithin(t, results, "return from Upgrade")
	if res.c != nil {
		t.Cleanup(func() { res.c.CloseNow() })
	}
	return res.c, res.err
}

// rawHandshake sends, in one write, a GET request for /chat to addr with
// the given header lines (each ending in CRLF) followed by after, and reads
// the response. The connection has a deadline hsTimeout away and is closed
// when t ends.
func rawHandshake(t *testing.T, addr, lines string, after []byte) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, hsTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	require.NoError(t, nc.SetDeadline(time.Now().Add(hsTimeout)))
	req := "GET /chat HTTP/1.1\r\nHost: " + addr + "\r\n" + lines + "\r\n"
	_, err = nc.Write(append([]byte(req), after...))
	require.NoError(t, err)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	require.NoError(t, err)
	return nc, br, resp
}

// standardLines are the header lines of a valid handshake carrying sampleKey.
const standardLines = "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: " + sampleKey + "\r\nSec-WebSocket-Version: 13\r\n"

// checkSwitched fails t unless resp is a valid 101 for sampleKey.
func checkSwitched(t *testing.T, resp *http.Response) {
	t.Helper()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		t.Fatalf("got status %s (%q), want 101", resp.Status, body)
	}
	for _, h := range []struct {
		name string
		want []string
	}{
		{name: "Upgrade", want: []string{"websocket"}},
		{name: "Connection", want: []string{"Upgrade"}},
		{name: "Sec-WebSocket-Accept", want: []string{sampleAccept}},
	} {
		if got := resp.Header.Values(h.name); !slices.Equal(got, h.want) {
			t.Errorf("got %s %q, want %q", h.name, got, h.want)
		}
	}
}

func TestUpgradeAccepts(t *testing.T) {
	tests := []struct {
		name  string
		lines string // the request's header lines but Host
	}{
		{
			name:  "canonical",
			lines: standardLines,
		},
		{
			name: "Upgrade token in any case, in a list",
			lines: "Upgrade: foo, WebSocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: " + sampleKey + "\r\nSec-WebSocket-Version: 13\r\n",
		},
		{
			name: "Upgrade token on a second line",
			lines: "Upgrade: foo\r\nUpgrade: WEBSOCKET\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: " + sampleKey + "\r\nSec-WebSocket-Version: 13\r\n",
		},
		{
			name: "Connection keep-alive, Upgrade",
			lines: "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
				"Sec-WebSocket-Key: " + sampleKey + "\r\nSec-WebSocket-Version: 13\r\n",
		},
		{
			name: "Connection lower case on a second line",
			lines: "Upgrade: websocket\r\nConnection: keep-alive\r\nConnection: upgrade\r\n" +
				"Sec-WebSocket-Key: " + sampleKey + "\r\nSec-WebSocket-Version: 13\r\n",
		},
		{
			name:  "same-host origin",
			lines: standardLines + "Origin: http://{{HOST}}\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			addr, results := upgradeServer(t, func(w http.ResponseWriter, r *http.Request) (*Conn, error) {
				return Upgrade(w, r, nil)
			})
			_, _, resp := rawHandshake(t, addr, strings.ReplaceAll(tt.lines, "{{HOST}}", addr), nil)
			c, err := awaitUpgrade(t, results)
			if err != nil || c == nil {
				t.Fatalf("Upgrade: got %v, %v, want a Conn", c, err)
			}
			checkSwitched(t, resp)
		})
	}
}

func TestOriginCheck(t *testing.T) {
	wstest.CheckLeaks(t)
	tests := []struct {
		name     string
		host     string
		origin   string // "" for none
		patterns []string
		skip     bool // InsecureSkipOriginCheck
		wantOK   bool
	}{
		{
			name:   "no origin",
			host:   "example.com",
			wantOK: true,
		},
		{
			name:   "same host",
			host:   "example.com",
			origin: "https://example.com",
			wantOK: true,
		},
		{
			name:   "same host and port, other case",
			host:   "Example.COM:8080",
			origin: "http://example.com:8080",
			wantOK: true,
		},
		{
			name:   "same host, other port",
			host:   "example.com:8080",
			origin: "http://example.com:9090",
			wantOK: false,
		},
		{
			name:   "other host",
			host:   "example.com",
			origin: "https://evil.example",
			wantOK: false,
		},
		{
			name:   "subdomain of the host",
			host:   "example.com",
			origin: "https://evil.example.com",
			wantOK: false,
		},
		{
			name:     "host pattern with wildcard",
			host:     "api.example.com",
			origin:   "https://app.example.com",
			patterns: []string{"*.example.com"},
			wantOK:   true,
		},
		{
			name:     "host pattern, other case",
			host:     "api.example.com",
			origin:   "https://APP.Example.com",
			patterns: []string{"*.EXAMPLE.com"},
			wantOK:   true,
		},
		{
			name:     "wildcard does not match the bare domain",
			host:     "api.example.com",
			origin:   "https://example.com",
			patterns: []string{"*.example.com"},
			wantOK:   false,
		},
		{
			name:     "wildcard does not match a suffix",
			host:     "api.example.com",
			origin:   "https://evilexample.com",
			patterns: []string{"*.example.com"},
			wantOK:   false,
		},
		{
			name:     "localhost with any port",
			host:     "api.example.com",
			origin:   "http://localhost:3000",
			patterns: []string{"localhost:*"},
			wantOK:   true,
		},
		{
			name:     "localhost pattern needs a port",
			host:     "api.example.com",
			origin:   "http://localhost",
			patterns: []string{"localhost:*"},
			wantOK:   false,
		},
		{
			name:     "second pattern matches",
			host:     "api.example.com",
			origin:   "http://localhost:3000",
			patterns: []string{"*.example.com", "localhost:*"},
			wantOK:   true,
		},
		{
			name:     "full-origin pattern",
			host:     "api.example.com",
			origin:   "https://app.example.com",
			patterns: []string{"https://app.example.com"},
			wantOK:   true,
		},
		{
			name:     "full-origin pattern, other scheme",
			host:     "api.example.com",
			origin:   "http://app.example.com",
			patterns: []string{"https://app.example.com"},
			wantOK:   false,
		},
		{
			name:     "full-origin pattern with wildcard",
			host:     "api.example.com",
			origin:   "https://app.example.com",
			patterns: []string{"https://*.example.com"},
			wantOK:   true,
		},
		{
			name:     "malformed pattern matches nothing",
			host:     "api.example.com",
			origin:   "https://app.example.com",
			patterns: []string{"[app.example.com"},
			wantOK:   false,
		},
		{
			name:   "insecure skip",
			host:   "example.com",
			origin: "https://evil.example",
			skip:   true,
			wantOK: true,
		},
		{
			name:   "insecure skip, null origin",
			host:   "example.com",
			origin: "null",
			skip:   true,
			wantOK: true,
		},
		{
			name:   "malformed origin",
			host:   "example.com",
			origin: "http://[::1",
			wantOK: false,
		},
		{
			name:   "origin without scheme",
			host:   "example.com",
			origin: "example.com",
			wantOK: false,
		},
		{
			name:     "null origin",
			host:     "example.com",
			origin:   "null",
			patterns: []string{"*"},
			wantOK:   false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRequest()
			r.Host = tt.host
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			w := httptest.NewRecorder()
			opts := &UpgradeOptions{OriginPatterns: tt.patterns, InsecureSkipOriginCheck: tt.skip}
			status, reason := checkRequest(w, r, opts)
			want := 0
			if !tt.wantOK {
				want = http.StatusForbidden
			}
			if status != want {
				t.Errorf("got status %d (%q), want %d", status, reason, want)
			}
		})
	}
}

// TestOriginRefusalExplains checks that a refused origin is answered with
// 403 and a one-line reason naming the Origin and the Host compared and the
// fix, in the body and in the HandshakeError.
func TestOriginRefusalExplains(t *testing.T) {
	tests := []struct {
		name   string
		host   string
		origin string
		want   string // the reason, in the body after "websocket: "
	}{
		{
			name:   "port dropped by a proxy",
			host:   "127.0.0.1",
			origin: "http://127.0.0.1:8443",
			want:   `Origin "http://127.0.0.1:8443" vs Host "127.0.0.1": same hostname, ports differ; fix: proxy_set_header Host $http_host; (nginx) or list it in UpgradeOptions.OriginPatterns`,
		},
		{
			name:   "other port",
			host:   "Example.com:8080",
			origin: "https://example.COM:8443",
			want:   `Origin "https://example.COM:8443" vs Host "Example.com:8080": same hostname, ports differ; fix: proxy_set_header Host $http_host; (nginx) or list it in UpgradeOptions.OriginPatterns`,
		},
		{
			name:   "other host",
			host:   "example.com",
			origin: "https://evil.example",
			want:   `Origin "https://evil.example" vs Host "example.com": hosts differ; fix: proxy_set_header Host $http_host; (nginx) or list it in UpgradeOptions.OriginPatterns`,
		},
		{
			name:   "opaque origin",
			host:   "example.com",
			origin: "null",
			want:   `opaque origin (null), as sandboxed iframes and file:// pages send, matches neither Host "example.com" nor any OriginPatterns entry; serve the page over http(s)`,
		},
		{
			name:   "malformed origin",
			host:   "example.com",
			origin: "http://[::1",
			want:   `malformed Origin "http://[::1" (Host "example.com"): want scheme://host[:port]`,
		},
		{
			name:   "origin without scheme",
			host:   "example.com",
			origin: "example.com",
			want:   `malformed Origin "example.com" (Host "example.com"): want scheme://host[:port]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRequest()
			r.Host = tt.host
			r.Header.Set("Origin", tt.origin)
			w := httptest.NewRecorder()
			c, err := Upgrade(w, r, &UpgradeOptions{OriginPatterns: []string{"*.example.org"}})
			if c != nil {
				c.CloseNow()
				t.Fatal("got a Conn, want nil")
			}
			if w.Code != http.StatusForbidden {
				t.Errorf("got status %d, want %d", w.Code, http.StatusForbidden)
			}
			if got, want := w.Body.String(), "websocket: "+tt.want+"\n"; got != want {
				t.Errorf("got body %q, want %q", got, want)
			}
			if len(w.Body.String()) > 200 {
				t.Errorf("got a body of %d bytes, want at most 200", w.Body.Len())
			}
			var he *HandshakeError
			if !errors.As(err, &he) {
				t.Fatalf("got error %v, want a *HandshakeError", err)
			}
			if he.Reason != tt.want {
				t.Errorf("got Reason %q, want %q", he.Reason, tt.want)
			}
			if got, want := err.Error(), "websocket: bad handshake: "+tt.want; got != want {
				t.Errorf("got error %q, want %q", got, want)
			}
		})
	}
}

// TestOriginReasonFits checks that an origin refusal stays within 200 bytes
// of body and on one line, whatever the Origin and Host hold.
func TestOriginReasonFits(t *testing.T) {
	long := strings.Repeat("a", 1000)
	tests := []struct {
		name   string
		host   string
		origin string
		want   string // the reason, exactly 200-len("websocket: \n") bytes
	}{
		{
			name:   "long origin",
			host:   "example.com",
			origin: "https://" + long + ".example",
			want:   `Origin "https://` + long[:40] + `..." vs Host "example.com": hosts differ; fix: proxy_set_header Host $http_host; (nginx) or list it in UpgradeOptions.OriginPatterns`,
		},
		{
			name:   "long origin and host",
			host:   long + ".example.com",
			origin: "https://" + long + ".example",
			want:   `Origin "https://` + long[:20] + `..." vs Host "` + long[:28] + `...": hosts differ; fix: proxy_set_header Host $http_host; (nginx) or list it in UpgradeOptions.OriginPatterns`,
		},
		{
			name:   "long malformed origin with line breaks",
			host:   "example.com",
			origin: "\r\n" + long,
			want:   `malformed Origin "\r\n` + long[:114] + `..." (Host "example.com"): want scheme://host[:port]`,
		},
		{
			name:   "long host, opaque origin",
			host:   "é" + long,
			origin: "null",
			want:   `opaque origin (null), as sandboxed iframes and file:// pages send, matches neither Host "é` + long[:35] + `..." nor any OriginPatterns entry; serve the page over http(s)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRequest()
			r.Host = tt.host
			r.Header["Origin"] = []string{tt.origin}
			err := checkOrigin(r, nil)
			if err == nil {
				t.Fatal("got nil, want a refusal")
			}
			got := err.Error()
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if n := len("websocket: " + got + "\n"); n > 200 {
				t.Errorf("got a body of %d bytes, want at most 200", n)
			}
			if !utf8.ValidString(got) {
				t.Errorf("got %q, want valid UTF-8", got)
			}
			if strings.ContainsAny(got, "\r\n") {
				t.Errorf("got %q, want one line", got)
			}
		})
	}
}

func TestSubprotocolNegotiation(t *testing.T) {
	tests := []struct {
		name   string
		server []string
		lines  string // the client's Sec-WebSocket-Protocol lines
		want   string
	}{
		{
			name:   "server's preference wins",
			server: []string{"v2.chat", "v1.chat"},
			lines:  "Sec-WebSocket-Protocol: v1.chat, v2.chat\r\n",
			want:   "v2.chat",
		},
		{
			name:   "only common protocol",
			server: []string{"v2.chat", "v1.chat"},
			lines:  "Sec-WebSocket-Protocol: mqtt, v1.chat\r\n",
			want:   "v1.chat",
		},
		{
			name:   "several header lines",
			server: []string{"graphql-ws", "graphql-transport-ws"},
			lines:  "Sec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Protocol: soap,graphql-transport-ws\r\n",
			want:   "graphql-transport-ws",
		},
		{
			name:   "spaces and empty elements",
			server: []string{"b"},
			lines:  "Sec-WebSocket-Protocol: ,a ,  b  ,\r\n",
			want:   "b",
		},
		{
			name:   "none in common",
			server: []string{"v2.chat"},
			lines:  "Sec-WebSocket-Protocol: mqtt, soap\r\n",
			want:   "",
		},
		{
			name:   "client offers none",
			server: []string{"v2.chat"},
			want:   "",
		},
		{
			name:   "server speaks none",
			server: nil,
			lines:  "Sec-WebSocket-Protocol: v2.chat\r\n",
			want:   "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			addr, results := upgradeServer(t, func(w http.ResponseWriter, r *http.Request) (*Conn, error) {
				return Upgrade(w, r, &UpgradeOptions{Subprotocols: tt.server})
			})
			_, _, resp := rawHandshake(t, addr, standardLines+tt.lines, nil)
			c, err := awaitUpgrade(t, results)
			require.NoError(t, err)
			checkSwitched(t, resp)
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if got := resp.Header.Values("Sec-WebSocket-Protocol"); !slices.Equal(got, want) {
				t.Errorf("got Sec-WebSocket-Protocol %q, want %q", got, want)
			}
			if got := c.Subprotocol(); got != tt.want {
				t.Errorf("got Subprotocol() %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUpgradeResponseHeaders(t *testing.T) {
	tests := []struct {
		name     string
		writer   http.Header // set on the ResponseWriter before Upgrade
		options  http.Header // UpgradeOptions.ResponseHeader
		want     http.Header // must appear in the 101 as they are
		protocol string      // the subprotocol the client offers and the server speaks
	}{
		{
			name:    "Set-Cookie from the options",
			options: http.Header{"Set-Cookie": {"session=abc; HttpOnly"}},
			want:    http.Header{"Set-Cookie": {"session=abc; HttpOnly"}},
		},
		{
			name:   "headers set on the writer",
			writer: http.Header{"X-Request-Id": {"42"}, "Set-Cookie": {"a=1"}},
			want:   http.Header{"X-Request-Id": {"42"}, "Set-Cookie": {"a=1"}},
		},
		{
			name:    "writer and options merged",
			writer:  http.Header{"Set-Cookie": {"a=1"}},
			options: http.Header{"Set-Cookie": {"b=2"}, "X-Server": {"wsforge"}},
			want:    http.Header{"Set-Cookie": {"a=1", "b=2"}, "X-Server": {"wsforge"}},
		},
		{
			name: "handshake headers on the writer are ignored",
			writer: http.Header{
				"Upgrade":                  {"h2c"},
				"Connection":               {"close"},
				"Sec-Websocket-Accept":     {"forged"},
				"Sec-Websocket-Protocol":   {"forged"},
				"Sec-Websocket-Extensions": {"permessage-deflate"},
				"Content-Length":           {"5"},
				"X-Kept":                   {"yes"},
			},
			want:     http.Header{"X-Kept": {"yes"}},
			protocol: "chat",
		},
		{
			name: "handshake headers in the options are ignored",
			options: http.Header{
				"Upgrade":                  {"h2c"},
				"Connection":               {"close"},
				"Sec-Websocket-Accept":     {"forged"},
				"Sec-Websocket-Protocol":   {"forged"},
				"Sec-Websocket-Extensions": {"permessage-deflate"},
				"Transfer-Encoding":        {"chunked"},
				"X-Kept":                   {"yes"},
			},
			want:     http.Header{"X-Kept": {"yes"}},
			protocol: "chat",
		},
		{
			name: "non-canonical handshake keys in the options are ignored",
			options: http.Header{
				"upgrade":              {"h2c"},
				"CONNECTION":           {"close"},
				"sec-websocket-accept": {"forged"},
				"Sec-WebSocket-Accept": {"forged"},
				"x-kept":               {"yes"},
			},
			want: http.Header{"X-Kept": {"yes"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			opts := &UpgradeOptions{ResponseHeader: tt.options.Clone()}
			if tt.protocol != "" {
				opts.Subprotocols = []string{tt.protocol}
			}
			addr, results := upgradeServer(t, func(w http.ResponseWriter, r *http.Request) (*Conn, error) {
				for k, vs := range tt.writer {
					w.Header()[k] = vs
				}
				return Upgrade(w, r, opts)
			})
			lines := standardLines
			if tt.protocol != "" {
				lines += "Sec-WebSocket-Protocol: " + tt.protocol + "\r\n"
			}
			nc, br, resp := rawHandshake(t, addr, lines, nil)
			c, err := awaitUpgrade(t, results)
			require.NoError(t, err)
			checkSwitched(t, resp)
			for k, want := range tt.want {
				if got := resp.Header.Values(k); !slices.Equal(got, want) {
					t.Errorf("got %s %q, want %q", k, got, want)
				}
			}
			var wantProtocol []string
			if tt.protocol != "" {
				wantProtocol = []string{tt.protocol}
			}
			for k, want := range map[string][]string{
				"Sec-WebSocket-Protocol":   wantProtocol,
				"Sec-WebSocket-Extensions": nil,
				"Content-Length":           nil,
				"Transfer-Encoding":        nil,
			} {
				if got := resp.Header.Values(k); !slices.Equal(got, want) {
					t.Errorf("got %s %q, want %q", k, got, want)
				}
			}
			if !equalHeader(opts.ResponseHeader, tt.options) {
				t.Errorf("got options.ResponseHeader %v after Upgrade, want it unchanged: %v", opts.ResponseHeader, tt.options)
			}
			// The connection works after the 101.
			client := newConn(nc, br, true, (*DialOptions)(nil).connConfig())
			roundTripOnce(t, c, client)
		})
	}
}

// equalHeader reports whether a and b hold the same keys and values.
func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		if vb, ok := b[k]; !ok || !slices.Equal(va, vb) {
			return false
		}
	}
	return true
}

// roundTripOnce sends a message from client to server and back.
func roundTripOnce(t *testing.T, server, client *Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hsTimeout)
	defer cancel()
	require.NoError(t, client.Write(ctx, MessageText, []byte("ping?")))
	typ, msg, err := server.Read(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, server.Write(ctx, typ, msg))
	typ, msg, err = client.Read(ctx, nil)
	require.NoError(t, err)
	if typ != MessageText || string(msg) != "ping?" {
		t.Errorf("got %v %q, want text %q", typ, msg, "ping?")
	}
}

// unwrapOnly hides every optional interface of the ResponseWriter it wraps,
// Hijacker included, but lets http.ResponseController reach it.
type unwrapOnly struct{ http.ResponseWriter }

func (w unwrapOnly) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// opaque hides every optional interface of the ResponseWriter it wraps.
type opaque struct{ http.ResponseWriter }

func TestUpgradeHijack(t *testing.T) {
	if _, ok := any(unwrapOnly{}).(http.Hijacker); ok {
		t.Fatal("unwrapOnly implements http.Hijacker; the test would prove nothing")
	}
	tests := []struct {
		name   string
		wrap   func(http.ResponseWriter) http.ResponseWriter
		wantOK bool
	}{
		{
			name:   "plain ResponseWriter",
			wrap:   func(w http.ResponseWriter) http.ResponseWriter { return w },
			wantOK: true,
		},
		{
			name:   "middleware with Unwrap",
			wrap:   func(w http.ResponseWriter) http.ResponseWriter { return unwrapOnly{w} },
			wantOK: true,
		},
		{
			name:   "two layers of middleware",
			wrap:   func(w http.ResponseWriter) http.ResponseWriter { return unwrapOnly{unwrapOnly{w}} },
			wantOK: true,
		},
		{
			name:   "middleware that cannot hijack",
			wrap:   func(w http.ResponseWriter) http.ResponseWriter { return opaque{w} },
			wantOK: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			addr, results := upgradeServer(t, func(w http.ResponseWriter, r *http.Request) (*Conn, error) {
				return Upgrade(tt.wrap(w), r, nil)
			})
			nc, br, resp := rawHandshake(t, addr, standardLines, nil)
			c, err := awaitUpgrade(t, results)
			if !tt.wantOK {
				if c != nil || !errors.Is(err, http.ErrNotSupported) {
					t.Errorf("got %v, %v, want no Conn and an error wrapping http.ErrNotSupported", c, err)
				}
				if resp.StatusCode != http.StatusInternalServerError {
					t.Errorf("got status %s, want 500", resp.Status)
				}
				return
			}
			require.NoError(t, err)
			checkSwitched(t, resp)
			client := newConn(nc, br, true, (*DialOptions)(nil).connConfig())
			roundTripOnce(t, c, client)
		})
	}
}

func TestUpgradeRecorderCannotHijack(t *testing.T) {
	wstest.CheckLeaks(t)
	w := httptest.NewRecorder()
	c, err := Upgrade(w, validRequest(), nil)
	if c != nil || err == nil {
		t.Fatalf("got %v, %v, want no Conn and an error", c, err)
	}
	if !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("got error %v, want one wrapping http.ErrNotSupported", err)
	}
	if w.Code != http.StatusInternalServerError {
		t.Errorf("got status %d, want 500", w.Code)
	}
}

// clientFrame encodes a masked frame as a client sends it, masking with a
// loop of its own so that the test does not depend on mask.
func clientFrame(op opcode, fin bool, payload []byte) []byte {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	var hdr [maxHeaderSize]byte
	n := putHeader(hdr[:], header{
		fin:    fin,
		op:     op,
		masked: true,
		key:    binary.LittleEndian.Uint32(key[:]),
		length: int64(len(payload)),
	})
	out := append([]byte(nil), hdr[:n]...)
	for i, b := range payload {
		out = append(out, b^key[i%4])
	}
	return out
}

func TestUpgradePipelinedFrames(t *testing.T) {
	type message struct {
		typ  MessageType
		data string
	}
	big := strings.Repeat("0123456789abcdef", 1024) // larger than the read buffers
	closeBody := append(binary.BigEndian.AppendUint16(nil, uint16(StatusNormalClosure)), "done"...)
	tests := []struct {
		name   string
		frames [][]byte
		want   []message
		pongs  int // pings among the frames
	}{
		{
			name:   "one text frame",
			frames: [][]byte{clientFrame(opText, true, []byte("hello"))},
			want:   []message{{MessageText, "hello"}},
		},
		{
			name: "several frames",
			frames: [][]byte{
				clientFrame(opText, true, []byte("hello")),
				clientFrame(opBinary, true, []byte{0, 1, 2, 0xff}),
				clientFrame(opText, false, []byte("frag")),
				clientFrame(opPing, true, []byte("p")),
				clientFrame(opContinuation, true, []byte("ment")),
			},
			want: []message{
				{MessageText, "hello"},
				{MessageBinary, "\x00\x01\x02\xff"},
				{MessageText, "fragment"},
			},
			pongs: 1,
		},
		{
			name: "frames beyond the HTTP server's buffer",
			frames: [][]byte{
				clientFrame(opText, true, []byte("first")),
				clientFrame(opBinary, true, []byte(big)),
				clientFrame(opText, true, []byte("last")),
			},
			want: []message{
				{MessageText, "first"},
				{MessageBinary, big},
				{MessageText, "last"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			type outcome struct {
				got []message
				err error
			}
			outcomes := make(chan outcome, 1)
			addr, results := upgradeServer(t, func(w http.ResponseWriter, r *http.Request) (*Conn, error) {
				c, err := Upgrade(w, r, nil)
				if err != nil {
					return nil, err
				}
				// The first Read happens before anything else touches the
				// connection: the frames can only come from what net/http
				// had buffered and what is still in the socket.
				var o outcome
				for {
					typ, data, err := c.Read(context.Background(), nil)
					if err != nil {
						o.err = err
						break
					}
					o.got = append(o.got, message{typ, string(data)})
				}
				outcomes <- o
				return c, nil
			})
			var after []byte
			for _, f := range tt.frames {
				after = append(after, f...)
			}
			after = append(after, clientFrame(opClose, true, closeBody)...)
			_, br, resp := rawHandshake(t, addr, standardLines, after)
			checkSwitched(t, resp)
			o := recvWithin(t, outcomes, "end of the server's reading")
			_, err := awaitUpgrade(t, results)
			require.NoError(t, err)
			if len(o.got) != len(tt.want) {
				t.Errorf("got %d messages, want %d", len(o.got), len(tt.want))
			}
			for i := range min(len(o.got), len(tt.want)) {
				if got, want := o.got[i], tt.want[i]; got != want {
					t.Errorf("message %d: got %v of %d bytes, want %v of %d bytes", i, got.typ, len(got.data), want.typ, len(want.data))
				}
			}
			var ce *CloseError
			if !errors.As(o.err, &ce) || ce.Code != StatusNormalClosure || ce.Reason != "done" {
				t.Errorf("got Read error %v, want the client's close 1000 %q", o.err, "done")
			}
			// The server answered the ping, then echoed the close.
			var pongs int
			for {
				h, n, err := peekHeader(br)
				require.NoError(t, err)
				br.Discard(n)
				payload := make([]byte, h.length)
				_, err = io.ReadFull(br, payload)
				require.NoError(t, err)
				if h.op == opPong {
					pongs++
					continue
				}
				if h.op != opClose || binary.BigEndian.Uint16(payload) != uint16(StatusNormalClosure) {
					t.Errorf("got frame %v %q, want close 1000", h.op, payload)
				}
				break
			}
			if pongs != tt.pongs {
				t.Errorf("got %d pongs, want %d", pongs, tt.pongs)
			}
		})
	}
}

// refAccept computes Sec-WebSocket-Accept the plain way.
func refAccept(key string) string {
	sum := sha1.Sum([]byte(key + keyGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestAcceptKey(t *testing.T) {
	wstest.CheckLeaks(t)
	tests := []struct {
		name string
		key  string
		want string
	}{
		{
			name: "RFC 6455 section 1.3",
			key:  sampleKey,
			want: sampleAccept,
		},
		{
			name: "another 16-byte key",
			key:  b64(16, 0xa5),
			want: refAccept(b64(16, 0xa5)),
		},
		{
			name: "empty key",
			key:  "",
			want: refAccept(""),
		},
		{
			name: "key longer than 24 bytes",
			key:  strings.Repeat("k", 40),
			want: refAccept(strings.Repeat("k", 40)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := acceptKey(tt.key); string(got[:]) != tt.want {
				t.Errorf("got %q, want %q", got[:], tt.want)
			}
		})
	}
}

func TestAcceptKeyAllocs(t *testing.T) {
	wstest.CheckLeaks(t)
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	var sink [28]byte
	if n := testing.AllocsPerRun(100, func() { sink = acceptKey(sampleKey) }); n != 0 {
		t.Errorf("got %v allocations per acceptKey, want 0", n)
	}
	_ = sink
}

func TestHandshakeValidKey(t *testing.T) {
	wstest.CheckLeaks(t)
	tests := []struct {
		name string
		key  string
		want bool
	}{
		{
			name: "RFC sample",
			key:  sampleKey,
			want: true,
		},
		{
			name: "16 bytes",
			key:  b64(16, 0xfe),
			want: true,
		},
		{
			name: "empty",
			key:  "",
			want: false,
		},
		{
			name: "15 bytes",
			key:  b64(15, 'a'),
			want: false,
		},
		{
			name: "17 bytes",
			key:  b64(17, 'a'),
			want: false,
		},
		{
			name: "18 bytes, no padding",
			key:  b64(18, 'a'),
			want: false,
		},
		{
			name: "16 bytes without padding",
			key:  strings.TrimRight(sampleKey, "="),
			want: false,
		},
		{
			name: "URL-safe alphabet",
			key:  "_____________________w==",
			want: false,
		},
		{
			name: "not Base64",
			key:  "not base64 at all!!!!!!!",
			want: false,
		},
		{
			name: "embedded newline",
			key:  "dGhlIHNhbXBs\nZSBub25jZQ=",
			want: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validKey(tt.key); got != tt.want {
				t.Errorf("validKey(%q): got %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

func TestHandshakeHeaderHasToken(t *testing.T) {
	wstest.CheckLeaks(t)
	tests := []struct {
		name   string
		values []string
		token  string
		want   bool
	}{
		{
			name:   "exact",
			values: []string{"websocket"},
			token:  "websocket",
			want:   true,
		},
		{
			name:   "other case",
			values: []string{"WebSocket"},
			token:  "websocket",
			want:   true,
		},
		{
			name:   "in a list",
			values: []string{"foo, WebSocket"},
			token:  "websocket",
			want:   true,
		},
		{
			name:   "on a second line",
			values: []string{"keep-alive", "Upgrade"},
			token:  "upgrade",
			want:   true,
		},
		{
			name:   "surrounded by spaces and empty elements",
			values: []string{" , \t upgrade \t,,"},
			token:  "upgrade",
			want:   true,
		},
		{
			name:   "absent",
			values: nil,
			token:  "upgrade",
			want:   false,
		},
		{
			name:   "empty value",
			values: []string{""},
			token:  "upgrade",
			want:   false,
		},
		{
			name:   "prefix only",
			values: []string{"upgraded"},
			token:  "upgrade",
			want:   false,
		},
		{
			name:   "token inside another",
			values: []string{"keep-alive-upgrade"},
			token:  "upgrade",
			want:   false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Connection": tt.values}
			if got := headerHasToken(h, "Connection", tt.token); got != tt.want {
				t.Errorf("headerHasToken(%q, %q): got %v, want %v", tt.values, tt.token, got, tt.want)
			}
		})
	}
}

func TestHandshakeHeaderTokens(t *testing.T) {
	wstest.CheckLeaks(t)
	tests := []struct {
		name   string
		values []string
		want   []string
	}{
		{
			name:   "absent",
			values: nil,
			want:   nil,
		},
		{
			name:   "one",
			values: []string{"chat"},
			want:   []string{"chat"},
		},
		{
			name:   "list",
			values: []string{"chat, superchat"},
			want:   []string{"chat", "superchat"},
		},
		{
			name:   "several lines",
			values: []string{"a,b", "c"},
			want:   []string{"a", "b", "c"},
		},
		{
			name:   "spaces and empty elements",
			values: []string{" , a ,\t, b ", ""},
			want:   []string{"a", "b"},
		},
		{
			name:   "case kept",
			values: []string{"Chat"},
			want:   []string{"Chat"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Sec-Websocket-Protocol": tt.values}
			if got := headerTokens(h, "Sec-WebSocket-Protocol"); !slices.Equal(got, tt.want) {
				t.Errorf("headerTokens(%q): got %q, want %q", tt.values, got, tt.want)
			}
		})
	}
}
