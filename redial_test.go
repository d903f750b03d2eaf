package websocket

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

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
			name: "initial above max",
			b:    Backoff{Initial: time.Minute, Max: time.Second},
			want: []time.Duration{time.Second, time.Second},
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

// fakeServer answers WebSocket handshakes over net.Pipe inside a synctest
// bubble. Each connection stays up for the next duration in up (zero: it
// refuses the handshake), then is closed; it counts the dials.
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
		accept := acceptKey(req.Header.Get("Sec-WebSocket-Key"))
		fmt.Fprintf(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept[:])
		c := newConn(b, br, false, (*UpgradeOptions)(nil).connConfig())
		time.Sleep(up)
		c.CloseNow()
	}()
	return a, nil
}

// readAll is a serve function that reads until the connection ends.
func readAll(ctx context.Context, c *Conn) error {
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
func TestRedialSchedule(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		s := &fakeServer{up: []time.Duration{
			0,                // refused
			time.Second,      // dropped before ResetAfter
			time.Second,      // again
			10 * time.Second, // a success
			time.Second,
		}}
		ctx, cancel := context.WithCancelCause(context.Background())
		var waits []time.Duration
		var errs []error
		stop := errors.New("enough")
		r := &Redialer{
			URL:     "ws://example.com/",
			Options: &DialOptions{NetDialContext: s.dial, Proxy: http.ProxyURL(nil)},
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
		if err := r.Run(ctx, readAll); err != stop {
			t.Errorf("Run: got %v, want the cancel cause", err)
		}
		want := []time.Duration{1, 2, 4, 1, 2, 4, 8, 16, 20} // seconds
		for i := range want {
			want[i] *= time.Second
		}
		if fmt.Sprint(waits) != fmt.Sprint(want) {
			t.Errorf("got waits %v, want %v", waits, want)
		}
		// Each attempt starts when the wait before it ends.
		for i := 1; i < len(s.dials); i++ {
			up := time.Duration(0)
			if i >= 2 && i <= 5 {
				up = []time.Duration{time.Second, time.Second, 10 * time.Second, time.Second}[i-2]
			}
			if got := s.dials[i].Sub(s.dials[i-1]); got != up+waits[i-1] {
				t.Errorf("attempt %d: %v after the previous, want %v", i, got, up+waits[i-1])
			}
		}
		var he *HandshakeError
		if !errors.As(errs[0], &he) {
			t.Errorf("first error: got %v, want a HandshakeError", errs[0])
		}
		if CloseStatus(errs[1]) != StatusAbnormalClosure {
			t.Errorf("second error: got %v, want an abnormal closure", errs[1])
		}
	})
}

// With the real jitter, many clients failing together spread out: the
// waits after the k-th failure are uniform in [0, bound(k)], so their mean
// doubles with k until the cap, and they do not repeat.
func TestRedialJitter(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		const clients, attempts = 200, 8
		b := Backoff{Initial: time.Second, Factor: 2, Max: 32 * time.Second}
		waits := make([][]time.Duration, clients)
		var wg sync.WaitGroup
		for i := range clients {
			ctx, cancel := context.WithCancel(context.Background())
			r := &Redialer{
				URL: "ws://example.com/",
				Options: &DialOptions{
					NetDialContext: func(context.Context, string, string) (net.Conn, error) {
						return nil, errors.New("connection refused")
					},
					Proxy: http.ProxyURL(nil),
				},
				Backoff: b,
				OnDisconnect: func(_ error, wait time.Duration) {
					waits[i] = append(waits[i], wait)
					if len(waits[i]) == attempts {
						cancel()
					}
				},
			}
			wg.Go(func() { r.Run(ctx, readAll) })
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
				t.Errorf("wait %d: mean %v, want about %v", k+1, mean, bound/2)
			}
			if k > 0 && bound > b.bound(k) && mean <= prevMean {
				t.Errorf("wait %d: mean %v did not grow from %v", k+1, mean, prevMean)
			}
			prevMean = mean
		}
		if len(distinct) < clients*attempts*9/10 {
			t.Errorf("got %d distinct waits of %d, want them spread", len(distinct), clients*attempts)
		}
	})
}

// A server that accepts TCP but never answers costs DialTimeout per
// attempt, and the context ends Run during a wait or a connection.
func TestRedialTimeouts(t *testing.T) {
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
		r := &Redialer{
			URL: "ws://example.com/",
			Options: &DialOptions{
				NetDialContext: func(context.Context, string, string) (net.Conn, error) {
					mu.Lock()
					defer mu.Unlock()
					dials = append(dials, time.Now())
					a, b := net.Pipe()
					peers = append(peers, b)
					go func() { bufio.NewReader(b).ReadString(0) }() // swallow the request
					return a, nil
				},
				Proxy: http.ProxyURL(nil),
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
		if err := r.Run(ctx, readAll); err != context.Canceled {
			t.Errorf("Run: got %v, want context.Canceled", err)
		}
		// Three attempts of 3 s with 1 s between them; the third wait is cut short.
		if d := time.Since(start); d != 11*time.Second {
			t.Errorf("Run returned after %v, want 11s", d)
		}
		if len(dials) != 3 || dials[1].Sub(dials[0]) != 4*time.Second {
			t.Errorf("got dials at %v, want 4s apart", dials)
		}
	})
}
