package sendqueue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/internal/wstest"
	"github.com/wsforge/websocket/websockettest"
)

// Messages from one sender arrive in the order sent, whether copied (Send)
// or encoded once (Broadcast), and none is lost or repeated when several
// send at once.
func TestQueueOrder(t *testing.T) {
	wstest.CheckLeaks(t)
	ctx := context.Background()
	server, client, err := websockettest.Pair(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer server.CloseNow()
	defer client.CloseNow()
	q := New(server, &Options{MaxMessages: 4})
	const senders, each = 4, 250
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				p := fmt.Appendf(nil, "%d:%d", s, i)
				var err error
				if i%2 == 0 {
					err = q.Send(ctx, websocket.MessageText, p)
				} else if n, berr := Broadcast(ctx, websocket.MessageText, p, q); n != 1 {
					err = fmt.Errorf("Broadcast: got %d queues, want 1 (%v)", n, berr)
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
func TestQueueOverflow(t *testing.T) {
	wstest.CheckLeaks(t)
	tests := []struct {
		name      string
		overflow  Overflow
		code      websocket.StatusCode
		wantErr   error
		wantAfter []int // messages the peer then reads, in order
		wantClose websocket.StatusCode
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
			wantErr:   ErrFull,
			wantAfter: []int{0, 1, 2, 4},
		},
		{
			name:      "close 1008",
			overflow:  OverflowClose,
			wantErr:   net.ErrClosed,
			wantAfter: []int{0},
			wantClose: websocket.StatusPolicyViolation,
		},
		{
			name:      "close 1013",
			overflow:  OverflowClose,
			code:      websocket.StatusTryAgainLater,
			wantErr:   ErrFull,
			wantAfter: []int{0},
			wantClose: websocket.StatusTryAgainLater,
		},
		{
			name:      "close with a code no close frame carries: 1008",
			overflow:  OverflowClose,
			code:      websocket.StatusNoStatusRcvd,
			wantErr:   ErrFull,
			wantAfter: []int{0},
			wantClose: websocket.StatusPolicyViolation,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				server, peer := pipeServer(t, nil)
				q := New(server, &Options{MaxMessages: 3, Overflow: tt.overflow, CloseCode: tt.code})
				ctx := context.Background()
				for i := range 3 {
					if err := q.Send(ctx, websocket.MessageText, msg(i)); err != nil {
						t.Fatalf("Send %d: %v", i, err)
					}
				}
				synctest.Wait() // the writer is blocked on message 0
				cancelled, cancel := context.WithCancel(ctx)
				cancel()
				if err := q.Send(cancelled, websocket.MessageText, msg(3)); !errors.Is(err, tt.wantErr) {
					t.Fatalf("Send 3: got %v, want %v", err, tt.wantErr)
				}
				// Message 4 is sent while the queue is full (and waits
				// for room) with OverflowBlock, else once it has drained.
				sent := make(chan error, 1)
				if tt.overflow == OverflowBlock {
					go func() { sent <- q.Send(ctx, websocket.MessageText, msg(4)) }()
					synctest.Wait()
				}
				for _, i := range tt.wantAfter {
					if i == 4 && tt.overflow != OverflowBlock {
						synctest.Wait()
						sent <- q.Send(ctx, websocket.MessageText, msg(4))
					}
					readText(t, peer, string(msg(i)))
				}
				if tt.wantClose != 0 {
					code, _, err := peer.ReadClose()
					if err != nil || websocket.StatusCode(code) != tt.wantClose {
						t.Fatalf("got close %d %v, want %d", code, err, tt.wantClose)
					}
					peer.WriteClose(code, "")
					if err := peer.ReadEOF(); err != nil {
						t.Errorf("after the close handshake: %v", err)
					}
					sent <- q.Send(ctx, websocket.MessageText, msg(4))
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
func TestQueueCloseNeverReads(t *testing.T) {
	wstest.CheckLeaks(t)
	tests := []struct {
		name    string
		timeout time.Duration // Options.CloseTimeout
		want    time.Duration
	}{
		{
			name: "default",
			want: websocket.DefaultCloseTimeout,
		},
		{
			name:    "set",
			timeout: 300 * time.Millisecond,
			want:    300 * time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				server, _ := pipeServer(t, nil)
				q := New(server, &Options{MaxMessages: 1, Overflow: OverflowClose, CloseTimeout: tt.timeout})
				ctx := context.Background()
				q.Send(ctx, websocket.MessageText, msg(0))
				synctest.Wait()
				start := time.Now()
				if err := q.Send(ctx, websocket.MessageText, msg(1)); !errors.Is(err, ErrFull) || !errors.Is(err, net.ErrClosed) {
					t.Fatalf("Send: got %v, want ErrFull and net.ErrClosed", err)
				}
				<-server.Context().Done()
				if d := time.Since(start); d != tt.want {
					t.Errorf("closed after %v, want %v", d, tt.want)
				}
				if err := q.Close(ctx); !errors.Is(err, ErrFull) {
					t.Errorf("Close: got %v, want ErrFull", err)
				}
				if err := q.Send(ctx, websocket.MessageText, msg(2)); !errors.Is(err, net.ErrClosed) {
					t.Errorf("Send after Close: got %v, want net.ErrClosed", err)
				}
			})
		})
	}
}

// Close flushes what is queued, unless its context ends first.
func TestQueueClose(t *testing.T) {
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
				server, peer := pipeServer(t, nil)
				q := New(server, nil)
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
					if err := q.Send(bg, websocket.MessageText, msg(i)); err != nil {
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
				if err := q.Send(bg, websocket.MessageText, msg(9)); !errors.Is(err, net.ErrClosed) {
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
				err := server.Write(bg, websocket.MessageText, msg(10))
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
func TestQueueConnClosed(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		server, _ := pipeServer(t, nil)
		q := New(server, nil)
		server.CloseNow()
		<-q.done
		if err := q.Send(context.Background(), websocket.MessageBinary, nil); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Send: got %v, want net.ErrClosed", err)
		}
		if err := q.Close(context.Background()); err != nil {
			t.Errorf("Close: got %v, want nil", err)
		}
	})
}

// Close reports an error only when a message it accepted was not written,
// whatever became of the Conn once they all were: a queue whose peer read
// every message and then closed normally used to report the close.
func TestQueueCloseReportsUnwritten(t *testing.T) {
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
				server, peer := pipeServer(t, nil)
				q := New(server, nil)
				bg := context.Background()
				for i := range queued {
					if err := q.Send(bg, websocket.MessageText, msg(i)); err != nil {
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
					if err := peer.WriteClose(uint16(websocket.StatusNormalClosure), ""); err != nil {
						t.Fatalf("WriteClose: %v", err)
					}
					if code, _, err := peer.ReadClose(); err != nil || websocket.StatusCode(code) != websocket.StatusNormalClosure {
						t.Fatalf("got close %d %v, want %d", code, err, websocket.StatusNormalClosure)
					}
					if err := peer.ReadEOF(); err != nil {
						t.Fatalf("after the close handshake: %v", err)
					}
					if err := <-readErr; websocket.CloseStatus(err) != websocket.StatusNormalClosure {
						t.Fatalf("Read: got %v, want a close with %d", err, websocket.StatusNormalClosure)
					}
				case "CloseNow":
					server.CloseNow()
				}
				if tt.end != "" {
					<-server.Context().Done()
					<-q.done // the queue has seen the Conn end
					if err := q.Send(bg, websocket.MessageText, msg(9)); !errors.Is(err, net.ErrClosed) {
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
				if err := q.Send(bg, websocket.MessageText, msg(10)); !errors.Is(err, net.ErrClosed) {
					t.Errorf("Send after Close: got %v, want net.ErrClosed", err)
				}
			})
		})
	}
}

// MaxBytes counts payload bytes, the message being written included; a
// message larger than the limit goes only into an empty queue.
func TestQueueBytes(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		server, peer := pipeServer(t, nil)
		q := New(server, &Options{MaxBytes: 100, Overflow: OverflowDropNewest})
		ctx := context.Background()
		big := bytes.Repeat([]byte("b"), 150)
		steps := []struct {
			p    []byte
			want error
		}{
			{big, nil},                           // larger than MaxBytes, but alone
			{[]byte("x"), ErrFull},               // 150 pending
			{nil, ErrFull},                       // even empty: over the limit
			{bytes.Repeat([]byte("s"), 60), nil}, // after big is written
			{bytes.Repeat([]byte("t"), 40), nil}, // 100 pending
			{bytes.Repeat([]byte("u"), 1), ErrFull},
		}
		for i, s := range steps {
			if i == 3 {
				readText(t, peer, string(big))
				synctest.Wait()
			}
			if err := q.Send(ctx, websocket.MessageText, s.p); err != s.want {
				t.Fatalf("step %d: got %v, want %v", i, err, s.want)
			}
			synctest.Wait()
		}
		readText(t, peer, strings.Repeat("s", 60))
		readText(t, peer, strings.Repeat("t", 40))
		q.Close(ctx)
	})
}

// Broadcast accounts a message by its payload, as Send does.
func TestBroadcastBytes(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		server, peer := pipeServer(t, nil)
		q := New(server, &Options{MaxBytes: 100, Overflow: OverflowDropNewest})
		ctx := context.Background()
		steps := []struct {
			n    int // payload bytes
			want int // queues that take it
		}{
			{n: 10, want: 1}, // being written: 10 pending
			{n: 90, want: 1}, // 100 pending
			{n: 1, want: 0},
		}
		for i, s := range steps {
			if n, err := Broadcast(ctx, websocket.MessageBinary, make([]byte, s.n), q); n != s.want || err != nil {
				t.Fatalf("step %d: got %d, %v, want %d, nil", i, n, err, s.want)
			}
			synctest.Wait()
		}
		for _, s := range steps[:2] {
			if op, p, err := peer.ReadMessage(nil); err != nil || op != wstest.OpBinary || len(p) != s.n {
				t.Fatalf("got %d, %d bytes, %v, want binary of %d bytes", op, len(p), err, s.n)
			}
		}
		if err := q.Close(ctx); err != nil {
			t.Errorf("Close: got %v, want nil", err)
		}
	})
}

// New turns options it cannot use into the defaults, never panicking.
func TestNewOptions(t *testing.T) {
	wstest.CheckLeaks(t)
	tests := []struct {
		name          string
		opts          *Options
		wantMessages  int
		wantBytes     int64
		wantOverflow  Overflow
		wantCloseCode websocket.StatusCode
		wantTimeout   time.Duration
	}{
		{
			name:          "nil",
			wantMessages:  DefaultMessages,
			wantBytes:     DefaultBytes,
			wantOverflow:  OverflowBlock,
			wantCloseCode: websocket.StatusPolicyViolation,
			wantTimeout:   websocket.DefaultCloseTimeout,
		},
		{
			name:          "set",
			opts:          &Options{MaxMessages: 3, MaxBytes: 7, Overflow: OverflowClose, CloseCode: 4000, CloseTimeout: time.Second},
			wantMessages:  3,
			wantBytes:     7,
			wantOverflow:  OverflowClose,
			wantCloseCode: 4000,
			wantTimeout:   time.Second,
		},
		{
			name:          "negative",
			opts:          &Options{MaxMessages: -1, MaxBytes: -1, Overflow: -1, CloseCode: 1013, CloseTimeout: -time.Second},
			wantMessages:  DefaultMessages,
			wantBytes:     -1,
			wantOverflow:  OverflowBlock,
			wantCloseCode: websocket.StatusTryAgainLater,
			wantTimeout:   websocket.DefaultCloseTimeout,
		},
		{
			name:          "close code 1005",
			opts:          &Options{CloseCode: 1005, Overflow: 99},
			wantMessages:  DefaultMessages,
			wantBytes:     DefaultBytes,
			wantOverflow:  OverflowBlock,
			wantCloseCode: 1005, // Close refuses it: 1008 goes out instead
			wantTimeout:   websocket.DefaultCloseTimeout,
		},
		{
			name:          "close code 5000",
			opts:          &Options{CloseCode: 5000},
			wantMessages:  DefaultMessages,
			wantBytes:     DefaultBytes,
			wantOverflow:  OverflowBlock,
			wantCloseCode: 5000, // Close refuses it: 1008 goes out instead
			wantTimeout:   websocket.DefaultCloseTimeout,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				server, _ := pipeServer(t, nil)
				var before Options
				if tt.opts != nil {
					before = *tt.opts
				}
				q := New(server, tt.opts)
				defer q.Close(context.Background())
				if tt.opts != nil && *tt.opts != before {
					t.Errorf("New changed the options: got %+v, want %+v", *tt.opts, before)
				}
				if q.maxMsgs != tt.wantMessages {
					t.Errorf("MaxMessages: got %d, want %d", q.maxMsgs, tt.wantMessages)
				}
				if q.maxBytes != tt.wantBytes {
					t.Errorf("MaxBytes: got %d, want %d", q.maxBytes, tt.wantBytes)
				}
				if q.overflow != tt.wantOverflow {
					t.Errorf("Overflow: got %d, want %d", q.overflow, tt.wantOverflow)
				}
				if q.closeCode != tt.wantCloseCode {
					t.Errorf("CloseCode: got %v, want %v", q.closeCode, tt.wantCloseCode)
				}
				if q.closeTimeout != tt.wantTimeout {
					t.Errorf("CloseTimeout: got %v, want %v", q.closeTimeout, tt.wantTimeout)
				}
			})
		})
	}
}

// Misuse is an error, never a panic.
func TestInvalid(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		server, _ := pipeServer(t, nil)
		q := New(server, nil)
		ctx := context.Background()
		defer func() {
			// The peer reads nothing: discard.
			done, cancel := context.WithCancel(ctx)
			cancel()
			q.Close(done)
		}()
		tests := []struct {
			name string
			call func() (int, error) // how many messages were queued, and the error
		}{
			{
				name: "Send of message type 0",
				call: func() (int, error) { return 0, q.Send(ctx, websocket.MessageType(0), nil) },
			},
			{
				name: "Broadcast of message type 0",
				call: func() (int, error) { return Broadcast(ctx, websocket.MessageType(0), nil, q) },
			},
			{
				name: "Send on a queue without a Conn",
				call: func() (int, error) { return 0, New(nil, nil).Send(ctx, websocket.MessageText, nil) },
			},
			{
				name: "Broadcast to a queue without a Conn",
				call: func() (int, error) { return Broadcast(ctx, websocket.MessageText, nil, New(nil, nil)) },
			},
		}
		for _, tt := range tests {
			n, err := tt.call()
			if n != 0 {
				t.Errorf("%s: got %d messages queued, want 0", tt.name, n)
			}
			if tt.name == "Broadcast to a queue without a Conn" {
				continue // a queue that refuses a broadcast says why on Send
			}
			if err == nil || !strings.HasPrefix(err.Error(), "sendqueue: ") {
				t.Errorf("%s: got %v, want an error with the prefix sendqueue:", tt.name, err)
			}
		}
		nq := New(nil, nil)
		if err := nq.Close(ctx); err != nil {
			t.Errorf("Close of a queue without a Conn: got %v, want nil", err)
		}
		if n, err := Broadcast(ctx, websocket.MessageText, nil, nil, q); n != 1 || err != nil {
			t.Errorf("Broadcast with a nil queue: got %d, %v, want 1, nil", n, err)
		}
		if n, err := Broadcast(ctx, websocket.MessageText, nil); n != 0 || err != nil {
			t.Errorf("Broadcast to no queue: got %d, %v, want 0, nil", n, err)
		}
	})
}

func TestBufferClass(t *testing.T) {
	tests := []struct {
		n         int
		wantClass int
		wantCap   int
	}{
		{n: 0, wantClass: 0, wantCap: 64},
		{n: 64, wantClass: 0, wantCap: 64},
		{n: 65, wantClass: 1, wantCap: 128},
		{n: 1000, wantClass: 4, wantCap: 1024},
		{n: 64 << 10, wantClass: 10, wantCap: 64 << 10},
		{n: 64<<10 + 1, wantClass: -1, wantCap: 64<<10 + 1},
	}
	for _, tt := range tests {
		if tt.wantClass >= 0 {
			if got := bufferClass(tt.n); got != tt.wantClass {
				t.Errorf("bufferClass(%d): got %d, want %d", tt.n, got, tt.wantClass)
			}
		}
		bp := getBuffer(tt.n)
		if len(*bp) != tt.n || cap(*bp) != tt.wantCap {
			t.Errorf("getBuffer(%d): got len %d cap %d, want len %d cap %d", tt.n, len(*bp), cap(*bp), tt.n, tt.wantCap)
		}
		putBuffer(bp)
	}
}

// notifyWriter reports each write on a channel.
type notifyWriter chan struct{}

func (w notifyWriter) Write(p []byte) (int, error) {
	w <- struct{}{}
	return len(p), nil
}

// fakeConn returns a server Conn whose writes go to w (nil discards) and
// whose reads end at once, upgraded offering extensions with so.
func fakeConn(tb testing.TB, w func() io.Writer, so *websocket.UpgradeOptions, extensions string) *websocket.Conn {
	tb.Helper()
	fc := &wstest.FakeConn{}
	c := mustUpgrade(tb, fc, so, extensions) // the response is discarded
	if w != nil {
		fc.W = w()
	}
	return c
}

// Queuing allocates nothing per message once warm: not for a copied
// message of a size seen before, and nothing beyond encoding the message
// for Broadcast.
func TestQueueAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("AllocsPerRun is unreliable under the race detector")
	}
	wstest.CheckLeaks(t)
	w := make(notifyWriter)
	c := fakeConn(t, func() io.Writer { return w }, nil, "")
	q := New(c, nil)
	defer q.Close(context.Background())
	ctx := context.Background()
	p := bytes.Repeat([]byte("p"), 1000)
	encode := testing.AllocsPerRun(1000, func() { websocket.NewPreparedMessage(websocket.MessageBinary, p) })
	tests := []struct {
		name string
		send func()
		want float64
	}{
		{
			name: "Send",
			send: func() { q.Send(ctx, websocket.MessageBinary, p) },
			want: 0,
		},
		{
			name: "Broadcast",
			send: func() { Broadcast(ctx, websocket.MessageBinary, p, q) },
			want: encode,
		},
	}
	for _, tt := range tests {
		tt.send()
		<-w
		if n := testing.AllocsPerRun(1000, func() { tt.send(); <-w }); n != tt.want {
			t.Errorf("%s: got %v allocations per message, want %v", tt.name, n, tt.want)
		}
	}
}
