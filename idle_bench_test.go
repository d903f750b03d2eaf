package websocket

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

// The idle-connection benchmark runs the clients in a child process (this
// test binary again, running TestIdleConnsChild), so that the parent holds
// only the server ends: 10,000 connections in one process would take 20,000
// descriptors, the per-process limit here, and would mix client memory into
// the figure.
const (
	idleConnsEnv = "WSFORGE_IDLE_CONNS"      // how many connections; default 1000
	idleChildEnv = "WSFORGE_IDLE_CHILD_ADDR" // set in the child: the server to dial
	idleRawEnv   = "WSFORGE_IDLE_CHILD_RAW"  // set in the child: no handshake
)

func idleConnCount(tb testing.TB) int {
	s := os.Getenv(idleConnsEnv)
	if s == "" {
		return 1000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive number", idleConnsEnv, s)
	}
	return n
}

// idleResult is what one measurement found, per connection.
type idleResult struct {
	heap, stack, goroutines float64
}

var (
	idleMu      sync.Mutex
	idleResults = map[string]idleResult{}
)

// BenchmarkIdleConns reports the memory a server holds per idle connection,
// its goroutine blocked in Read as a real server's would be:
//
//   - net-http: accepted by an http.Server and Upgrade with default
//     options, the handler reading; what a server built on the package
//     pays.
//   - raw: a Conn made directly over each accepted TCP connection, one
//     goroutine reading; the package's own share.
//
// It measures once (b.N is ignored) and reports B/conn (heap in use plus
// stacks, after GC), heap-B/conn, stack-B/conn and goroutines/conn; later
// calls report the same figures, so run it with -benchtime=1x. Set
// WSFORGE_IDLE_CONNS for the number of connections, for example:
//
//	WSFORGE_IDLE_CONNS=10000 go test -run '^$' -bench IdleConns -benchtime=1x
func BenchmarkIdleConns(b *testing.B) {
	n := idleConnCount(b)
	for _, raw := range []bool{false, true} {
		name := map[bool]string{false: "net-http", true: "raw"}[raw]
		b.Run(name, func(b *testing.B) {
			key := fmt.Sprint(name, n)
			idleMu.Lock()
			r, ok := idleResults[key]
			if !ok {
				r = measureIdleConns(b, n, raw)
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

func measureIdleConns(b *testing.B, n int, raw bool) idleResult {
	b.Helper()
	wstest.CheckLeaks(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var upgraded, ended sync.WaitGroup
	upgraded.Add(n)
	ended.Add(n)
	if raw {
		go func() {
			for {
				nc, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer ended.Done()
					c := newConn(nc, nil, false, (*UpgradeOptions)(nil).connConfig())
					upgraded.Done()
					c.Read(context.Background(), nil) // idle until the client goes
					c.CloseNow()
				}()
			}
		}()
		defer ln.Close()
	} else {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer ended.Done()
			c, err := Upgrade(w, r, nil)
			upgraded.Done()
			if err != nil {
				b.Errorf("Upgrade: %v", err)
				return
			}
			c.Read(context.Background(), nil) // idle until the client goes
			c.CloseNow()
		})}
		go srv.Serve(ln)
		defer srv.Close()
	}

	runtime.GC()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutinesBefore := runtime.NumGoroutine()

	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleConnsChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), idleChildEnv+"="+ln.Addr().String(), idleConnsEnv+"="+strconv.Itoa(n))
	if raw {
		cmd.Env = append(cmd.Env, idleRawEnv+"=1")
	}
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
	upgraded.Wait()

	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	goroutines := runtime.NumGoroutine() - goroutinesBefore
	r := idleResult{
		heap:       float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / float64(n),
		stack:      float64(int64(after.StackInuse)-int64(before.StackInuse)) / float64(n),
		goroutines: float64(goroutines) / float64(n),
	}

	// The child ends its connections when its stdin closes.
	stdin.Close()
	ended.Wait()
	return r
}

// TestIdleConnsChild is the client side of BenchmarkIdleConns, run in a
// child process; it does nothing in a normal test run. It opens the
// connections with a raw handshake, says "ready", and holds them until
// stdin closes.
func TestIdleConnsChild(t *testing.T) {
	addr := os.Getenv(idleChildEnv)
	if addr == "" {
		t.Skip("run by BenchmarkIdleConns")
	}
	n := idleConnCount(t)
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	dial := dialRaw
	if os.Getenv(idleRawEnv) != "" {
		dial = func(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, testTimeout) }
	}
	for range n {
		c, err := dial(addr)
		if err != nil {
			t.Fatalf("connection %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
}

// dialRaw opens a WebSocket connection with a minimal handshake and returns
// the bare TCP connection.
func dialRaw(addr string) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		return nil, err
	}
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n\r\n"
	nc.SetDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(nc, req); err != nil {
		nc.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		nc.Close()
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		nc.Close()
		return nil, fmt.Errorf("handshake: got %s, want 101", resp.Status)
	}
	nc.SetDeadline(time.Time{})
	return nc, nil
}
