package conntrack_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/conntrack"
	"github.com/wsforge/websocket/internal/wstest"
	"github.com/wsforge/websocket/websockettest"
)

func TestMain(m *testing.M) { os.Exit(wstest.CheckMain(m)) }

// pipeHijacker is a ResponseWriter whose connection, one end of a
// net.Pipe, can be taken over, so that upgrades run inside a synctest
// bubble.
type pipeHijacker struct {
	*httptest.ResponseRecorder
	nc net.Conn
	br *bufio.Reader
}

func (w pipeHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.nc, bufio.NewReadWriter(w.br, bufio.NewWriter(w.nc)), nil
}

// wsRequest returns a valid opening handshake request.
func wsRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://example.com/ws", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	return r
}

// slowReader is a client's end of the pipe that waits before its first
// read, so that the server's 101 stays unwritten until then.
type slowReader struct {
	net.Conn
	delay time.Duration
	once  sync.Once
}

func (c *slowReader) Read(p []byte) (int, error) {
	c.once.Do(func() { time.Sleep(c.delay) })
	return c.Conn.Read(p)
}

// trackedPipe upgrades, through tr, a connection that websocket.Dial opens
// over a net.Pipe, and returns the server's Conn and the client's. The
// client reads the 101 response after delay. Both are closed when t ends.
func trackedPipe(t *testing.T, tr *conntrack.Tracker, opts *websocket.UpgradeOptions, delay time.Duration) (server, client *websocket.Conn) {
	t.Helper()
	theirs, ours := net.Pipe()
	dialed := make(chan *websocket.Conn, 1)
	go func() {
		c, _, err := websocket.Dial(context.Background(), "ws://pipe/ws", &websocket.DialOptions{
			NetDialContext: func(context.Context, string, string) (net.Conn, error) {
				return &slowReader{Conn: ours, delay: delay}, nil
			},
			Proxy: func(*http.Request) (*url.URL, error) { return nil, nil },
		})
		if err != nil {
			t.Errorf("Dial: %v", err)
			ours.Close()
		}
		dialed <- c
	}()
	br := bufio.NewReader(theirs)
	r, err := http.ReadRequest(br)
	if err != nil {
		theirs.Close()
		<-dialed
		t.Fatalf("reading the request: %v", err)
	}
	server, err = tr.Upgrade(pipeHijacker{httptest.NewRecorder(), theirs, br}, r, opts)
	client = <-dialed
	if err != nil || client == nil {
		theirs.Close()
		if client != nil {
			client.CloseNow()
		}
		t.Fatalf("Upgrade: %v", err)
	}
	t.Cleanup(func() {
		server.CloseNow()
		client.CloseNow()
	})
	return server, client
}

// readLoop reads c until an error, which it sends on the channel returned.
// Reading answers the peer's close frame.
func readLoop(c *websocket.Conn) <-chan error {
	ch := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.Read(context.Background(), nil); err != nil {
				ch <- err
				return
			}
		}
	}()
	return ch
}

// recordingHook records a Tracker's events.
type recordingHook struct {
	mu     sync.Mutex
	events []string
	closed []websocket.ConnStats
}

func (h *recordingHook) add(e string) {
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
}

func (h *recordingHook) ConnOpened() { h.add("open") }
func (h *recordingHook) ConnClosed(s websocket.ConnStats) {
	h.mu.Lock()
	h.events = append(h.events, "close")
	h.closed = append(h.closed, s)
	h.mu.Unlock()
}
func (h *recordingHook) HandshakeFailed(f conntrack.Failure) { h.add(string(f)) }

// snapshot returns copies of the events and of the stats of ConnClosed.
func (h *recordingHook) snapshot() ([]string, []websocket.ConnStats) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events), slices.Clone(h.closed)
}

func TestCap(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		tr := &conntrack.Tracker{MaxConns: 2, RetryAfter: 1500 * time.Millisecond}
		first, _ := trackedPipe(t, tr, nil, 0)
		trackedPipe(t, tr, nil, 0)

		w := httptest.NewRecorder()
		_, err := tr.Upgrade(w, wsRequest(), nil)
		var he *websocket.HandshakeError
		if !errors.As(err, &he) || he.Status != http.StatusServiceUnavailable ||
			w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "2" {
			t.Fatalf("third upgrade: got %v, %d, Retry-After %q; want a HandshakeError, 503, 2", err, w.Code, w.Header().Get("Retry-After"))
		}
		m := tr.Metrics()
		if m.ConnsActive != 2 || m.ConnsTotal != 2 || m.HandshakeFailures[conntrack.FailureOverCapacity] != 1 {
			t.Errorf("Metrics: got %+v, want 2 active of 2 and 1 over capacity", m)
		}
		// A closed connection frees its place once the Tracker has seen
		// its Context done.
		first.CloseNow()
		synctest.Wait()
		trackedPipe(t, tr, nil, 0)
		if m := tr.Metrics(); m.ConnsActive != 2 || m.ConnsTotal != 3 {
			t.Errorf("after a close: got %d active of %d, want 2 of 3", m.ConnsActive, m.ConnsTotal)
		}
	})
}

func TestRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		name       string
		retryAfter time.Duration
		want       string
	}{
		{
			name:       "zero",
			retryAfter: 0,
			want:       "5",
		},
		{
			name:       "negative",
			retryAfter: -time.Second,
			want:       "5",
		},
		{
			name:       "whole seconds",
			retryAfter: 3 * time.Second,
			want:       "3",
		},
		{
			name:       "rounded up",
			retryAfter: time.Millisecond,
			want:       "1",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := &conntrack.Tracker{RetryAfter: tt.retryAfter}
			tr.Shutdown(context.Background())
			w := httptest.NewRecorder()
			if _, err := tr.Upgrade(w, wsRequest(), nil); err == nil {
				t.Fatal("Upgrade succeeded after Shutdown")
			}
			if got := w.Header().Get("Retry-After"); got != tt.want {
				t.Errorf("Retry-After: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestShutdown(t *testing.T) {
	wstest.CheckLeaks(t)
	for _, tt := range []struct {
		name          string
		serverReading bool
	}{
		{
			name:          "server reading",
			serverReading: true,
		},
		{
			name:          "server not reading",
			serverReading: false,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hook := &recordingHook{}
				tr := &conntrack.Tracker{Hook: hook}
				var clientErrs []<-chan error
				for range 3 {
					sc, cc := trackedPipe(t, tr, nil, 0)
					clientErrs = append(clientErrs, readLoop(cc)) // replies to the close
					if tt.serverReading {
						readLoop(sc)
					}
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				start := time.Now()
				if err := tr.Shutdown(ctx); err != nil {
					t.Fatalf("Shutdown: got %v, want nil", err)
				}
				if d := time.Since(start); d != 0 {
					t.Errorf("Shutdown took %v with responsive clients, want 0", d)
				}
				for _, ch := range clientErrs {
					var ce *websocket.CloseError
					if err := <-ch; !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "server shutting down" {
						t.Errorf("client: got %v, want 1001 server shutting down", err)
					}
				}
				m := tr.Metrics()
				if m.ConnsActive != 0 || m.CloseSent[websocket.StatusGoingAway] != 3 || m.CloseReceived[websocket.StatusGoingAway] != 3 {
					t.Errorf("Metrics: got %+v, want 0 active and 3 closes each way with 1001", m)
				}
				// New upgrades are refused, and Shutdown can be called again.
				w := httptest.NewRecorder()
				if _, err := tr.Upgrade(w, wsRequest(), nil); err == nil || w.Code != http.StatusServiceUnavailable {
					t.Errorf("upgrade after Shutdown: got %v, %d; want an error, 503", err, w.Code)
				}
				if err := tr.Shutdown(ctx); err != nil {
					t.Errorf("second Shutdown: got %v, want nil", err)
				}
				want := []string{"open", "open", "open", "close", "close", "close", "shutting_down"}
				if got, _ := hook.snapshot(); !reflect.DeepEqual(got, want) {
					t.Errorf("hook: got %v, want %v", got, want)
				}
			})
		})
	}
}

// Clients that do not answer are closed when Shutdown's context ends.
func TestShutdownDeadline(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		tr := &conntrack.Tracker{}
		opts := &websocket.UpgradeOptions{CloseTimeout: time.Hour}
		var conns []*websocket.Conn
		for range 3 {
			sc, _ := trackedPipe(t, tr, opts, 0) // the client never reads
			conns = append(conns, sc)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		if err := tr.Shutdown(ctx); err != context.DeadlineExceeded {
			t.Errorf("Shutdown: got %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("Shutdown took %v, want 2s", d)
		}
		for i, c := range conns {
			if c.Context().Err() == nil {
				t.Errorf("conn %d: still open after Shutdown", i)
			}
		}
		if m := tr.Metrics(); m.ConnsActive != 0 {
			t.Errorf("Metrics: got %d connections active, want 0", m.ConnsActive)
		}
	})
}

// An upgrade under way when Shutdown begins is waited for, then closed.
func TestShutdownDuringUpgrade(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		tr := &conntrack.Tracker{}
		shutdown := make(chan error, 1)
		go func() {
			time.Sleep(time.Second)
			shutdown <- tr.Shutdown(context.Background())
		}()
		// The client reads the 101 only after Shutdown has begun.
		sc, cc := trackedPipe(t, tr, nil, 2*time.Second)
		synctest.Wait()
		select {
		case err := <-shutdown:
			t.Fatalf("Shutdown returned %v before the new connection closed", err)
		default:
		}
		readLoop(sc)
		if err := <-readLoop(cc); websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("client: got %v, want 1001", err)
		}
		if err := <-shutdown; err != nil {
			t.Errorf("Shutdown: got %v, want nil", err)
		}
	})
}

// A connection upgraded after Shutdown's context ended is closed at once.
func TestShutdownAbandoned(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		tr := &conntrack.Tracker{}
		shutdown := make(chan error, 1)
		go func() {
			time.Sleep(time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			shutdown <- tr.Shutdown(ctx)
		}()
		// The 101 is read after Shutdown's context has ended.
		sc, cc := trackedPipe(t, tr, nil, 3*time.Second)
		if sc.Context().Err() == nil {
			t.Error("the connection is open, want it closed by Upgrade")
		}
		if err := <-readLoop(cc); err == nil {
			t.Error("client: got nil, want an error")
		}
		if err := <-shutdown; err != context.DeadlineExceeded {
			t.Errorf("Shutdown: got %v, want DeadlineExceeded", err)
		}
		if m := tr.Metrics(); m.ConnsActive != 0 || m.ConnsTotal != 1 {
			t.Errorf("Metrics: got %d active of %d, want 0 of 1", m.ConnsActive, m.ConnsTotal)
		}
	})
}

func TestHandshakeFailures(t *testing.T) {
	wstest.CheckLeaks(t)
	hook := &recordingHook{}
	tr := &conntrack.Tracker{Hook: hook}
	for _, tt := range []struct {
		name   string
		modify func(r *http.Request)
		opts   *websocket.UpgradeOptions
		want   conntrack.Failure
	}{
		{
			name:   "method",
			modify: func(r *http.Request) { r.Method = http.MethodPost },
			want:   conntrack.FailureBadRequest,
		},
		{
			name:   "no upgrade token",
			modify: func(r *http.Request) { r.Header.Del("Upgrade") },
			want:   conntrack.FailureBadRequest,
		},
		{
			name:   "key",
			modify: func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "short") },
			want:   conntrack.FailureBadRequest,
		},
		{
			name:   "origin",
			modify: func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") },
			want:   conntrack.FailureForbiddenOrigin,
		},
		{
			name:   "version",
			modify: func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") },
			want:   conntrack.FailureBadVersion,
		},
		{
			name: "version with upgrade token in a list",
			modify: func(r *http.Request) {
				r.Header.Set("Upgrade", "foo, WebSocket")
				r.Header.Set("Sec-WebSocket-Version", "8")
			},
			want: conntrack.FailureBadVersion,
		},
		{
			name:   "not hijackable",
			modify: func(r *http.Request) {},
			want:   conntrack.FailureAborted,
		},
		{
			name:   "invalid options",
			modify: func(r *http.Request) {},
			opts:   &websocket.UpgradeOptions{ReadLimit: -1},
			want:   conntrack.FailureAborted,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := tr.Metrics().HandshakeFailures[tt.want]
			r := wsRequest()
			tt.modify(r)
			if _, err := tr.Upgrade(httptest.NewRecorder(), r, tt.opts); err == nil {
				t.Fatal("Upgrade: got nil error, want a failure")
			}
			if got := tr.Metrics().HandshakeFailures[tt.want]; got != before+1 {
				t.Errorf("HandshakeFailures[%s]: got %d, want %d", tt.want, got, before+1)
			}
		})
	}
	want := map[conntrack.Failure]uint64{
		conntrack.FailureBadRequest:      3,
		conntrack.FailureForbiddenOrigin: 1,
		conntrack.FailureBadVersion:      2,
		conntrack.FailureAborted:         2,
	}
	if got := tr.Metrics().HandshakeFailures; !reflect.DeepEqual(got, want) {
		t.Errorf("HandshakeFailures: got %v, want %v", got, want)
	}
	if events, _ := hook.snapshot(); len(events) != 8 {
		t.Errorf("hook: got %v, want 8 failures", events)
	}
}

// A handshake that times out is counted as aborted.
func TestHandshakeTimeout(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		tr := &conntrack.Tracker{}
		a, b := net.Pipe() // the client never reads the 101
		defer b.Close()
		start := time.Now()
		w := pipeHijacker{httptest.NewRecorder(), a, bufio.NewReader(a)}
		_, err := tr.Upgrade(w, wsRequest(), &websocket.UpgradeOptions{HandshakeTimeout: 3 * time.Second})
		if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) != 3*time.Second {
			t.Errorf("Upgrade: got %v after %v, want a deadline error after 3s", err, time.Since(start))
		}
		if m := tr.Metrics(); m.HandshakeFailures[conntrack.FailureAborted] != 1 || m.ConnsActive != 0 {
			t.Errorf("Metrics: got %+v, want 1 aborted and 0 active", m)
		}
	})
}

func TestMetrics(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		hook := &recordingHook{}
		tr := &conntrack.Tracker{Hook: hook}
		ctx := context.Background()
		sc, cc := trackedPipe(t, tr, nil, 0)
		go func() {
			for _, m := range []string{"one", "two", "three"} {
				cc.Write(ctx, websocket.MessageText, []byte(m))
			}
		}()
		for range 3 {
			_, p, err := sc.Read(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			go cc.Read(ctx, nil)
			if err := sc.Write(ctx, websocket.MessageBinary, append(p, '!')); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		want := websocket.ConnStats{MessagesIn: 3, MessagesOut: 3, BytesIn: 11, BytesOut: 14}
		if got := sc.Stats(); got != want {
			t.Errorf("Stats: got %+v, want %+v", got, want)
		}
		if m := tr.Metrics(); m.MessagesIn != 3 || m.BytesOut != 14 || m.ConnsActive != 1 {
			t.Errorf("Metrics of an open connection: got %+v, want 3 messages in, 14 bytes out, 1 active", m)
		}
		readErr := readLoop(cc)
		if err := sc.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			t.Fatal(err)
		}
		<-readErr
		synctest.Wait() // for the Tracker to see the connection's Context done
		m := tr.Metrics()
		if m.MessagesIn != 3 || m.MessagesOut != 3 || m.BytesIn != 11 || m.BytesOut != 14 ||
			m.CloseSent[websocket.StatusNormalClosure] != 1 || m.CloseReceived[websocket.StatusNormalClosure] != 1 || m.ConnsActive != 0 {
			t.Errorf("Metrics of a closed connection: got %+v", m)
		}
		want.CloseSent, want.CloseReceived = websocket.StatusNormalClosure, websocket.StatusNormalClosure
		if _, closed := hook.snapshot(); len(closed) != 1 || closed[0] != want {
			t.Errorf("ConnClosed: got %+v, want [%+v]", closed, want)
		}

		// As an application publishes them with package expvar.
		var shown map[string]any
		if err := json.Unmarshal([]byte(expvar.Func(func() any { return tr.Metrics() }).String()), &shown); err != nil {
			t.Fatalf("expvar.Func: %v", err)
		}
		if shown["ConnsTotal"] != 1.0 || shown["CloseSent"].(map[string]any)["1000"] != 1.0 {
			t.Errorf("expvar.Func: got %v, want ConnsTotal 1 and CloseSent 1000: 1", shown)
		}
	})
}

// The snapshot Metrics returns shares nothing with the Tracker.
func TestMetricsSnapshot(t *testing.T) {
	var tr conntrack.Tracker
	m := tr.Metrics()
	m.HandshakeFailures[conntrack.FailureAborted] = 7
	m.CloseSent[websocket.StatusGoingAway] = 7
	if got := tr.Metrics(); len(got.HandshakeFailures) != 0 || len(got.CloseSent) != 0 {
		t.Errorf("Metrics after changing a snapshot: got %+v, want empty maps", got)
	}
}

// With an http.Server, RegisterOnShutdown starts the Tracker's shutdown
// and a second call waits for it.
func TestWithHTTPServer(t *testing.T) {
	wstest.CheckLeaks(t)
	tr := &conntrack.Tracker{}
	srv := websockettest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := tr.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		for {
			if _, _, err := c.Read(context.Background(), nil); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	srv.HTTP.Config.RegisterOnShutdown(func() { tr.Shutdown(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var clientErrs []<-chan error
	for range 3 {
		c, _, err := websocket.Dial(ctx, srv.URL, nil)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer c.CloseNow()
		clientErrs = append(clientErrs, readLoop(c))
	}
	if err := srv.HTTP.Config.Shutdown(ctx); err != nil {
		t.Fatalf("http.Server.Shutdown: %v", err)
	}
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatalf("Tracker.Shutdown: %v", err)
	}
	for _, ch := range clientErrs {
		if err := <-ch; websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("client: got %v, want 1001", err)
		}
	}
	if m := tr.Metrics(); m.ConnsActive != 0 || m.ConnsTotal != 3 {
		t.Errorf("Metrics: got %d active of %d, want 0 of 3", m.ConnsActive, m.ConnsTotal)
	}
}
