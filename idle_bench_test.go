package websocket

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/wsforge/websocket/internal/wstest"
)

// idleRawEnv, set in the child of BenchmarkIdleConns/raw, makes it open
// bare TCP connections, without a handshake.
const idleRawEnv = "WSFORGE_IDLE_CHILD_RAW"

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
			reportIdle(b, fmt.Sprint(name, n), func() idleResult { return measureIdleConns(b, n, raw) })
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

	before := measureInUse()
	var extra []string
	if raw {
		extra = append(extra, idleRawEnv+"=1")
	}
	// The clients run in a child process (childproc_test.go).
	ch := startChild(b, "TestIdleConnsChild", ln.Addr().String(), n, extra...)
	defer ch.stop()
	if err := ch.await("ready"); err != nil {
		b.Fatal(err)
	}
	upgraded.Wait()
	r := before.perConn(n)

	// The child ends its connections when its stdin closes.
	ch.stop()
	ended.Wait()
	return r
}

// TestIdleConnsChild is the client side of BenchmarkIdleConns, run in a
// child process; it does nothing in a normal test run. It opens the
// connections with a raw handshake, says "ready", and holds them until
// stdin closes.
func TestIdleConnsChild(t *testing.T) {
	addr, n := childParams(t, "BenchmarkIdleConns")
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
