package sendqueue

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/wsforge/websocket"
)

// Fan-out benchmarks over in-memory connections, so that 10,000 of them
// fit in one process and the figures count the library's work only: each
// connection's net.Conn discards what is written (BenchmarkBroadcastTCP
// has real sockets). One op is one message delivered to every connection.
//
//	go test -run '^$' -bench 'Broadcast|Queue' -benchmem ./sendqueue/
//
// Variants:
//   - write-each: Conn.Write on each connection in turn, from one goroutine;
//   - prepared-each: one PreparedMessage, Conn.WritePrepared on each in turn;
//   - broadcast: Broadcast to a Queue per connection (it encodes the
//     message once), and the op ends when every queue's goroutine has
//     written it. caller-ns/conn is the part of that the broadcasting
//     goroutine spends in Broadcast: after it, the caller is free, while
//     the queues' goroutines write. B/queue is the memory an idle queue
//     holds, its goroutine's stack included.
//
// Compressed: permessage-deflate without context takeover on every
// connection, a compressible payload: write-each compresses once per
// connection, the prepared variants once per message.

const fanout = 10_000

// doneWriter calls wg.Done for each write: a prepared message is one.
type doneWriter struct{ wg *sync.WaitGroup }

func (w doneWriter) Write(p []byte) (int, error) {
	w.wg.Done()
	return len(p), nil
}

// noContextTakeover is the offer that makes a server compress each message
// on its own, so that a PreparedMessage can share its compressed form.
const noContextTakeover = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

func BenchmarkBroadcast(b *testing.B) {
	for _, size := range []int{128, 4096} {
		for _, compressed := range []bool{false, true} {
			name := fmt.Sprintf("size=%d", size)
			if compressed {
				name += "/deflate"
			}
			b.Run(name, func(b *testing.B) { benchFanout(b, size, compressed) })
		}
	}
}

func benchFanout(b *testing.B, size int, compressed bool) {
	p := bytes.Repeat([]byte("wsforge broadcast "), size/18+1)[:size]
	ctx := context.Background()
	var wg sync.WaitGroup
	newConns := func(w io.Writer) []*websocket.Conn {
		so, ext := (*websocket.UpgradeOptions)(nil), ""
		if compressed {
			so, ext = &websocket.UpgradeOptions{Compression: &websocket.CompressionOptions{}}, noContextTakeover
		}
		conns := make([]*websocket.Conn, fanout)
		for i := range conns {
			conns[i] = fakeConn(b, func() io.Writer { return w }, so, ext)
		}
		return conns
	}
	b.Run("write-each", func(b *testing.B) {
		conns := newConns(nil) // Write may write a message in pieces
		b.ReportAllocs()
		for b.Loop() {
			for _, c := range conns {
				if err := c.Write(ctx, websocket.MessageText, p); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*fanout), "ns/conn")
	})
	conns := newConns(doneWriter{&wg})
	b.Run("prepared-each", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pm, _ := websocket.NewPreparedMessage(websocket.MessageText, p)
			wg.Add(fanout)
			for _, c := range conns {
				if err := c.WritePrepared(ctx, pm); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*fanout), "ns/conn")
	})
	b.Run("broadcast", func(b *testing.B) {
		before := memInUse()
		queues := make([]*Queue, fanout)
		for i, c := range conns {
			queues[i] = New(c, &Options{Overflow: OverflowDropNewest})
		}
		// Warm up: each queue's ring is allocated on its first message.
		wg.Add(fanout)
		Broadcast(ctx, websocket.MessageText, p, queues...)
		wg.Wait()
		perQueue := float64(memInUse()-before) / fanout
		b.ReportAllocs()
		var caller time.Duration
		for b.Loop() {
			start := time.Now()
			wg.Add(fanout)
			if n, _ := Broadcast(ctx, websocket.MessageText, p, queues...); n != fanout {
				b.Fatalf("got %d queues, want %d", n, fanout)
			}
			caller += time.Since(start)
			wg.Wait()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*fanout), "ns/conn")
		b.ReportMetric(float64(caller.Nanoseconds())/float64(b.N*fanout), "caller-ns/conn")
		b.ReportMetric(perQueue, "B/queue")
		b.StopTimer()
		for _, q := range queues {
			q.Close(ctx)
		}
	})
	for _, c := range conns {
		c.CloseNow()
	}
}

// BenchmarkQueue is the cost of sending one message through a queue
// rather than writing it directly, on a connection that discards what it
// is written. A sender pushes messages as fast as it can; it waits when
// the queue is full, so ns/op is the throughput of the sender and the
// queue's goroutine together. Broadcast is to that one queue, so it
// includes encoding the message; Send+wait is the latency of one message
// through an idle queue.
func BenchmarkQueue(b *testing.B) {
	ctx := context.Background()
	for _, size := range []int{16, 125, 1024, 4096} {
		p := bytes.Repeat([]byte("q"), size)
		pm, _ := websocket.NewPreparedMessage(websocket.MessageBinary, p)
		b.Run(fmt.Sprintf("size=%d/Write", size), func(b *testing.B) {
			c := fakeConn(b, nil, nil, "")
			defer c.CloseNow()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				c.Write(ctx, websocket.MessageBinary, p)
			}
		})
		b.Run(fmt.Sprintf("size=%d/WritePrepared", size), func(b *testing.B) {
			c := fakeConn(b, nil, nil, "")
			defer c.CloseNow()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				c.WritePrepared(ctx, pm)
			}
		})
		for _, broadcast := range []bool{false, true} {
			name := fmt.Sprintf("size=%d/Send", size)
			if broadcast {
				name = fmt.Sprintf("size=%d/Broadcast", size)
			}
			b.Run(name, func(b *testing.B) {
				c := fakeConn(b, nil, nil, "")
				defer c.CloseNow()
				q := New(c, nil)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if broadcast {
						Broadcast(ctx, websocket.MessageBinary, p, q)
					} else {
						q.Send(ctx, websocket.MessageBinary, p)
					}
				}
				if err := q.Close(ctx); err != nil {
					b.Fatal(err)
				}
			})
		}
		// One message at a time: the sender waits until the queue's
		// goroutine has written it, so ns/op includes waking it.
		b.Run(fmt.Sprintf("size=%d/Send+wait", size), func(b *testing.B) {
			w := make(notifyWriter)
			c := fakeConn(b, func() io.Writer { return w }, nil, "")
			defer c.CloseNow()
			q := New(c, nil)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				q.Send(ctx, websocket.MessageBinary, p)
				<-w
			}
			q.Close(ctx)
		})
	}
}

// memInUse returns the bytes of heap objects and goroutine stacks in use,
// after a collection.
func memInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse)
}
