package sendqueue

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wsforge/websocket"
)

// BenchmarkBroadcastTCP fans one message out to many real loopback TCP
// connections; an op ends when the receiving ends have read it whole on
// every connection. The receivers run in a child process (this test binary
// run again as TestHelperBroadcastReceiver), so that each process holds
// one end of each connection and 10,000 connections fit the limit on open
// files. The server ends are Conns upgraded on the accepted sockets from
// a request made up in process (the handshake is not what is measured);
// the receivers skip the 101 response and read raw frames.
//
//	go test -run '^$' -bench BroadcastTCP -benchmem ./sendqueue/
//
// write-each is Conn.Write on each connection in turn from one goroutine;
// broadcast is Broadcast over a Queue per connection; caller-ns/conn is the
// time the broadcasting goroutine spends in Broadcast, after which it is
// free.
func BenchmarkBroadcastTCP(b *testing.B) {
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	for _, n := range []int{1000, 10_000} {
		for _, size := range []int{128, 4096} {
			b.Run(fmt.Sprintf("conns=%d/size=%d", n, size), func(b *testing.B) {
				if lim.Cur < uint64(n)+200 {
					b.Skipf("the limit on open files (%d) is too low for %d connections", lim.Cur, n)
				}
				benchTCPFanout(b, n, size)
			})
		}
	}
}

// serverFrameLen is the length of an unmasked frame with a payload of n
// bytes (RFC 6455 §5.2): the shortest length encoding is used.
func serverFrameLen(n int) int {
	switch {
	case n <= 125:
		return 2 + n
	case n <= 0xFFFF:
		return 4 + n
	}
	return 10 + n
}

func benchTCPFanout(b *testing.B, n, size int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperBroadcastReceiver$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("WSFORGE_FANOUT_RECEIVER=%s %d %d", ln.Addr(), n, serverFrameLen(size)))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close() // the receiver exits when its input ends
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		nc, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = mustUpgrade(b, nc, nil, "")
	}
	defer func() {
		for _, c := range conns {
			c.CloseNow()
		}
	}()
	lines := bufio.NewScanner(stdout)
	delivered := func() {
		for lines.Scan() {
			if lines.Text() == "delivered" {
				return
			}
		}
		b.Fatalf("the receiver ended: %v", lines.Err())
	}
	ctx := context.Background()
	p := make([]byte, size)

	b.Run("write-each", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, c := range conns {
				if err := c.Write(ctx, websocket.MessageBinary, p); err != nil {
					b.Fatal(err)
				}
			}
			delivered()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/conn")
	})
	b.Run("broadcast", func(b *testing.B) {
		queues := make([]*Queue, n)
		for i, c := range conns {
			queues[i] = New(c, &Options{Overflow: OverflowDropNewest})
		}
		defer func() {
			for _, q := range queues {
				q.Close(ctx)
			}
		}()
		Broadcast(ctx, websocket.MessageBinary, p, queues...) // warm up: allocate the rings
		delivered()
		b.ReportAllocs()
		var caller time.Duration
		for b.Loop() {
			start := time.Now()
			if sent, _ := Broadcast(ctx, websocket.MessageBinary, p, queues...); sent != n {
				b.Fatalf("got %d queues, want %d", sent, n)
			}
			caller += time.Since(start)
			delivered()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/conn")
		b.ReportMetric(float64(caller.Nanoseconds())/float64(b.N*n), "caller-ns/conn")
	})
}

// TestHelperBroadcastReceiver is the receiving side of BenchmarkBroadcastTCP
// when run as its child; otherwise it does nothing. It dials the
// connections, skips each one's 101 response, reads frames of the given
// length on each, prints "delivered" each time every connection has read
// one more, and exits when its standard input ends.
func TestHelperBroadcastReceiver(t *testing.T) {
	env := os.Getenv("WSFORGE_FANOUT_RECEIVER")
	if env == "" {
		t.Skip("run by BenchmarkBroadcastTCP")
	}
	f := strings.Fields(env)
	n, _ := strconv.Atoi(f[1])
	frameLen, _ := strconv.Atoi(f[2])
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", f[0])
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	var total atomic.Int64
	var out sync.Mutex
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			br := bufio.NewReader(c)
			if err := skipResponse(br); err != nil {
				return
			}
			buf := make([]byte, frameLen)
			for {
				if _, err := io.ReadFull(br, buf); err != nil {
					return
				}
				// Every connection gets one message per round, and the
				// next round starts only once this one is reported.
				if total.Add(1)%int64(n) == 0 {
					out.Lock()
					fmt.Println("delivered")
					out.Unlock()
				}
			}
		})
	}
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
}
