package websocket

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

// pipeHijacker is a ResponseWriter whose connection, one end of a
// net.Pipe, can be taken over, so that upgrades run inside a synctest
// bubble.
type pipeHijacker struct {
	*httptest.ResponseRecorder
	nc net.Conn
}

func (w pipeHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.nc, bufio.NewReadWriter(bufio.NewReader(w.nc), bufio.NewWriter(w.nc)), nil
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

// serverPipe upgrades a request through s over net.Pipe and returns the
// server's Conn and a client Conn on the other end. The client reads the
// 101 response after delay.
func serverPipe(t *testing.T, s *Server, opts *UpgradeOptions, delay time.Duration) (*Conn, *Conn) {
	t.Helper()
	a, b := net.Pipe()
	client := make(chan *Conn, 1)
	go func() {
		time.Sleep(delay)
		br := bufio.NewReader(b)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Errorf("client handshake: %v %v", resp, err)
			b.Close()
			client <- nil
			return
		}
		client <- newConn(b, br, true, (&DialOptions{}).connConfig())
	}()
	c, err := s.Upgrade(pipeHijacker{httptest.NewRecorder(), a}, wsRequest(), opts)
	cc := <-client
	if err != nil || cc == nil {
		t.Fatalf("Upgrade: %v", err)
	}
	t.Cleanup(func() {
		c.CloseNow()
		cc.CloseNow()
	})
	return c, cc
}

// recordingHook records a Server's events.
type recordingHook struct {
	mu     sync.Mutex
	events []string
	closed []ConnStats
}

func (h *recordingHook) add(e string) {
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
}

func (h *recordingHook) ConnOpened() { h.add("open") }
func (h *recordingHook) ConnClosed(s ConnStats) {
	h.add("close")
	h.mu.Lock()
	h.closed = append(h.closed, s)
	h.mu.Unlock()
}
func (h *recordingHook) HandshakeFailed(f HandshakeFailure) { h.add(string(f)) }

func TestServerCap(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		s := &Server{MaxConns: 2, RetryAfter: 1500 * time.Millisecond}
		first, _ := serverPipe(t, s, nil, 0)
		serverPipe(t, s, nil, 0)

		w := httptest.NewRecorder()
		_, err := s.Upgrade(w, wsRequest(), nil)
		var he *HandshakeError
		if !errors.As(err, &he) || w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "2" {
			t.Fatalf("third upgrade: got %v, %d, Retry-After %q; want a HandshakeError, 503, 2", err, w.Code, w.Header().Get("Retry-After"))
		}
		m := s.Metrics()
		if m.ConnsActive != 2 || m.ConnsTotal != 2 || m.HandshakeFailures[HandshakeOverCapacity] != 1 {
			t.Errorf("Metrics: got %+v", m)
		}
		// A closed connection frees its place.
		first.CloseNow()
		serverPipe(t, s, nil, 0)
		if m := s.Metrics(); m.ConnsActive != 2 || m.ConnsTotal != 3 {
			t.Errorf("after a close: got %d active of %d, want 2 of 3", m.ConnsActive, m.ConnsTotal)
		}
	})
}

func TestServerShutdown(t *testing.T) {
	wstest.CheckLeaks(t)
	for _, serverReading := range []bool{true, false} {
		name := map[bool]string{true: "server reading", false: "server not reading"}[serverReading]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hook := &recordingHook{}
				s := &Server{Hook: hook}
				var clientErrs []<-chan error
				for range 3 {
					sc, cc := serverPipe(t, s, nil, 0)
					clientErrs = append(clientErrs, readLoop(cc)) // replies to the close
					if serverReading {
						readLoop(sc)
					}
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				start := time.Now()
				if err := s.Shutdown(ctx); err != nil {
					t.Fatalf("Shutdown: %v", err)
				}
				if d := time.Since(start); d != 0 {
					t.Errorf("Shutdown took %v with responsive clients", d)
				}
				for _, ch := range clientErrs {
					var ce *CloseError
					if err := <-ch; !errors.As(err, &ce) || ce.Code != StatusGoingAway || ce.Reason != "server shutting down" {
						t.Errorf("client: got %v, want 1001", err)
					}
				}
				m := s.Metrics()
				if m.ConnsActive != 0 || m.CloseSent[StatusGoingAway] != 3 || m.CloseReceived[StatusGoingAway] != 3 {
					t.Errorf("Metrics: got %+v", m)
				}
				// New upgrades are refused, and Shutdown can be called again.
				w := httptest.NewRecorder()
				if _, err := s.Upgrade(w, wsRequest(), nil); err == nil || w.Code != http.StatusServiceUnavailable {
					t.Errorf("upgrade after Shutdown: got %v, %d", err, w.Code)
				}
				if err := s.Shutdown(ctx); err != nil {
					t.Errorf("second Shutdown: %v", err)
				}
				want := []string{"open", "open", "open", "close", "close", "close", "shutting_down"}
				if !reflect.DeepEqual(hook.events, want) {
					t.Errorf("hook: got %v, want %v", hook.events, want)
				}
			})
		})
	}
}

// Clients that do not answer are closed when Shutdown's context ends.
func TestServerShutdownDeadline(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		s := &Server{}
		opts := &UpgradeOptions{CloseTimeout: time.Hour}
		var conns []*Conn
		for range 3 {
			sc, _ := serverPipe(t, s, opts, 0) // the client never reads
			conns = append(conns, sc)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		if err := s.Shutdown(ctx); err != context.DeadlineExceeded {
			t.Errorf("Shutdown: got %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("Shutdown took %v, want 2s", d)
		}
		for i, c := range conns {
			if !c.isClosed() {
				t.Errorf("conn %d still open", i)
			}
		}
		if m := s.Metrics(); m.ConnsActive != 0 {
			t.Errorf("%d connections still active", m.ConnsActive)
		}
	})
}

// An upgrade under way when Shutdown begins is waited for, then closed.
func TestServerShutdownDuringUpgrade(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		s := &Server{}
		shutdown := make(chan error, 1)
		go func() {
			time.Sleep(time.Second)
			shutdown <- s.Shutdown(context.Background())
		}()
		// The client reads the 101 only after Shutdown has begun.
		sc, cc := serverPipe(t, s, nil, 2*time.Second)
		select {
		case err := <-shutdown:
			t.Fatalf("Shutdown returned %v before the new connection closed", err)
		default:
		}
		readLoop(sc)
		if err := <-readLoop(cc); CloseStatus(err) != StatusGoingAway {
			t.Errorf("client: got %v, want 1001", err)
		}
		if err := <-shutdown; err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
}

func TestServerHandshakeFailures(t *testing.T) {
	wstest.CheckLeaks(t)
	hook := &recordingHook{}
	s := &Server{Hook: hook}
	for _, tt := range []struct {
		name   string
		modify func(r *http.Request) *http.Request
		want   HandshakeFailure
	}{
		{
			name:   "method",
			modify: func(r *http.Request) *http.Request { r.Method = http.MethodPost; return r },
			want:   HandshakeBadRequest,
		},
		{
			name:   "no upgrade token",
			modify: func(r *http.Request) *http.Request { r.Header.Del("Upgrade"); return r },
			want:   HandshakeBadRequest,
		},
		{
			name:   "key",
			modify: func(r *http.Request) *http.Request { r.Header.Set("Sec-WebSocket-Key", "short"); return r },
			want:   HandshakeBadRequest,
		},
		{
			name:   "origin",
			modify: func(r *http.Request) *http.Request { r.Header.Set("Origin", "https://evil.example"); return r },
			want:   HandshakeForbiddenOrigin,
		},
		{
			name:   "version",
			modify: func(r *http.Request) *http.Request { r.Header.Set("Sec-WebSocket-Version", "8"); return r },
			want:   HandshakeBadVersion,
		},
		{
			name:   "not hijackable",
			modify: func(r *http.Request) *http.Request { return r },
			want:   HandshakeAborted,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Upgrade(httptest.NewRecorder(), tt.modify(wsRequest()), nil); err == nil {
				t.Fatal("Upgrade succeeded")
			}
			if got := s.Metrics().HandshakeFailures[tt.want]; got == 0 {
				t.Errorf("no failure counted as %s", tt.want)
			}
		})
	}
	want := map[HandshakeFailure]uint64{
		HandshakeBadRequest:      3,
		HandshakeForbiddenOrigin: 1,
		HandshakeBadVersion:      1,
		HandshakeAborted:         1,
	}
	if got := s.Metrics().HandshakeFailures; !reflect.DeepEqual(got, want) {
		t.Errorf("HandshakeFailures: got %v, want %v", got, want)
	}
	if len(hook.events) != 6 {
		t.Errorf("hook: got %v", hook.events)
	}
}

func TestHandshakeTimeout(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		s := &Server{}
		a, b := net.Pipe() // the client never reads the 101
		defer b.Close()
		start := time.Now()
		_, err := s.Upgrade(pipeHijacker{httptest.NewRecorder(), a}, wsRequest(), &UpgradeOptions{HandshakeTimeout: 3 * time.Second})
		if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) != 3*time.Second {
			t.Errorf("Upgrade: got %v after %v, want a deadline error after 3s", err, time.Since(start))
		}
		if m := s.Metrics(); m.HandshakeFailures[HandshakeAborted] != 1 || m.ConnsActive != 0 {
			t.Errorf("Metrics: got %+v", m)
		}
	})
}

func TestServerMetrics(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		hook := &recordingHook{}
		s := &Server{Hook: hook}
		ctx := context.Background()
		sc, cc := serverPipe(t, s, nil, 0)
		go func() {
			for _, m := range []string{"one", "two", "three"} {
				cc.Write(ctx, MessageText, []byte(m))
			}
		}()
		for range 3 {
			_, p, err := sc.Read(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			go cc.Read(ctx, nil)
			if err := sc.Write(ctx, MessageBinary, append(p, '!')); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		want := ConnStats{MessagesIn: 3, MessagesOut: 3, BytesIn: 11, BytesOut: 14}
		if got := sc.Stats(); got != want {
			t.Errorf("Stats: got %+v, want %+v", got, want)
		}
		if m := s.Metrics(); m.MessagesIn != 3 || m.BytesOut != 14 || m.ConnsActive != 1 {
			t.Errorf("Metrics of an open connection: got %+v", m)
		}
		readErr := readLoop(cc)
		if err := sc.Close(StatusNormalClosure, "bye"); err != nil {
			t.Fatal(err)
		}
		<-readErr
		m := s.Metrics()
		if m.MessagesIn != 3 || m.MessagesOut != 3 || m.BytesIn != 11 || m.BytesOut != 14 ||
			m.CloseSent[StatusNormalClosure] != 1 || m.CloseReceived[StatusNormalClosure] != 1 || m.ConnsActive != 0 {
			t.Errorf("Metrics of a closed connection: got %+v", m)
		}
		want.CloseSent, want.CloseReceived = StatusNormalClosure, StatusNormalClosure
		if len(hook.closed) != 1 || hook.closed[0] != want {
			t.Errorf("ConnClosed: got %+v, want %+v", hook.closed, want)
		}

		// As an application publishes them with package expvar.
		var shown map[string]any
		if err := json.Unmarshal([]byte(expvar.Func(func() any { return s.Metrics() }).String()), &shown); err != nil {
			t.Fatalf("expvar.Func: %v", err)
		}
		if shown["ConnsTotal"] != 1.0 || shown["CloseSent"].(map[string]any)["1000"] != 1.0 {
			t.Errorf("expvar.Func: got %v", shown)
		}
	})
}

// With an http.Server, RegisterOnShutdown starts the Server's shutdown
// and a second call waits for it.
func TestServerWithHTTPServer(t *testing.T) {
	wstest.CheckLeaks(t)
	ws := &Server{}
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		for {
			if _, _, err := c.Read(context.Background(), nil); err != nil {
				return
			}
		}
	}))
	hs.Config.RegisterOnShutdown(func() { ws.Shutdown(context.Background()) })
	hs.Start()
	defer hs.Close()
	var clientErrs []<-chan error
	for range 3 {
		clientErrs = append(clientErrs, readLoop(rawDial(t, hs.Listener.Addr().String(), nil)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Config.Shutdown(ctx); err != nil {
		t.Fatalf("http.Server.Shutdown: %v", err)
	}
	if err := ws.Shutdown(ctx); err != nil {
		t.Fatalf("Server.Shutdown: %v", err)
	}
	for _, ch := range clientErrs {
		if err := <-ch; CloseStatus(err) != StatusGoingAway {
			t.Errorf("client: got %v, want 1001", err)
		}
	}
	if m := ws.Metrics(); m.ConnsActive != 0 || m.ConnsTotal != 3 {
		t.Errorf("Metrics: got %+v", m)
	}
}
