package websocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

// pipeServer returns a server Conn over net.Pipe and a raw client peer on
// the other end. A pipe holds no bytes: a write waits until the peer reads,
// so a peer that does not read is a consumer whose buffers are full.
func pipeServer(t testing.TB) (*Conn, *wstest.RawPeer) {
	a, b := net.Pipe()
	server := newConn(a, nil, false, (*UpgradeOptions)(nil).connConfig())
	t.Cleanup(func() {
		server.CloseNow()
		b.Close()
	})
	return server, wstest.NewRawPeer(b, true)
}

// readText reads one message and checks it is text with the given payload.
func readText(t testing.TB, peer *wstest.RawPeer, want string) {
	t.Helper()
	op, p, err := peer.ReadMessage(nil)
	if err != nil || op != wstest.OpText || string(p) != want {
		t.Fatalf("got %d %q %v, want text %q", op, p, err, want)
	}
}

func msg(i int) []byte { return []byte("message " + strconv.Itoa(i)) }

// Messages from one sender arrive in the order sent, whether copied or
// prepared, and none is lost or repeated when several send at once.
func TestSendQueueOrder(t *testing.T) {
	ctx := context.Background()
	server, client := newPair(t, nil, nil)
	q := NewSendQueue(server, &SendQueueOptions{MaxMessages: 4})
	const senders, each = 4, 250
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				p := fmt.Appendf(nil, "%d:%d", s, i)
				var err error
				if i%2 == 0 {
					err = q.Send(ctx, MessageText, p)
				} else {
					pm, _ := NewPreparedMessage(MessageText, p)
					err = q.SendPrepared(ctx, pm)
				}
				if err != nil {
					t.Errorf("sender %d message %d: %v", s, i, err)
					return
				}
			}
		})
	}
	next := make([]int, senders)
	for range senders * each {
		_, p, err := client.Read(ctx, nil)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		a, b, _ := strings.Cut(string(p), ":")
		s, _ := strconv.Atoi(a)
		i, _ := strconv.Atoi(b)
		if i != next[s] {
			t.Fatalf("sender %d: got message %d, want %d", s, i, next[s])
		}
		next[s]++
	}
	wg.Wait()
	if err := q.Close(ctx); err != nil {
		t.Errorf("Close: got %v, want nil", err)
	}
}

// Each policy, against a peer that has stopped reading with three messages
// pending (one being written, two queued).
func TestSendQueueOverflow(t *testing.T) {
	wstest.CheckLeaks(t)
	tests := []struct {
		name      string
		overflow  Overflow
		code      StatusCode
		wantErr   error
		wantAfter []int // messages the peer then reads, in order
		wantClose StatusCode
	}{
		{
			name:      "block",
			overflow:  OverflowBlock,
			wantErr:   context.Canceled,
			wantAfter: []int{0, 1, 2, 4},
		},
		{
			name:      "drop newest",
			overflow:  OverflowDropNewest,
			wantErr:   ErrQueueFull,
			wantAfter: []int{0, 1, 2, 4},
		},
		{
			name:      "close 1008",
			overflow:  OverflowClose,
			wantErr:   net.ErrClosed,
			wantAfter: []int{0},
			wantClose: StatusPolicyViolation,
		},
		{
			name:      "close 1013",
			overflow:  OverflowClose,
			code:      StatusTryAgainLater,
			wantErr:   ErrQueueFull,
			wantAfter: []int{0},
			wantClose: StatusTryAgainLater,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				server, peer := pipeServer(t)
				q := NewSendQueue(server, &SendQueueOptions{MaxMessages: 3, Overflow: tt.overflow, CloseCode: tt.code})
				ctx := context.Background()
				for i := range 3 {
					if err := q.Send(ctx, MessageText, msg(i)); err != nil {
						t.Fatalf("Send %d: %v", i, err)
					}
				}
				synctest.Wait() // the writer is blocked on message 0
				cancelled, cancel := context.WithCancel(ctx)
				cancel()
				if err := q.Send(cancelled, MessageText, msg(3)); !errors.Is(err, tt.wantErr) {
					t.Fatalf("Send 3: got %v, want %v", err, tt.wantErr)
				}
				// Message 4 is sent while the queue is full (and waits
				// for room) with OverflowBlock, else once it has drained.
				sent := make(chan error, 1)
				if tt.overflow == OverflowBlock {
					go func() { sent <- q.Send(ctx, MessageText, msg(4)) }()
					synctest.Wait()
				}
				for _, i := range tt.wantAfter {
					if i == 4 && tt.overflow != OverflowBlock {
						synctest.Wait()
						sent <- q.Send(ctx, MessageText, msg(4))
					}
					readText(t, peer, string(msg(i)))
				}
				if tt.wantClose != 0 {
					code, _, err := peer.ReadClose()
					if err != nil || StatusCode(code) != tt.wantClose {
						t.Fatalf("got close %d %v, want %d", code, err, tt.wantClose)
					}
					peer.WriteClose(code, "")
					if err := peer.ReadEOF(); err != nil {
						t.Errorf("after the close handshake: %v", err)
					}
					sent <- q.Send(ctx, MessageText, msg(4))
				}
				if err := <-sent; (err == nil) != (tt.wantClose == 0) {
					t.Errorf("Send 4: got %v", err)
				}
				q.Close(ctx)
			})
		})
	}
}

// OverflowClose on a peer that reads nothing at all: the close frame
// cannot go out behind the stuck frame, so the Conn is closed once
// CloseTimeout has passed since the overflow.
func TestSendQueueCloseNeverReads(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		server, _ := pipeServer(t)
		q := NewSendQueue(server, &SendQueueOptions{MaxMessages: 1, Overflow: OverflowClose})
		ctx := context.Background()
		q.Send(ctx, MessageText, msg(0))
		synctest.Wait()
		start := time.Now()
		if err := q.Send(ctx, MessageText, msg(1)); !errors.Is(err, ErrQueueFull) || !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Send: got %v, want ErrQueueFull and net.ErrClosed", err)
		}
		<-server.done
		if d := time.Since(start); d != DefaultCloseTimeout {
			t.Errorf("closed after %v, want %v", d, DefaultCloseTimeout)
		}
		if err := q.Close(ctx); !errors.Is(err, ErrQueueFull) {
			t.Errorf("Close: got %v, want ErrQueueFull", err)
		}
		if err := q.Send(ctx, MessageText, msg(2)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Send after Close: got %v, want net.ErrClosed", err)
		}
	})
}

// Close flushes what is queued, unless its context ends first.
func TestSendQueueClose(t *testing.T) {
	wstest.CheckLeaks(t)
	tests := []struct {
		name      string
		queued    int
		reading   bool          // the peer reads
		closeConn bool          // the Conn is closed before the queue
		timeout   time.Duration // of Close's context; negative: already done
		wantErr   error
		wantUp    bool // the Conn can still be written to
	}{
		{
			name:    "flush",
			queued:  3,
			reading: true,
			wantUp:  true,
		},
		{
			name:    "idle with context done",
			timeout: -1,
			wantUp:  true,
		},
		{
			name:    "discard",
			queued:  3,
			timeout: -1,
			wantErr: context.Canceled,
		},
		{
			name:    "flush until deadline",
			queued:  3,
			timeout: time.Second,
			wantErr: context.DeadlineExceeded,
		},
		{
			name:      "Conn closed with nothing queued",
			closeConn: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				server, peer := pipeServer(t)
				q := NewSendQueue(server, nil)
				bg := context.Background()
				got := make(chan string, 10)
				if tt.reading {
					go func() {
						for {
							_, p, err := peer.ReadMessage(nil)
							if err != nil {
								close(got)
								return
							}
							got <- string(p)
						}
					}()
				}
				for i := range tt.queued {
					if err := q.Send(bg, MessageText, msg(i)); err != nil {
						t.Fatal(err)
					}
				}
				if tt.closeConn {
					server.CloseNow()
				}
				synctest.Wait()
				ctx := bg
				switch {
				case tt.timeout < 0:
					c, cancel := context.WithCancel(bg)
					cancel()
					ctx = c
				case tt.timeout > 0:
					c, cancel := context.WithTimeout(bg, tt.timeout)
					defer cancel()
					ctx = c
				}
				start := time.Now()
				if err := q.Close(ctx); !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
					t.Errorf("Close: got %v, want %v", err, tt.wantErr)
				}
				if d := time.Since(start); tt.timeout > 0 && d != tt.timeout {
					t.Errorf("Close took %v, want %v", d, tt.timeout)
				}
				if err := q.Send(bg, MessageText, msg(9)); !errors.Is(err, net.ErrClosed) {
					t.Errorf("Send after Close: got %v, want net.ErrClosed", err)
				}
				for i := range tt.queued {
					if tt.reading {
						if p := <-got; p != string(msg(i)) {
							t.Errorf("got %q, want %q", p, msg(i))
						}
					}
				}
				if !tt.reading {
					go peer.ReadMessage(nil) // let a write that is still possible finish
				}
				err := server.Write(bg, MessageText, msg(10))
				if up := err == nil; up != tt.wantUp {
					t.Errorf("Write after Close: got %v, want the Conn up %v", err, tt.wantUp)
				}
				if tt.reading && tt.wantUp {
					if p := <-got; p != string(msg(10)) {
						t.Errorf("got %q, want %q", p, msg(10))
					}
				}
				server.CloseNow()
				synctest.Wait()
			})
		})
	}
}

// A queue ends by itself when its Conn closes, and its goroutine exits.
func TestSendQueueConnClosed(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		server, _ := pipeServer(t)
		q := NewSendQueue(server, nil)
		server.CloseNow()
		<-q.done
		if err := q.Send(context.Background(), MessageBinary, nil); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Send: got %v, want net.ErrClosed", err)
		}
	})
}

// Close reports an error only when a message it accepted was not written,
// whatever became of the Conn once they all were: a queue whose peer read
// every message and then closed normally used to report the close.
func TestSendQueueCloseReportsUnwritten(t *testing.T) {
	wstest.CheckLeaks(t)
	const queued = 3
	tests := []struct {
		name    string
		read    int    // messages the peer reads before the Conn ends
		end     string // how the Conn ends before Close: "handshake" (the peer closes normally), "CloseNow", or "" for not at all
		ctxDone bool   // Close's context has ended already
		wantErr error  // nil: Close returns nil
	}{
		{
			name: "all read, then the peer closes normally",
			read: queued,
			end:  "handshake",
		},
		{
			name:    "all read, then the peer closes normally, context done",
			read:    queued,
			end:     "handshake",
			ctxDone: true,
		},
		{
			name: "all read, then the Conn is closed",
			read: queued,
			end:  "CloseNow",
		},
		{
			name:    "none read, the Conn is closed",
			end:     "CloseNow",
			wantErr: net.ErrClosed,
		},
		{
			name:    "one read, the Conn is closed",
			read:    1,
			end:     "CloseNow",
			wantErr: net.ErrClosed,
		},
		{
			name:    "none read, context done",
			ctxDone: true,
			wantErr: context.Canceled,
		},
		{
			name:    "one read, context done",
			read:    1,
			ctxDone: true,
			wantErr: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				server, peer := pipeServer(t)
				q := NewSendQueue(server, nil)
				bg := context.Background()
				for i := range queued {
					if err := q.Send(bg, MessageText, msg(i)); err != nil {
						t.Fatalf("Send %d: %v", i, err)
					}
				}
				for i := range tt.read {
					readText(t, peer, string(msg(i)))
				}
				synctest.Wait() // the writer is idle, or stuck on the next message
				switch tt.end {
				case "handshake":
					readErr := make(chan error, 1)
					go func() {
						_, _, err := server.Read(bg, nil)
						readErr <- err
					}()
					if err := peer.WriteClose(uint16(StatusNormalClosure), ""); err != nil {
						t.Fatalf("WriteClose: %v", err)
					}
					if code, _, err := peer.ReadClose(); err != nil || StatusCode(code) != StatusNormalClosure {
						t.Fatalf("got close %d %v, want %d", code, err, StatusNormalClosure)
					}
					if err := peer.ReadEOF(); err != nil {
						t.Fatalf("after the close handshake: %v", err)
					}
					if err := <-readErr; CloseStatus(err) != StatusNormalClosure {
						t.Fatalf("Read: got %v, want a close with %d", err, StatusNormalClosure)
					}
				case "CloseNow":
					server.CloseNow()
				}
				if tt.end != "" {
					<-server.done
					<-q.done // the queue has seen the Conn end
					if err := q.Send(bg, MessageText, msg(9)); !errors.Is(err, net.ErrClosed) {
						t.Errorf("Send on the ended queue: got %v, want net.ErrClosed", err)
					}
				}
				ctx := bg
				if tt.ctxDone {
					c, cancel := context.WithCancel(bg)
					cancel()
					ctx = c
				}
				err := q.Close(ctx)
				if !errors.Is(err, tt.wantErr) { // with wantErr nil, true unless err is nil
					t.Errorf("Close: got %v, want %v", err, tt.wantErr)
				}
				if err := q.Send(bg, MessageText, msg(10)); !errors.Is(err, net.ErrClosed) {
					t.Errorf("Send after Close: got %v, want net.ErrClosed", err)
				}
			})
		})
	}
}

func TestSendQueueBytes(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		server, peer := pipeServer(t)
		q := NewSendQueue(server, &SendQueueOptions{MaxBytes: 100, Overflow: OverflowDropNewest})
		ctx := context.Background()
		big := bytes.Repeat([]byte("b"), 150)
		steps := []struct {
			p    []byte
			want error
		}{
			{big, nil},                           // larger than MaxBytes, but alone
			{[]byte("x"), ErrQueueFull},          // 150 pending
			{nil, ErrQueueFull},                  // even empty: over the limit
			{bytes.Repeat([]byte("s"), 60), nil}, // after big is written
			{bytes.Repeat([]byte("t"), 40), nil}, // 100 pending
			{bytes.Repeat([]byte("u"), 1), ErrQueueFull},
		}
		for i, s := range steps {
			if i == 3 {
				readText(t, peer, string(big))
				synctest.Wait()
			}
			if err := q.Send(ctx, MessageText, s.p); err != s.want {
				t.Fatalf("step %d: got %v, want %v", i, err, s.want)
			}
			synctest.Wait()
		}
		readText(t, peer, strings.Repeat("s", 60))
		readText(t, peer, strings.Repeat("t", 40))
		q.Close(ctx)
	})
}

func TestSendQueueInvalid(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		server, _ := pipeServer(t)
		q := NewSendQueue(server, &SendQueueOptions{CloseCode: 1005})
		if q.closeCode != StatusPolicyViolation {
			t.Errorf("got close code %v, want 1008", q.closeCode)
		}
		ctx := context.Background()
		if err := q.Send(ctx, MessageType(0), nil); err == nil {
			t.Error("Send of message type 0: got nil error")
		}
		if err := q.SendPrepared(ctx, nil); err == nil {
			t.Error("SendPrepared(nil): got nil error")
		}
		if n, err := Broadcast(ctx, nil, q); n != 0 || err == nil {
			t.Errorf("Broadcast(nil): got %d, %v, want 0 and an error", n, err)
		}
		if err := server.WritePrepared(ctx, nil); err == nil {
			t.Error("WritePrepared(nil): got nil error")
		}
		if err := (&Redialer{}).Run(ctx, nil); err == nil {
			t.Error("Run with a nil function: got nil error")
		}
		q.Close(context.Background())
	})
}

// notifyWriter reports each write on a channel.
type notifyWriter chan struct{}

func (w notifyWriter) Write(p []byte) (int, error) {
	w <- struct{}{}
	return len(p), nil
}

// Queuing allocates nothing per message once warm: not for a prepared
// message, and not for a copied one of a size seen before.
func TestSendQueueAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("AllocsPerRun is unreliable under the race detector")
	}
	wstest.CheckLeaks(t)
	w := make(notifyWriter)
	c := fakeConn(w, false, nil)
	q := NewSendQueue(c, nil)
	defer q.Close(context.Background())
	ctx := context.Background()
	p := bytes.Repeat([]byte("p"), 1000)
	pm, _ := NewPreparedMessage(MessageBinary, p)
	for _, tt := range []struct {
		name string
		send func()
	}{
		{"SendPrepared", func() { q.SendPrepared(ctx, pm) }},
		{"Send", func() { q.Send(ctx, MessageBinary, p) }},
	} {
		tt.send()
		<-w
		if n := testing.AllocsPerRun(1000, func() { tt.send(); <-w }); n != 0 {
			t.Errorf("%s: got %v allocations per message, want 0", tt.name, n)
		}
	}
}
