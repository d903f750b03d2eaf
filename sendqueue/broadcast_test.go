package sendqueue

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/internal/wstest"
	"github.com/wsforge/websocket/websockettest"
)

// A peer that never reads, over real TCP: the socket buffers fill, then
// the queue, and then its policy applies instead of Send blocking.
func TestQueueNeverReadsTCP(t *testing.T) {
	wstest.CheckLeaks(t)
	const closeTimeout = 100 * time.Millisecond
	tests := []struct {
		name     string
		overflow Overflow
		wantErr  error
	}{
		{name: "block", overflow: OverflowBlock, wantErr: context.Canceled},
		{name: "drop newest", overflow: OverflowDropNewest, wantErr: ErrFull},
		{name: "close", overflow: OverflowClose, wantErr: net.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dialed, nc := wstest.TCPPair(t)
			// Fixed small buffers: the kernel does not grow them later.
			dialed.(*net.TCPConn).SetReadBuffer(16 << 10)
			nc.(*net.TCPConn).SetWriteBuffer(16 << 10)
			accepted := &enterConn{Conn: nc, entered: make(chan struct{}, 1)}
			// The 101 response waits, unread, in the dialed end's buffer.
			server := mustUpgrade(t, accepted, &websocket.UpgradeOptions{CloseTimeout: closeTimeout}, "")
			defer server.CloseNow()
			select {
			case <-accepted.entered: // the response
			default:
			}
			// Fill the socket buffers first: write until a write cannot
			// finish within 100 ms. The peer never reads, so the bytes
			// need not be frames.
			p := make([]byte, 64<<10)
			filled := 0
			for {
				nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				n, err := nc.Write(p)
				filled += n
				if err != nil {
					break
				}
			}
			nc.SetWriteDeadline(time.Time{})
			t.Logf("the socket buffers took %d KiB", filled>>10)

			q := New(server, &Options{MaxMessages: 8, Overflow: tt.overflow, CloseTimeout: closeTimeout})
			// Send does not wait on a full OverflowBlock queue when its
			// context has ended.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			for i := range 8 {
				if err := q.Send(ctx, websocket.MessageBinary, p); err != nil {
					t.Fatalf("Send %d: %v", i, err)
				}
				if i == 0 {
					<-accepted.entered // the writer is stuck on message 0
				}
			}
			if err := q.Send(ctx, websocket.MessageBinary, p); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Send 8: got %v, want %v", err, tt.wantErr)
			}
			if tt.overflow == OverflowClose {
				<-server.Context().Done() // within CloseTimeout
				q.Close(context.Background())
				return
			}
			// Discarding with a frame stuck in flight closes the Conn.
			if err := q.Close(ctx); err != context.Canceled {
				t.Errorf("Close: got %v, want context.Canceled", err)
			}
			if !closed(server) {
				t.Error("the Conn is still open after discarding a frame in flight")
			}
		})
	}
}

// enterConn reports each Write as it begins.
type enterConn struct {
	net.Conn
	entered chan struct{}
}

func (c *enterConn) Write(p []byte) (int, error) {
	select {
	case c.entered <- struct{}{}:
	default:
	}
	return c.Conn.Write(p)
}

// One connection that never reads does not hold up a broadcast to the
// others, whatever its policy; an OverflowBlock queue is waited for only
// after all others have the message, and only until ctx ends.
func TestBroadcastSlowConsumer(t *testing.T) {
	wstest.CheckLeaks(t)
	tests := []struct {
		name     string
		overflow Overflow
		timeout  time.Duration // of each Broadcast
	}{
		{name: "drop newest", overflow: OverflowDropNewest},
		{name: "close", overflow: OverflowClose},
		{name: "block", overflow: OverflowBlock, timeout: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const readers, messages = 4, 50
				slow, _ := pipeServer(t, nil)
				queues := []*Queue{New(slow, &Options{MaxMessages: 2, Overflow: tt.overflow})}
				got := make([][][]byte, readers)
				var wg sync.WaitGroup
				for i := range readers {
					c, peer := pipeServer(t, nil)
					// The slow queue first: it must not delay the others.
					queues = append(queues, New(c, &Options{MaxMessages: 2}))
					wg.Go(func() {
						for range messages {
							_, p, err := peer.ReadMessage(nil)
							if err != nil {
								t.Errorf("reader %d: %v", i, err)
								return
							}
							got[i] = append(got[i], p)
						}
					})
				}
				start := time.Now()
				waited := 0
				for m := range messages {
					ctx := context.Background()
					var cancel context.CancelFunc = func() {}
					if tt.timeout > 0 {
						ctx, cancel = context.WithTimeout(ctx, tt.timeout)
					}
					n, err := Broadcast(ctx, websocket.MessageText, msg(m), queues...)
					cancel()
					if n < readers || n > readers+1 {
						t.Fatalf("message %d: got %d queues, want %d or %d", m, n, readers, readers+1)
					}
					if err != nil {
						waited++
						if !errors.Is(err, context.DeadlineExceeded) || tt.overflow != OverflowBlock {
							t.Fatalf("message %d: got %v", m, err)
						}
					}
				}
				wg.Wait()
				for i := range readers {
					for m, p := range got[i] {
						if !bytes.Equal(p, msg(m)) {
							t.Fatalf("reader %d message %d: got %q", i, m, p)
						}
					}
				}
				// The blocked queue held two messages; every later one
				// waited its full timeout.
				if d, want := time.Since(start), time.Duration(waited)*tt.timeout; d != want || tt.timeout > 0 && waited != messages-2 {
					t.Errorf("broadcasting took %v with %d waits, want %v", d, waited, want)
				}
				slow.CloseNow() // else Close would wait for its peer forever
				for _, q := range queues {
					q.Close(context.Background())
				}
			})
		})
	}
}

// Real connections, one of which never reads: every message reaches the
// readers, in order, and Broadcast keeps returning at once.
func TestBroadcastTCP(t *testing.T) {
	wstest.CheckLeaks(t)
	const readers, messages, size = 3, 400, 32 << 10
	ctx := context.Background()
	pair := func() (server, client *websocket.Conn) {
		server, client, err := websockettest.Pair(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			server.CloseNow()
			client.CloseNow()
		})
		return server, client
	}
	slowServer, _ := pair()
	queues := []*Queue{New(slowServer, &Options{MaxMessages: 16, Overflow: OverflowDropNewest})}
	var wg sync.WaitGroup
	for i := range readers {
		server, client := pair()
		queues = append(queues, New(server, &Options{MaxMessages: 64}))
		wg.Go(func() {
			for m := range messages {
				_, p, err := client.Read(ctx, nil)
				if err != nil || len(p) != size || p[0] != byte(m) {
					t.Errorf("reader %d message %d: got %d bytes %v", i, m, len(p), err)
					return
				}
			}
		})
	}
	dropped := 0
	p := make([]byte, size)
	for m := range messages {
		p[0] = byte(m) // Broadcast has encoded the previous one: p may change
		n, err := Broadcast(ctx, websocket.MessageBinary, p, queues...)
		if err != nil || n < readers {
			t.Fatalf("message %d: got %d queues %v, want at least %d", m, n, err, readers)
		}
		dropped += readers + 1 - n
	}
	wg.Wait()
	if dropped == 0 {
		t.Error("the connection that never reads took all of 12 MiB")
	}
	for _, q := range queues[1:] {
		if err := q.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	// The queue of the peer that never reads cannot flush: discard.
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := queues[0].Close(done); err != context.Canceled {
		t.Errorf("Close of the stuck queue: got %v, want context.Canceled", err)
	}
}
