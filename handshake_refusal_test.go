package websocket

// Upgrade's refusals: the status code, headers and short plain-text reason
// it answers to each kind of bad request, without hijacking the connection.
// The reasons of origin refusals are checked in origin_test.go.

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/wsforge/websocket/internal/wstest"
)

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
