package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	// idleConnsEnv sets the number of idle connections (default 2,000).
	idleConnsEnv = "BENCH_IDLE_CONNS"
	// idleChildEnv makes the test binary a client process: "ADDR,N" opens
	// N connections to ADDR, prints "ready" and holds them until its
	// standard input closes.
	idleChildEnv = "WSFORGE_BENCH_IDLE_CLIENT"
	// idleProfileEnv, if set, names a directory where BenchmarkIdle writes
	// a heap profile of each run at the moment it measures.
	idleProfileEnv = "BENCH_IDLE_HEAPPROFILE"
	// maxIdleConns keeps the server's descriptors within the limit of
	// 20,000 open files per process.
	maxIdleConns = 15000
)

// BenchmarkIdle measures what an idle server connection costs: N clients,
// in a child process so that this one holds only the server's descriptors,
// connect and go quiet, while each server connection is blocked in its read
// loop as an application's would be (gws: in its own ReadLoop). The loop
// runs either in the HTTP handler (loop=handler: what the examples of
// wsforge, gorilla, coder and gobwas show), which keeps net/http's
// per-request state (its conn, response and their buffers) alive with it,
// or in a goroutine of its own after the handler returns (loop=detached:
// what gws documents), which lets net/http's state go. It reports the growth of HeapInuse+StackInuse after
// runtime.GC, per connection (B/conn, also split into heapB/conn and
// stackB/conn), and the goroutines per connection. The server is net/http
// for every library; ns/op is hidden, and B/op and allocs/op count all the
// server allocated to accept and upgrade the N connections (op = all of
// them). Run it with -benchtime=1x: each run opens N connections anew.
func BenchmarkIdle(b *testing.B) {
	n := 2000
	if s := os.Getenv(idleConnsEnv); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 || v > maxIdleConns {
			b.Fatalf("%s=%q: want a count from 1 to %d", idleConnsEnv, s, maxIdleConns)
		}
		n = v
	}
	libs := append(libraries[:len(libraries):len(libraries)],
		// gorilla/websocket's documented way to save memory on idle
		// connections: write buffers from a pool instead of one each.
		library{name: "gorilla+WriteBufferPool", handler: func(o options) http.Handler {
			return gorillaServe(o, &sync.Pool{})
		}})
	for _, detach := range []bool{false, true} {
		mode := "handler"
		if detach {
			mode = "detached"
		}
		for _, lib := range libs {
			b.Run(fmt.Sprintf("lib=%s/loop=%s/conns=%d", lib.name, mode, n), func(b *testing.B) {
				benchIdle(b, lib, n, detach)
			})
		}
	}
}

func benchIdle(b *testing.B, lib library, n int, detach bool) {
	var loops atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: lib.handler(options{loops: &loops, detach: detach})}
	go srv.Serve(ln)
	defer srv.Close()

	before, g0 := memNow()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", idleChildEnv, ln.Addr(), n))
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
	defer func() {
		stdin.Close()
		cmd.Wait()
		// Let the server's read loops see the clients leave.
		for deadline := time.Now().Add(30 * time.Second); loops.Load() > 0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		b.Fatalf("%s: client process: %q, %v", lib.name, line, err)
	}
	for deadline := time.Now().Add(time.Minute); loops.Load() < int64(n); {
		if time.Now().After(deadline) {
			b.Fatalf("%s: %d of %d connections in their read loop", lib.name, loops.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // every read loop parked
	after, g1 := memNow()
	if dir := os.Getenv(idleProfileEnv); dir != "" {
		writeHeapProfile(b, filepath.Join(dir, strings.NewReplacer("/", "_", "=", "-").Replace(b.Name())+".pprof"))
	}

	heap := float64(after.HeapInuse) - float64(before.HeapInuse)
	stack := float64(after.StackInuse) - float64(before.StackInuse)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric((heap+stack)/float64(n), "B/conn")
	b.ReportMetric(heap/float64(n), "heapB/conn")
	b.ReportMetric(stack/float64(n), "stackB/conn")
	b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/conn")
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// memNow returns the memory statistics and goroutine count after a full
// collection.
func memNow() (runtime.MemStats, int) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m, runtime.NumGoroutine()
}

// idleChild is the client process of BenchmarkIdle. Its clients speak just
// enough WebSocket to finish the opening handshake, the same for every
// library's server, and then stay silent.
func idleChild() int {
	addr, count, _ := strings.Cut(os.Getenv(idleChildEnv), ",")
	n, err := strconv.Atoi(count)
	if err != nil {
		fmt.Fprintln(os.Stderr, "idle client:", err)
		return 2
	}
	conns := make([]net.Conn, n)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || failed.Load() != nil {
					return
				}
				c, err := handshake(addr)
				if err != nil {
					failed.Store(&err)
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		fmt.Fprintln(os.Stderr, "idle client:", *err)
		return 1
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	return 0
}

// handshake opens a connection and completes a WebSocket opening handshake.
func handshake(addr string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	req := strings.Replace(upgradeRequest, "bench.local", addr, 1)
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 512), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, fmt.Errorf("handshake: %s", resp.Status)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
