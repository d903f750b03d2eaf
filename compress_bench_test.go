package websocket

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// compressionModes are the permessage-deflate configurations the
// benchmarks compare; the server and the client use the same one.
var compressionModes = []struct {
	name string
	opts *CompressionOptions
}{
	{name: "off", opts: nil},
	{name: "no-context-takeover", opts: &CompressionOptions{ServerNoContextTakeover: true, ClientNoContextTakeover: true}},
	{name: "context-takeover", opts: &CompressionOptions{}},
}

// jsonPayload returns n bytes of JSON-like text, the kind of message
// compression is for.
func jsonPayload(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"user":"user-%d","room":"lobby","text":"message number %d","ts":%d},`, i, i%97, i, 1700000000+i*7)
	}
	return b.Bytes()[:n]
}

// BenchmarkCompressionEcho measures round trips over loopback TCP with
// compression off and on, for 1 KiB and 64 KiB JSON-like messages.
func BenchmarkCompressionEcho(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		msg := jsonPayload(size)
		for _, mode := range compressionModes {
			b.Run(fmt.Sprintf("size=%d/mode=%s", size, mode.name), func(b *testing.B) {
				server, client := newPair(b, &UpgradeOptions{Compression: mode.opts}, &DialOptions{Compression: mode.opts})
				startEcho(server)
				ctx := context.Background()
				var buf []byte
				b.SetBytes(int64(size))
				b.ReportAllocs()
				start := time.Now()
				for b.Loop() {
					if err := client.Write(ctx, MessageText, msg); err != nil {
						b.Fatal(err)
					}
					var err error
					if _, buf, err = client.Read(ctx, buf[:0]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
				client.Close(StatusNormalClosure, "")
			})
		}
	}
}

// BenchmarkCompressionMemory reports the memory a server connection holds
// in each compression mode: idle (compression negotiated, nothing
// exchanged yet) and active (after one 1 KiB message in each direction,
// when a connection with context takeover keeps its compressor and
// window). The connections are in memory, so the number is not capped by
// open files: WSFORGE_COMPRESS_CONNS sets it (default 10,000).
func BenchmarkCompressionMemory(b *testing.B) {
	n := 10000
	if s := os.Getenv("WSFORGE_COMPRESS_CONNS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	msg := jsonPayload(1 << 10)
	for _, mode := range compressionModes {
		for _, active := range []bool{false, true} {
			state := "idle"
			if active {
				state = "active"
			}
			b.Run("mode="+mode.name+"/"+state, func(b *testing.B) {
				frames := clientFrames(b, mode.opts, msg)
				ctx := context.Background()
				conns := make([]*Conn, 0, n)
				before := heapInUse()
				for range n {
					c := newFakeConn(false, bytes.NewReader(frames), nil, &UpgradeOptions{Compression: mode.opts})
					if active {
						typ, got, err := c.Read(ctx, nil)
						if err != nil || !bytes.Equal(got, msg) {
							b.Fatalf("read: %v", err)
						}
						if err := c.Write(ctx, typ, got); err != nil {
							b.Fatal(err)
						}
					}
					conns = append(conns, c)
				}
				after := heapInUse()
				b.ReportMetric(float64(after-before)/float64(n), "B/conn")
				runtime.KeepAlive(conns)
			})
		}
	}
}

// clientFrames returns the frames a client Conn in the given mode sends
// for msg.
func clientFrames(b *testing.B, o *CompressionOptions, msg []byte) []byte {
	var out bytes.Buffer
	c := newFakeConn(true, nil, &out, &UpgradeOptions{Compression: o})
	if err := c.Write(context.Background(), MessageText, msg); err != nil {
		b.Fatal(err)
	}
	return out.Bytes()
}

// heapInUse returns the bytes of heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
