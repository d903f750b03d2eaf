package websocket

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

// The heartbeat of BenchmarkIdleHeartbeat: every connection has answered
// a ping when the memory is measured, and 10,000 connections ping no more
// than 700 times a second, with a pong timeout that a busy machine meets.
const (
	benchPing = 15 * time.Second
	benchPong = 15 * time.Second
)

// BenchmarkIdleHeartbeat reports what the heartbeat costs an idle server
// connection: bytes (heap in use plus stacks, after GC) and goroutines per
// connection, with the heartbeat off and on (a ping every 15 s): first
// ("conn-only") what newConn allocates, without sockets; then over TCP, with
// the application's goroutine blocked in Read ("reader") and with none at
// all ("no-reader": the handler returns after Upgrade and the heartbeat
// reads the pongs itself). The handler keeps the connections in a list,
// and they are all closed with StatusGoingAway at the end. The clients,
// which answer pings, run in a child process, as in BenchmarkIdleConns.
//
// It measures once (b.N is ignored); run it with -benchtime=1x and set
// WSFORGE_IDLE_CONNS for the number of connections (default 1000):
//
//	WSFORGE_IDLE_CONNS=10000 go test -run '^$' -bench IdleHeartbeat -benchtime=1x
func BenchmarkIdleHeartbeat(b *testing.B) {
	n := idleConnCount(b)
	for _, heartbeat := range []bool{false, true} {
		b.Run(fmt.Sprintf("conn-only/heartbeat=%s", map[bool]string{true: "on", false: "off"}[heartbeat]), func(b *testing.B) {
			b.ReportMetric(measureConnOnly(b, n, heartbeat), "B/conn")
			b.ReportMetric(0, "ns/op")
		})
	}
	for _, reader := range []bool{true, false} {
		for _, heartbeat := range []bool{false, true} {
			name := fmt.Sprintf("%s/heartbeat=%s",
				map[bool]string{true: "reader", false: "no-reader"}[reader],
				map[bool]string{true: "on", false: "off"}[heartbeat])
			b.Run(name, func(b *testing.B) {
				reportIdle(b, fmt.Sprint("heartbeat ", name, n), func() idleResult { return measureHeartbeat(b, n, reader, heartbeat) })
			})
		}
	}
}

// measureConnOnly returns the bytes allocated per Conn made over a
// connection that does no I/O: the package's own share, exactly, without
// the sockets and net/http around it.
func measureConnOnly(b *testing.B, n int, heartbeat bool) float64 {
	var opts UpgradeOptions
	if heartbeat {
		opts.PingInterval, opts.PongTimeout = benchPing, benchPong
	}
	// newConn itself, over one connection shared by all: newFakeConn
	// would count a connection of its own for each.
	cfg := opts.connConfig()
	nc := &wstest.FakeConn{}
	conns := make([]*Conn, n)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range conns {
		conns[i] = newConn(nc, nil, false, cfg)
	}
	runtime.ReadMemStats(&after)
	for _, c := range conns {
		c.CloseNow()
	}
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
}

func measureHeartbeat(b *testing.B, n int, reader, heartbeat bool) idleResult {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var opts UpgradeOptions
	if heartbeat {
		opts.PingInterval, opts.PongTimeout = benchPing, benchPong
	}
	var (
		mu    sync.Mutex
		conns []*Conn // every connection upgraded
	)
	upgraded := func() []*Conn {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(conns)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r, &opts)
		if err != nil {
			b.Errorf("Upgrade: %v", err)
			return
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		for reader {
			if _, _, err := c.Read(context.Background(), nil); err != nil {
				return
			}
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()

	before := measureInUse()
	// The clients run in a child process (childproc_test.go).
	ch := startChild(b, "TestIdleHeartbeatChild", ln.Addr().String(), n)
	defer ch.stop()
	if err := ch.await("ready"); err != nil {
		b.Fatal(err)
	}
	for len(upgraded()) < n {
		time.Sleep(10 * time.Millisecond)
	}
	// Let every connection be pinged and answer: without a reader, the
	// pong is read only when it is due, PongTimeout after the ping.
	time.Sleep(benchPing + benchPong + 2*time.Second)

	r := before.perConn(n)

	var open, pongs, pongTimeouts int
	for _, c := range upgraded() {
		if !c.isClosed() {
			open++
		}
		if c.Stats().PongTimeout {
			pongTimeouts++
		}
		pongs += int(c.stats.pongs.Load())
	}
	if open != n || pongTimeouts != 0 {
		b.Fatalf("%d of %d connections open, %d pong timeouts", open, n, pongTimeouts)
	}
	if heartbeat && pongs < n {
		b.Fatalf("%d pongs on %d connections, want at least one each", pongs, n)
	}

	// The clients answer the close, so that the shutdown is graceful; each
	// Close is bounded by the default CloseTimeout.
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range upgraded() {
		wg.Go(func() { c.Close(StatusGoingAway, "server shutting down") })
	}
	wg.Wait()
	handshakes := 0
	for _, c := range upgraded() {
		if c.Stats().CloseReceived == StatusGoingAway {
			handshakes++
		}
	}
	if handshakes != n {
		b.Errorf("after the shutdown: %d close handshakes of %d", handshakes, n)
	}
	b.Logf("Shutdown of %d connections: %v", n, time.Since(start).Round(time.Millisecond))
	return r
}

// TestIdleHeartbeatChild is the client side of BenchmarkIdleHeartbeat, run
// in a child process; it does nothing in a normal test run. It opens the
// connections, reads each in a goroutine (so that pings are answered and
// the server's close is replied to), says "ready", and holds them until
// stdin closes.
func TestIdleHeartbeatChild(t *testing.T) {
	addr, n := childParams(t, "BenchmarkIdleHeartbeat")
	conns := make([]*Conn, 0, n)
	for range n {
		c := rawDial(t, addr, nil)
		conns = append(conns, c)
		go func() {
			for {
				if _, _, err := c.Read(context.Background(), nil); err != nil {
					return
				}
			}
		}()
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.CloseNow()
	}
}
