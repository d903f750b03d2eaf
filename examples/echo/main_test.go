package main

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/internal/wstest"
)

// testTimeout bounds every operation of a test, so that a bug fails the
// test instead of hanging it.
const testTimeout = 30 * time.Second

// startServer serves an echoServer with cfg over loopback and returns it
// with its ws:// URL.
func startServer(t *testing.T, cfg config) (*echoServer, string) {
	t.Helper()
	es := newEchoServer(cfg)
	srv := httptest.NewServer(es)
	t.Cleanup(srv.Close)
	return es, "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
}

// dial connects to url with a read limit that fits the largest echo.
func dial(t *testing.T, ctx context.Context, url string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{ReadLimit: readLimit})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// roundTrip writes a message and checks that it comes back unchanged.
func roundTrip(t *testing.T, ctx context.Context, c *websocket.Conn, typ websocket.MessageType, p []byte) {
	t.Helper()
	if err := c.Write(ctx, typ, p); err != nil {
		t.Fatalf("Write: %v", err)
	}
	gotType, got, err := c.Read(ctx, nil)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if gotType != typ {
		t.Errorf("got type %v, want %v", gotType, typ)
	}
	if !bytes.Equal(got, p) {
		t.Errorf("got %d bytes, want %d bytes equal to those sent", len(got), len(p))
	}
}

func TestEcho(t *testing.T) {
	big := make([]byte, readLimit)
	for i := range big {
		big[i] = byte(rand.Uint32())
	}
	bigText := []byte(strings.Repeat("wsforge é ", readLimit/len("wsforge é ")))

	messages := []struct {
		name    string
		typ     websocket.MessageType
		payload []byte
	}{
		{
			name:    "text",
			typ:     websocket.MessageText,
			payload: []byte("hello, wsforge"),
		},
		{
			name:    "binary",
			typ:     websocket.MessageBinary,
			payload: []byte{0, 1, 2, 0xfe, 0xff},
		},
		{
			name:    "empty text",
			typ:     websocket.MessageText,
			payload: []byte{},
		},
		{
			name:    "empty binary",
			typ:     websocket.MessageBinary,
			payload: []byte{},
		},
		{
			name:    "16 MiB binary",
			typ:     websocket.MessageBinary,
			payload: big,
		},
		{
			name:    "text near the limit",
			typ:     websocket.MessageText,
			payload: bigText,
		},
		{
			name:    "small after large",
			typ:     websocket.MessageText,
			payload: []byte("still here"),
		},
	}
	servers := []struct {
		name     string
		compress bool
	}{
		{
			name:     "plain",
			compress: false,
		},
		{
			name:     "permessage-deflate",
			compress: true,
		},
	}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			_, url := startServer(t, config{compress: srv.compress})
			opts := &websocket.DialOptions{ReadLimit: readLimit}
			if srv.compress {
				opts.Compression = &websocket.CompressionOptions{}
			}
			c, resp, err := websocket.Dial(ctx, url, opts)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.CloseNow()
			ext := resp.Header.Get("Sec-WebSocket-Extensions")
			if got := strings.Contains(ext, "permessage-deflate"); got != srv.compress {
				t.Errorf("got Sec-WebSocket-Extensions %q, want permessage-deflate negotiated: %v", ext, srv.compress)
			}
			for _, m := range messages {
				t.Run(m.name, func(t *testing.T) {
					roundTrip(t, ctx, c, m.typ, m.payload)
				})
			}
			if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

func TestEchoStreamed(t *testing.T) {
	wstest.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	_, url := startServer(t, config{})
	c := dial(t, ctx, url)

	// A message sent in many fragments comes back whole, with its type.
	w, err := c.Writer(ctx, websocket.MessageText)
	if err != nil {
		t.Fatalf("Writer: %v", err)
	}
	var want bytes.Buffer
	for i := range 1000 {
		line := strings.Repeat("x", i%97) + "\n"
		want.WriteString(line)
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close writer: %v", err)
	}
	typ, got, err := c.Read(ctx, nil)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if typ != websocket.MessageText || !bytes.Equal(got, want.Bytes()) {
		t.Errorf("got %v message of %d bytes, want text of %d bytes equal to those sent", typ, len(got), want.Len())
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestEchoTooBig(t *testing.T) {
	wstest.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	_, url := startServer(t, config{})
	c := dial(t, ctx, url)

	// The server refuses the message from its header, before buffering it;
	// the write may or may not complete before the close frame arrives.
	werr := c.Write(ctx, websocket.MessageBinary, make([]byte, readLimit+1))
	_, _, err := c.Read(ctx, nil)
	if got, want := websocket.CloseStatus(err), websocket.StatusMessageTooBig; got != want {
		t.Errorf("got status %v (Write: %v, Read: %v), want %v", got, werr, err, want)
	}
}

func TestIdleTimeout(t *testing.T) {
	wstest.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	_, url := startServer(t, config{idleTimeout: 50 * time.Millisecond})
	c := dial(t, ctx, url)

	_, _, err := c.Read(ctx, nil)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusNormalClosure || ce.Reason != "idle timeout" {
		t.Errorf("got %v, want a close with status %v and reason %q", err, websocket.StatusNormalClosure, "idle timeout")
	}
}

func TestOriginCheck(t *testing.T) {
	tests := []struct {
		name       string
		patterns   []string
		origin     string
		wantStatus int // 0 for a successful handshake
	}{
		{
			name:       "no origin",
			origin:     "",
			wantStatus: 0,
		},
		{
			name:       "same host",
			origin:     "http://{host}",
			wantStatus: 0,
		},
		{
			name:       "other host refused by default",
			origin:     "https://evil.example",
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "other host allowed by a pattern",
			patterns:   []string{"*.example.com"},
			origin:     "https://app.example.com",
			wantStatus: 0,
		},
		{
			name:       "other host not matching the pattern",
			patterns:   []string{"*.example.com"},
			origin:     "https://example.org",
			wantStatus: http.StatusForbidden,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			_, url := startServer(t, config{originPatterns: tt.patterns})
			h := http.Header{}
			if tt.origin != "" {
				host := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")
				h.Set("Origin", strings.ReplaceAll(tt.origin, "{host}", host))
			}
			c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Header: h})
			if c != nil {
				defer c.Close(websocket.StatusNormalClosure, "")
			}
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				return
			}
			if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != tt.wantStatus {
				t.Errorf("got %v (response %v), want a bad handshake with HTTP status %d", err, resp, tt.wantStatus)
			}
		})
	}
}

func TestShutdown(t *testing.T) {
	tests := []struct {
		name    string
		clients int  // connected before Shutdown
		silent  bool // the clients do not read until Shutdown returns
		wantErr error
	}{
		{
			name:    "no connections",
			clients: 0,
			wantErr: nil,
		},
		{
			name:    "open connections",
			clients: 3,
			wantErr: nil,
		},
		{
			name:    "clients that do not answer",
			clients: 2,
			silent:  true,
			wantErr: context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			es, url := startServer(t, config{})
			var conns []*websocket.Conn
			for range tt.clients {
				c := dial(t, ctx, url)
				// A round trip proves the server is tracking c.
				roundTrip(t, ctx, c, websocket.MessageText, []byte("hi"))
				conns = append(conns, c)
			}

			grace := testTimeout
			if tt.silent {
				grace = 100 * time.Millisecond
			}
			sctx, scancel := context.WithTimeout(ctx, grace)
			defer scancel()
			shutdown := make(chan error, 1)
			go func() { shutdown <- es.Shutdown(sctx) }()
			if tt.silent {
				if err := <-shutdown; !errors.Is(err, tt.wantErr) {
					t.Errorf("got Shutdown error %v, want %v", err, tt.wantErr)
				}
			}
			for i, c := range conns {
				_, _, err := c.Read(ctx, nil)
				if got, want := websocket.CloseStatus(err), websocket.StatusGoingAway; got != want {
					t.Errorf("client %d: got status %v (%v), want %v", i, got, err, want)
				}
			}
			if !tt.silent {
				if err := <-shutdown; !errors.Is(err, tt.wantErr) {
					t.Errorf("got Shutdown error %v, want %v", err, tt.wantErr)
				}
			}

			// A connection made after Shutdown is told to go away at once.
			late := dial(t, ctx, url)
			_, _, err := late.Read(ctx, nil)
			if got, want := websocket.CloseStatus(err), websocket.StatusGoingAway; got != want {
				t.Errorf("late client: got status %v (%v), want %v", got, err, want)
			}
		})
	}
}

// TestRun exercises the command's whole life: listen, echo, and on the end
// of its context (a signal, in main) shut down with 1001.
func TestRun(t *testing.T) {
	wstest.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(runCtx, ln, config{}, testTimeout, &out) }()

	url := "ws://" + ln.Addr().String() + "/"
	c := dial(t, ctx, url)
	roundTrip(t, ctx, c, websocket.MessageBinary, []byte{1, 2, 3})
	stop()
	_, _, err = c.Read(ctx, nil)
	if got, want := websocket.CloseStatus(err), websocket.StatusGoingAway; got != want {
		t.Errorf("got status %v (%v), want %v", got, err, want)
	}
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if want := "listening on " + url + "\n"; !strings.Contains(out.String(), want) {
		t.Errorf("got output %q, want it to contain %q", out.String(), want)
	}
	if _, _, err := websocket.Dial(ctx, url, nil); err == nil {
		t.Errorf("Dial after run returned: got nil error, want a refused connection")
	}
}
