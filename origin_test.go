package websocket

// The origin check of Upgrade: which Origin headers pass for a Host and
// OriginPatterns, and the one-line reason a refusal gives.

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wsforge/websocket/internal/wstest"
)

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
