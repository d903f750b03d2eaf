package redial

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/internal/wstest"
	"github.com/wsforge/websocket/websockettest"
)

func TestMain(m *testing.M) { os.Exit(wstest.CheckMain(m)) }

func TestBackoffBound(t *testing.T) {
	tests := []struct {
		name string
		b    Backoff
		want []time.Duration // bounds after 1, 2, ... failures
	}{
		{
			name: "defaults",
			want: []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second},
		},
		{
			name: "factor 3 capped",
			b:    Backoff{Initial: time.Second, Factor: 3, Max: 10 * time.Second},
			want: []time.Duration{time.Second, 3 * time.Second, 9 * time.Second, 10 * time.Second},
		},
		{
			name: "factor below 1 is constant",
			b:    Backoff{Initial: time.Second, Factor: 0.5},
			want: []time.Duration{time.Second, time.Second, time.Second},
		},
		{
			name: "NaN factor is constant",
			b:    Backoff{Initial: time.Second, Factor: math.NaN()},
			want: []time.Duration{time.Second, time.Second},
		},
		{
			name: "initial above max",
			b:    Backoff{Initial: time.Minute, Max: time.Second},
			want: []time.Duration{time.Second, time.Second},
		},
		{
			name: "largest duration",
			b:    Backoff{Initial: math.MaxInt64, Max: math.MaxInt64},
			want: []time.Duration{math.MaxInt64, math.MaxInt64},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b.withDefaults()
			for i, want := range tt.want {
				if got := b.bound(i + 1); got != want {
					t.Errorf("after %d failures: got %v, want %v", i+1, got, want)
				}
			}
			if got, want := b.bound(10000), tt.want[len(tt.want)-1]; got != want {
				t.Errorf("after 10000 failures: got %v, want %v", got, want)
			}
		})
	}
}

// noProxy keeps the environment's proxy settings out of the tests.
var noProxy = http.ProxyURL(nil)

// acceptKey is the Sec-WebSocket-Accept answer to key (RFC 6455 §4.2.2),
// computed here independently of package websocket.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// fakeServer answers WebSocket handshakes over net.Pipe inside a synctest
// bubble, as a raw peer. Each connection stays up for the next duration in
// up (zero: it refuses the handshake), then is closed without a close
// frame; it records the times of the dials.
type fakeServer struct {
	mu    sync.Mutex
	up    []time.Duration
	dials []time.Time
}

func (s *fakeServer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dials = append(s.dials, time.Now())
	if len(s.up) == 0 {
		return nil, errors.New("connection refused")
	}
	up := s.up[0]
	s.up = s.up[1:]
	a, b := net.Pipe()
	go func() {
		defer b.Close()
		br := bufio.NewReader(b)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if up == 0 {
			fmt.Fprint(b, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
			return
		}
		fmt.Fprintf(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			acceptKey(req.Header.Get("Sec-WebSocket-Key")))
		go io.Copy(io.Discard, br) // whatever the client sends, until b closes
		time.Sleep(up)             // the bubble's clock: the connection's lifetime
	}()
	return a, nil
}

// readAll is a serve function that reads until the connection ends.
func readAll(ctx context.Context, c *websocket.Conn) error {
	for {
		if _, _, err := c.Read(ctx, nil); err != nil {
			return err
		}
	}
}

// The waits follow the bound exactly when the jitter draws its maximum:
// they grow by Factor up to Max, whether dials fail, the handshake is
// refused, or connections drop before ResetAfter; a connection that lasts
// ResetAfter starts the schedule again.
func TestDialerSchedule(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		ups := []time.Duration{
			0,                // refused
			time.Second,      // dropped before ResetAfter
			time.Second,      // again
			10 * time.Second, // a success
			time.Second,
		}
		s := &fakeServer{up: append([]time.Duration(nil), ups...)}
		ctx, cancel := context.WithCancelCause(context.Background())
		var waits []time.Duration
		var errs []error
		stop := errors.New("enough")
		d := &Dialer{
			URL:     "ws://example.com/",
			Options: &websocket.DialOptions{NetDialContext: s.dial, Proxy: noProxy},
			Backoff: Backoff{Initial: time.Second, Factor: 2, Max: 20 * time.Second, ResetAfter: 10 * time.Second},
			OnDisconnect: func(err error, wait time.Duration) {
				waits = append(waits, wait)
				errs = append(errs, err)
				if len(waits) == 9 {
					cancel(stop)
				}
			},
			jitter: func(n int64) int64 { return n - 1 },
		}
		if err := d.Run(ctx, readAll); err != stop {
			t.Errorf("Run: got %v, want the cancel cause", err)
		}
		want := []time.Duration{1, 2, 4, 1, 2, 4, 8, 16, 20} // seconds
		for i := range want {
			want[i] *= time.Second
		}
		if fmt.Sprint(waits) != fmt.Sprint(want) {
			t.Errorf("got waits %v, want %v", waits, want)
		}
		// Each attempt starts when the connection before it has lasted
		// its time and the wait after it has passed.
		for i := 1; i < len(s.dials); i++ {
			up := time.Duration(0)
			if i-1 < len(ups) {
				up = ups[i-1]
			}
			if got := s.dials[i].Sub(s.dials[i-1]); got != up+waits[i-1] {
				t.Errorf("attempt %d: got %v after the previous, want %v", i+1, got, up+waits[i-1])
			}
		}
		var he *websocket.HandshakeError
		if !errors.As(errs[0], &he) {
			t.Errorf("first error: got %v, want a *websocket.HandshakeError", errs[0])
		}
		if got := websocket.CloseStatus(errs[1]); got != websocket.StatusAbnormalClosure {
			t.Errorf("second error: got %v (status %v), want an abnormal closure", errs[1], got)
		}
	})
}

// With the real jitter, many clients failing together spread out: the
// waits after the k-th failure are uniform in [0, bound(k)], so their mean
// doubles with k until the cap, and they do not repeat.
func TestDialerJitter(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		const clients, attempts = 200, 8
		b := Backoff{Initial: time.Second, Factor: 2, Max: 32 * time.Second}
		waits := make([][]time.Duration, clients)
		var wg sync.WaitGroup
		for i := range clients {
			ctx, cancel := context.WithCancel(context.Background())
			d := &Dialer{
				URL: "ws://example.com/",
				Options: &websocket.DialOptions{
					NetDialContext: func(context.Context, string, string) (net.Conn, error) {
						return nil, errors.New("connection refused")
					},
					Proxy: noProxy,
				},
				Backoff: b,
				OnDisconnect: func(_ error, wait time.Duration) {
					waits[i] = append(waits[i], wait)
					if len(waits[i]) == attempts {
						cancel()
					}
				},
			}
			wg.Go(func() { d.Run(ctx, readAll) })
		}
		wg.Wait()
		b = b.withDefaults()
		distinct := make(map[time.Duration]bool)
		prevMean := time.Duration(0)
		for k := range attempts {
			bound := b.bound(k + 1)
			var sum time.Duration
			for i := range clients {
				w := waits[i][k]
				if w < 0 || w > bound {
					t.Fatalf("client %d wait %d: got %v, want within [0, %v]", i, k+1, w, bound)
				}
				sum += w
				distinct[w] = true
			}
			mean := sum / clients
			// The mean of 200 uniform draws is within 15% of bound/2 but
			// with a probability below 1e-7.
			if lo, hi := bound*85/200, bound*115/200; mean < lo || mean > hi {
				t.Errorf("wait %d: got mean %v, want about %v", k+1, mean, bound/2)
			}
			if k > 0 && bound > b.bound(k) && mean <= prevMean {
				t.Errorf("wait %d: got mean %v, want more than %v", k+1, mean, prevMean)
			}
			prevMean = mean
		}
		if len(distinct) < clients*attempts*9/10 {
			t.Errorf("got %d distinct waits of %d, want them spread", len(distinct), clients*attempts)
		}
	})
}

// A server that accepts TCP but never answers costs DialTimeout per
// attempt, and the context ends Run during a wait.
func TestDialerTimeouts(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		var dials []time.Time
		var mu sync.Mutex
		var peers []net.Conn
		defer func() {
			for _, p := range peers {
				p.Close()
			}
		}()
		ctx, cancel := context.WithCancel(context.Background())
		d := &Dialer{
			URL: "ws://example.com/",
			Options: &websocket.DialOptions{
				NetDialContext: func(context.Context, string, string) (net.Conn, error) {
					mu.Lock()
					defer mu.Unlock()
					dials = append(dials, time.Now())
					a, b := net.Pipe()
					peers = append(peers, b)
					go io.Copy(io.Discard, b) // swallow the request, never answer
					return a, nil
				},
				Proxy: noProxy,
			},
			DialTimeout: 3 * time.Second,
			Backoff:     Backoff{Initial: time.Second, Factor: 1},
			jitter:      func(n int64) int64 { return n - 1 },
			OnDisconnect: func(err error, _ time.Duration) {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("got %v, want a timeout", err)
				}
				if len(dials) == 3 {
					cancel()
				}
			},
		}
		start := time.Now()
		if err := d.Run(ctx, readAll); err != context.Canceled {
			t.Errorf("Run: got %v, want context.Canceled", err)
		}
		// Three attempts of 3 s with 1 s between them; the third wait is cut short.
		if got := time.Since(start); got != 11*time.Second {
			t.Errorf("Run returned after %v, want 11s", got)
		}
		if len(dials) != 3 || dials[1].Sub(dials[0]) != 4*time.Second {
			t.Errorf("got dials at %v, want 4s apart", dials)
		}
	})
}

// Against a real server, serve gets each new connection; the server's
// close reaches OnDisconnect, and the cause of Run's context is returned.
func TestDialerReconnects(t *testing.T) {
	wstest.CheckLeaks(t)
	var mu sync.Mutex
	conns := 0
	srv := websockettest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		mu.Lock()
		conns++
		n := conns
		mu.Unlock()
		if err := c.Write(r.Context(), websocket.MessageText, fmt.Appendf(nil, "connection %d", n)); err != nil {
			return
		}
		if n < 3 {
			c.Close(websocket.StatusGoingAway, "restarting")
			return
		}
		c.Read(r.Context(), nil) // until the client goes
	}))
	defer srv.Close()

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	done := errors.New("done")
	var got []string
	var errs []error
	d := &Dialer{
		URL:          srv.URL,
		DialTimeout:  10 * time.Second,
		Backoff:      Backoff{Initial: time.Millisecond, Max: time.Millisecond},
		OnDisconnect: func(err error, _ time.Duration) { errs = append(errs, err) },
	}
	err := d.Run(ctx, func(ctx context.Context, c *websocket.Conn) error {
		_, msg, err := c.Read(ctx, nil)
		if err != nil {
			return err
		}
		got = append(got, string(msg))
		if len(got) == 3 {
			cancel(done)
			c.Close(websocket.StatusNormalClosure, "")
			return nil
		}
		_, _, err = c.Read(ctx, nil)
		return err
	})
	if err != done {
		t.Errorf("Run: got %v, want the cancel cause", err)
	}
	if want := "connection 1,connection 2,connection 3"; strings.Join(got, ",") != want {
		t.Errorf("got messages %q, want %q", got, want)
	}
	if len(errs) != 2 {
		t.Fatalf("got %d calls of OnDisconnect, want 2", len(errs))
	}
	for i, err := range errs {
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "restarting" {
			t.Errorf("disconnection %d: got %v, want a *websocket.CloseError with 1001 and %q", i+1, err, "restarting")
		}
	}
}

// Misuse is an error, never a panic.
func TestDialerRunMisuse(t *testing.T) {
	var nilCtx context.Context
	serve := func(context.Context, *websocket.Conn) error { return nil }
	tests := []struct {
		name  string
		d     *Dialer
		ctx   context.Context
		serve func(context.Context, *websocket.Conn) error
	}{
		{
			name:  "nil Dialer",
			ctx:   context.Background(),
			serve: serve,
		},
		{
			name:  "nil Context",
			d:     &Dialer{},
			ctx:   nilCtx,
			serve: serve,
		},
		{
			name: "nil serve function",
			d:    &Dialer{},
			ctx:  context.Background(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Run(tt.ctx, tt.serve)
			if err == nil || !strings.HasPrefix(err.Error(), "redial: ") {
				t.Errorf("got %v, want an error with the prefix %q", err, "redial: ")
			}
		})
	}
}

// A bound as large as a Duration can hold gives a wait within it, not an
// overflow that would make the jitter panic.
func TestDialerLargestBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var waits []time.Duration
		d := &Dialer{
			URL: "ws://example.com/",
			Options: &websocket.DialOptions{
				NetDialContext: func(context.Context, string, string) (net.Conn, error) {
					return nil, errors.New("connection refused")
				},
				Proxy: noProxy,
			},
			Backoff: Backoff{Initial: math.MaxInt64, Max: math.MaxInt64},
			OnDisconnect: func(_ error, wait time.Duration) {
				waits = append(waits, wait)
				cancel()
			},
		}
		if err := d.Run(ctx, readAll); err != context.Canceled {
			t.Errorf("Run: got %v, want context.Canceled", err)
		}
		if len(waits) != 1 || waits[0] < 0 {
			t.Errorf("got waits %v, want one, not negative", waits)
		}
	})
}
