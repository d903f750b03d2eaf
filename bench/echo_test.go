package bench

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// BenchmarkEcho measures a round trip over loopback TCP: the client writes
// a binary message, the server reads it whole and writes it back, the
// client reads the echo whole. Both ends are the same library, in this
// process, so B/op and allocs/op count the client's and the server's
// allocations together, for every library alike. MB/s is message bytes
// (one direction) per second.
//
// Libraries take turns size by size, so that a change in the machine's load
// during the run spreads over all of them.
func BenchmarkEcho(b *testing.B) {
	for _, size := range sizes {
		msg := payload(size)
		for _, lib := range libraries {
			b.Run(fmt.Sprintf("lib=%s/size=%d", lib.name, size), func(b *testing.B) {
				benchEcho(b, lib, msg, options{}, nil)
			})
		}
	}
}

// benchEcho runs b.N round trips of msg between lib's client and server.
// The loop is the classic b.N one, not b.Loop: gws's callback-driven client
// must know the count up front, and every library gets the same loop. If
// wire is not nil, it counts the bytes the server read.
func benchEcho(b *testing.B, lib library, msg []byte, o options, wire *atomic.Int64) {
	srv := httptest.NewUnstartedServer(lib.handler(o))
	if wire != nil {
		srv.Listener = &countingListener{Listener: srv.Listener, n: wire}
	}
	srv.Start()
	defer srv.Close()
	c, err := lib.dial(context.Background(), "ws://"+srv.Listener.Addr().String()+"/", o)
	if err != nil {
		b.Fatalf("%s: dial: %v", lib.name, err)
	}
	defer c.close()
	if err := c.roundTrips(msg, 1, true); err != nil {
		b.Fatalf("%s: %v", lib.name, err)
	}
	if err := c.roundTrips(msg, warmup, false); err != nil {
		b.Fatalf("%s: warm-up: %v", lib.name, err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	var before int64
	if wire != nil {
		before = wire.Load()
	}
	b.ResetTimer()
	cpu := startCPU()
	if err := c.roundTrips(msg, b.N, false); err != nil {
		b.Fatalf("%s: %v", lib.name, err)
	}
	b.StopTimer()
	cpu.report(b)
	if wire != nil {
		b.ReportMetric(float64(wire.Load()-before)/float64(b.N), "wireB/op")
	}
}

// countingListener counts the bytes read by the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestEcho checks every library's echo at every size, compressed or not,
// so that the benchmarks time working code, and that compression, when
// asked for, was negotiated: the 1 KiB JSON message must shrink on the wire.
func TestEcho(t *testing.T) {
	for _, compress := range []bool{false, true} {
		for _, lib := range libraries {
			t.Run(fmt.Sprintf("lib=%s/compress=%t", lib.name, compress), func(t *testing.T) {
				o := options{compress: compress}
				var wire atomic.Int64
				srv := httptest.NewUnstartedServer(lib.handler(o))
				srv.Listener = &countingListener{Listener: srv.Listener, n: &wire}
				srv.Start()
				defer srv.Close()
				c, err := lib.dial(context.Background(), "ws://"+srv.Listener.Addr().String()+"/", o)
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				defer c.close()
				for _, size := range append(sizes, 0, 1, 4095, 4097) {
					if err := c.roundTrips(payload(size), 3, true); err != nil {
						t.Fatalf("size %d: %v", size, err)
					}
				}
				msg := jsonPayload(1024)
				before := wire.Load()
				if err := c.roundTrips(msg, 1, true); err != nil {
					t.Fatalf("JSON: %v", err)
				}
				got := wire.Load() - before
				if compress && got >= int64(len(msg)) {
					t.Errorf("JSON message of %d bytes took %d on the wire, want fewer", len(msg), got)
				}
				if !compress && got < int64(len(msg)) {
					t.Errorf("JSON message of %d bytes took %d on the wire uncompressed", len(msg), got)
				}
			})
		}
	}
}
