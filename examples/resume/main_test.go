package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/internal/wstest"
)

// cutProxy forwards TCP connections to a target; cut kills those open, as a
// network failure would, mid-stream, while new ones are still accepted.
type cutProxy struct {
	ln       net.Listener
	target   string
	mu       sync.Mutex
	open     []net.Conn
	accepted int
	wg       sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	p.wg.Go(p.serve)
	t.Cleanup(p.close)
	return p
}

func (p *cutProxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.open = append(p.open, in, out)
		p.accepted++
		p.mu.Unlock()
		for _, pair := range [][2]net.Conn{{in, out}, {out, in}} {
			p.wg.Go(func() {
				io.Copy(pair[0], pair[1])
				pair[0].Close()
				pair[1].Close()
			})
		}
	}
}

// cut closes every connection open through the proxy and reports whether
// there was one.
func (p *cutProxy) cut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.open {
		c.Close()
	}
	did := len(p.open) > 0
	p.open = nil
	return did
}

func (p *cutProxy) close() {
	p.ln.Close()
	p.cut()
	p.wg.Wait()
}

// The connection is killed up to four times mid-stream, with the server well
// ahead of the client (events sit in socket buffers and are lost with the
// connection): the client still sees every event once, in order.
func TestResumeAfterCuts(t *testing.T) {
	wstest.CheckLeaks(t)
	const total = 5000
	events := newEventLog()
	for n := range 1000 {
		events.append(fmt.Sprint("event ", n+1))
	}
	srv := httptest.NewServer(&streamServer{events: events})
	defer srv.Close()
	proxy := newCutProxy(t, srv.Listener.Addr().String())

	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { // more events while the client reads
		for n := 1000; n < total; n++ {
			events.append(fmt.Sprint("event ", n+1))
		}
	})

	// The client goes on reading what its socket had buffered before it
	// notices a cut; the cuts are far enough apart for it to have
	// reconnected before the next.
	cuts := map[int64]bool{300: true, 1500: true, 2700: true, 3900: true}
	effective := 0
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []int64
	cl := &client{
		URL:     "ws://" + proxy.ln.Addr().String() + "/",
		Backoff: websocket.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond},
		OnEvent: func(n int64, payload string) {
			if want := fmt.Sprint("event ", n); payload != want {
				t.Errorf("event %d: got payload %q, want %q", n, payload, want)
			}
			got = append(got, n)
			if cuts[n] && proxy.cut() {
				effective++
			}
			if n == total {
				cancel()
			}
		},
	}
	if err := cl.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: got %v after %d events, want context.Canceled", err, len(got))
	}
	if len(got) != total {
		t.Errorf("got %d events, want %d", len(got), total)
	}
	for i, n := range got {
		if n != int64(i+1) {
			t.Fatalf("event %d: got number %d", i+1, n)
		}
	}
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	if effective < 2 || proxy.accepted != effective+1 {
		t.Errorf("got %d connections for %d cuts, want one more, and 2 cuts or more", proxy.accepted, effective)
	}
}

// The client refuses an event that does not follow the last one seen, and
// resumes from the last one it did see.
func TestResumeRefusesGaps(t *testing.T) {
	wstest.CheckLeaks(t)
	events := newEventLog()
	for n := range 10 {
		events.append(fmt.Sprint("event ", n+1))
	}
	srv := httptest.NewServer(&streamServer{events: events})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []int64
	cl := &client{
		URL:     "ws" + srv.URL[len("http"):] + "/",
		Backoff: websocket.Backoff{Initial: time.Millisecond},
		OnEvent: func(n int64, _ string) {
			got = append(got, n)
			if n == 10 {
				cancel()
			}
		},
	}
	cl.last = 3 // as if events 1-3 had been seen before
	cl.Run(ctx)
	if fmt.Sprint(got) != "[4 5 6 7 8 9 10]" {
		t.Errorf("got events %v, want 4 to 10", got)
	}
}
