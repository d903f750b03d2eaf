package websocket

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

// heartbeatChildEnv, set in the child process of BenchmarkIdleHeartbeat,
// holds the address of the server to dial.
const heartbeatChildEnv = "WSFORGE_HEARTBEAT_CHILD_ADDR"

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
				key := fmt.Sprint("heartbeat ", name, n)
				idleMu.Lock()
				r, ok := idleResults[key]
				if !ok {
					r = measureHeartbeat(b, n, reader, heartbeat)
					idleResults[key] = r
				}
				idleMu.Unlock()
				b.ReportMetric(r.heap+r.stack, "B/conn")
				b.ReportMetric(r.heap, "heap-B/conn")
				b.ReportMetric(r.stack, "stack-B/conn")
				b.ReportMetric(r.goroutines, "goroutines/conn")
				b.ReportMetric(0, "ns/op")
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

	runtime.GC()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutinesBefore := runtime.NumGoroutine()

	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleHeartbeatChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), heartbeatChildEnv+"="+ln.Addr().String(), idleConnsEnv+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		var out []string
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- nil
				io.Copy(io.Discard, stdout)
				return
			}
			out = append(out, sc.Text())
		}
		ready <- fmt.Errorf("child ended before it was ready:\n%s", strings.Join(out, "\n"))
	}()
	if err := <-ready; err != nil {
		b.Fatal(err)
	}
	for len(upgraded()) < n {
		time.Sleep(10 * time.Millisecond)
	}
	// Let every connection be pinged and answer: without a reader, the
	// pong is read only when it is due, PongTimeout after the ping.
	time.Sleep(benchPing + benchPong + 2*time.Second)

	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	goroutines := runtime.NumGoroutine() - goroutinesBefore
	r := idleResult{
		heap:       float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / float64(n),
		stack:      float64(int64(after.StackInuse)-int64(before.StackInuse)) / float64(n),
		goroutines: float64(goroutines) / float64(n),
	}

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
	addr := os.Getenv(heartbeatChildEnv)
	if addr == "" {
		t.Skip("run by BenchmarkIdleHeartbeat")
	}
	n := idleConnCount(t)
	conns := make([]*Conn, 0, n)
	for range n {
		nc, err := dialRaw(addr)
		if err != nil {
			t.Fatalf("connection %d: %v", len(conns), err)
		}
		c := newConn(nc, nil, true, (*DialOptions)(nil).connConfig())
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
