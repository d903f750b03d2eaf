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

	"github.com/wsforge/websocket/internal/wstest"
	"github.com/wsforge/websocket/redial"
	"github.com/wsforge/websocket/websockettest"
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

// The connection is killed four times mid-stream, with the server ahead of
// the client (events sit in socket buffers and are lost with the
// connection): the client reconnects after each cut and still sees every
// event once, in order.
//
// The cuts are synchronised with the client's progress and with the log, so
// that every one of them forces exactly one reconnection. Cut k is made from
// OnEvent when the client has passed on event cuts[k], while the log holds
// events only up to limits[k] (> cuts[k], so the server is ahead); the events
// after limits[k] are appended only once the cut is done. After a cut, no
// byte can cross the killed connection, so the client, however much of it
// was buffered, runs dry by event limits[k] at the latest and must
// reconnect to get the rest (ending the stream without doing so is no
// longer possible, which is what made the old test flaky). And since
// cuts[k+1] > limits[k], the client can only reach the next cut on the new
// connection, which the next cut therefore finds open. Hence the exact
// counts checked below: connection k+1 carries event cuts[k], and there are
// len(cuts)+1 connections in all; an extra one would mean a spurious
// failure or an event refused as out of order.
func TestResumeAfterCuts(t *testing.T) {
	wstest.CheckLeaks(t)
	const total = 5000
	cuts := []int64{300, 1500, 2700, 3900}
	limits := []int64{1000, 2000, 3000, 4000}
	events := newEventLog()
	for n := range limits[0] {
		events.append(fmt.Sprint("event ", n+1))
	}
	srv := httptest.NewServer(&streamServer{events: events})
	defer srv.Close()
	proxy := newCutProxy(t, srv.Listener.Addr().String())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // before wg.Wait, to stop the appender if Run failed
	cutDone := make(chan struct{}, len(cuts))
	wg.Go(func() { // more events, each batch once the cut before it is done
		for k := range cuts {
			select {
			case <-cutDone:
			case <-ctx.Done():
				return
			}
			end := int64(total)
			if k+1 < len(limits) {
				end = limits[k+1]
			}
			for n := limits[k]; n < end; n++ {
				events.append(fmt.Sprint("event ", n+1))
			}
		}
	})

	var got []int64
	next := 0 // index in cuts of the next cut
	cl := &client{
		URL:     "ws://" + proxy.ln.Addr().String() + "/",
		Backoff: redial.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond},
		OnEvent: func(n int64, payload string) {
			if want := fmt.Sprint("event ", n); payload != want {
				t.Errorf("event %d: got payload %q, want %q", n, payload, want)
			}
			got = append(got, n)
			if next < len(cuts) && n == cuts[next] {
				proxy.mu.Lock()
				conns := proxy.accepted
				proxy.mu.Unlock()
				if conns != next+1 {
					t.Errorf("event %d came on connection %d, want %d", n, conns, next+1)
				}
				if !proxy.cut() {
					t.Errorf("cut at event %d found no connection open", n)
				}
				next++
				cutDone <- struct{}{}
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
	if next != len(cuts) {
		t.Errorf("made %d cuts, want %d", next, len(cuts))
	}
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	if proxy.accepted != len(cuts)+1 {
		t.Errorf("got %d connections for %d cuts, want one more", proxy.accepted, len(cuts))
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
	srv := websockettest.NewServer(&streamServer{events: events})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []int64
	cl := &client{
		URL:     srv.URL + "/",
		Backoff: redial.Backoff{Initial: time.Millisecond},
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
