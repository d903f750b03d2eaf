package websocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

func TestPing(t *testing.T) {
	// Ping returns once the pong arrives, which takes a reader on each
	// side: the peer's answers, ours receives the pong.
	for _, fromClient := range []bool{true, false} {
		t.Run(fmt.Sprintf("fromClient=%v", fromClient), func(t *testing.T) {
			server, client := newPair(t, nil, nil)
			pinger, peer := server, client
			if fromClient {
				pinger, peer = client, server
			}
			readUntilError(peer)
			pingerRead := readUntilError(pinger)
			var wg sync.WaitGroup
			for range 10 {
				wg.Go(func() {
					for range 10 {
						if err := pinger.Ping(context.Background()); err != nil {
							t.Errorf("Ping: %v", err)
							return
						}
					}
				})
			}
			wg.Wait()
			if err := pinger.Close(StatusNormalClosure, ""); err != nil {
				t.Errorf("Close: %v", err)
			}
			<-pingerRead
		})
	}
}

func TestPingRawPeer(t *testing.T) {
	// The ping carries a payload; only a pong with that payload ends Ping.
	for _, client := range []bool{false, true} {
		t.Run(fmt.Sprintf("client=%v", client), func(t *testing.T) {
			c, p := newRawPair(t, client, nil, nil)
			done := make(chan error, 1)
			go func() { done <- c.Ping(context.Background()) }()
			f, err := p.ReadFrame()
			if err != nil || f.Op != wstest.OpPing || !f.Fin || len(f.Payload) > 125 {
				t.Fatalf("got op %#x fin=%v %d bytes %v, want a ping", f.Op, f.Fin, len(f.Payload), err)
			}
			// A pong with another payload, or an empty one, is not the
			// answer; data is read as usual meanwhile.
			p.WriteFrame(frame(true, wstest.OpPong, "not yours"))
			p.WriteFrame(frame(true, wstest.OpPong, ""))
			p.WriteMessage(wstest.OpText, []byte("data"))
			if _, msg, err := c.Read(context.Background(), nil); err != nil || string(msg) != "data" {
				t.Fatalf("Read: got %q %v, want %q", msg, err, "data")
			}
			c.pingMu.Lock()
			waiting := len(c.pings)
			c.pingMu.Unlock()
			if waiting != 1 {
				t.Fatalf("got %d pings waiting after the wrong pongs, want 1", waiting)
			}
			p.WriteFrame(wstest.Frame{Fin: true, Op: wstest.OpPong, Payload: f.Payload})
			p.WriteMessage(wstest.OpText, []byte("more"))
			if _, msg, err := c.Read(context.Background(), nil); err != nil || string(msg) != "more" {
				t.Fatalf("Read: got %q %v, want %q", msg, err, "more")
			}
			var perr error
			within(t, "Ping", func() { perr = <-done })
			if perr != nil {
				t.Errorf("Ping: %v", perr)
			}
		})
	}
}

func TestPingUnanswered(t *testing.T) {
	// A peer that never answers: Ping ends with its context, exactly then.
	synctest.Test(t, func(t *testing.T) {
		c, p := newPipeRawPair(t, true, nil)
		go io.Copy(io.Discard, p.Conn)
		readUntilError(c)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		if err := c.Ping(ctx); err != context.DeadlineExceeded {
			t.Errorf("Ping: got %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("Ping took %v, want 3s", d)
		}
	})
}

func TestPingWithoutReader(t *testing.T) {
	// With no one reading, the pong is never seen: the context bounds Ping.
	c, p := newRawPair(t, false, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	go func() {
		if f, err := p.ReadFrame(); err == nil {
			p.WriteFrame(wstest.Frame{Fin: true, Op: wstest.OpPong, Payload: f.Payload})
		}
	}()
	if err := c.Ping(ctx); err != context.DeadlineExceeded {
		t.Errorf("Ping: got %v, want context.DeadlineExceeded", err)
	}
}

func TestPingConnCloses(t *testing.T) {
	// A Ping waiting for its pong returns when the connection ends.
	c, p := newRawPair(t, false, nil, nil)
	readErr := readUntilError(c)
	done := make(chan error, 1)
	go func() { done <- c.Ping(context.Background()) }()
	if _, err := p.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	p.Close()
	var err error
	within(t, "Ping", func() { err = <-done })
	if err == nil {
		t.Error("Ping: got nil error")
	}
	<-readErr
}

func TestPingHooksAndAutomaticPong(t *testing.T) {
	payloads := []string{"", "x", "hello", strings.Repeat("p", 125), "\xff\x00binary"}
	for _, client := range []bool{false, true} {
		t.Run(fmt.Sprintf("client=%v", client), func(t *testing.T) {
			var mu sync.Mutex
			var pings, pongs []string
			o := &UpgradeOptions{
				OnPing: func(p []byte) {
					mu.Lock()
					pings = append(pings, string(p))
					mu.Unlock()
				},
				OnPong: func(p []byte) {
					mu.Lock()
					pongs = append(pongs, string(p))
					mu.Unlock()
				},
			}
			c, p := newRawPair(t, client, o, nil)
			for _, pl := range payloads {
				p.WriteFrame(frame(true, wstest.OpPing, pl))
				p.WriteFrame(frame(true, wstest.OpPong, "re: "+pl[:min(len(pl), 100)]))
				p.WriteMessage(wstest.OpBinary, []byte(pl))
				if _, msg, err := c.Read(context.Background(), nil); err != nil || string(msg) != pl {
					t.Fatalf("Read: got %q %v, want %q", msg, err, pl)
				}
				// §5.5.3: the pong carries the ping's payload.
				f, err := p.ReadFrame()
				if err != nil || f.Op != wstest.OpPong || !f.Fin || string(f.Payload) != pl {
					t.Fatalf("got op %#x fin=%v %q %v, want pong %q", f.Op, f.Fin, f.Payload, err, pl)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for i, pl := range payloads {
				if i >= len(pings) || pings[i] != pl {
					t.Errorf("OnPing call %d: got %q, want %q", i, pings, pl)
				}
				if want := "re: " + pl[:min(len(pl), 100)]; i >= len(pongs) || pongs[i] != want {
					t.Errorf("OnPong call %d: got %q, want %q", i, pongs, want)
				}
			}
		})
	}
}

func TestPingBurstAnswersLatest(t *testing.T) {
	// §5.5.3: of pings that arrive before a pong could be sent, answering
	// the latest is enough; it must be answered.
	c, p := newRawPair(t, false, nil, nil)
	var burst []byte
	for i := range 5 {
		burst = append(burst, masked(frame(true, wstest.OpPing, fmt.Sprint(i)))...)
	}
	burst = append(burst, masked(frame(true, wstest.OpText, "after"))...)
	p.Write(burst)
	if _, msg, err := c.Read(context.Background(), nil); err != nil || string(msg) != "after" {
		t.Fatalf("Read: got %q %v", msg, err)
	}
	var last string
	reply := make(chan error, 1)
	go func() {
		for {
			f, err := p.ReadFrame()
			if err != nil {
				reply <- err
				return
			}
			if f.Op == wstest.OpClose {
				reply <- p.WriteClose(1000, "")
				return
			}
			if f.Op != wstest.OpPong {
				reply <- fmt.Errorf("got op %#x, want pongs", f.Op)
				return
			}
			last = string(f.Payload)
		}
	}()
	closed := make(chan error, 1)
	go func() { closed <- c.Close(StatusNormalClosure, "") }()
	if err := <-reply; err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if last != "4" {
		t.Errorf("last pong: got %q, want %q", last, "4")
	}
	p.Close()
}

func TestPingAfterClose(t *testing.T) {
	c, _ := newRawPair(t, false, nil, nil)
	c.CloseNow()
	if err := c.Ping(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("got %v, want net.ErrClosed", err)
	}
}
