package websocket

import (
	"context"
	"fmt"
	"testing"

	"github.com/wsforge/websocket/internal/wstest"
)

// benchSizes are the message sizes of the benchmarks, from a tiny control
// message to a large upload.
var benchSizes = []int{16, 125, 1024, 4096, 32768, 1 << 20}

var benchRoles = []struct {
	name   string
	client bool
}{
	{name: "server", client: false},
	{name: "client", client: true},
}

// copySink is a connection's write side that copies what it is given, as
// the kernel would, and then forgets it. A sink that did not touch the
// bytes would make a server's large writes, which go out straight from the
// caller's slice, look free.
type copySink struct{ buf [64 << 10]byte }

func (s *copySink) Write(p []byte) (int, error) {
	for n := 0; n < len(p); {
		n += copy(s.buf[:], p[n:])
	}
	return len(p), nil
}

// BenchmarkConnWrite measures Write of one binary message to a connection
// that copies and drops it: framing, and on a client masking, with no
// network.
func BenchmarkConnWrite(b *testing.B) {
	ctx := context.Background()
	for _, role := range benchRoles {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d", role.name, size), func(b *testing.B) {
				c := newFakeConn(role.client, nil, new(copySink), nil)
				p := pattern(size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if err := c.Write(ctx, MessageBinary, p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkConnRead measures Read of one binary message into a reused
// buffer from a prepared stream of frames: parsing, and on a server
// unmasking, with no network.
func BenchmarkConnRead(b *testing.B) {
	ctx := context.Background()
	for _, role := range benchRoles {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d", role.name, size), func(b *testing.B) {
				c := newFakeConn(role.client, loopReader(role.client, wstest.Frame{Fin: true, Op: wstest.OpBinary, Payload: pattern(size)}), nil, nil)
				buf := make([]byte, 0, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if _, _, err := c.Read(ctx, buf[:0]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkConnReadText is BenchmarkConnRead with text messages, which are
// validated as UTF-8 as they arrive.
func BenchmarkConnReadText(b *testing.B) {
	ctx := context.Background()
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("server/%d", size), func(b *testing.B) {
			text := make([]byte, size)
			for i := range text {
				text[i] = 'a' + byte(i%26)
			}
			c := newFakeConn(false, loopReader(false, wstest.Frame{Fin: true, Op: wstest.OpText, Payload: text}), nil, nil)
			buf := make([]byte, 0, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.Read(ctx, buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEcho measures a round trip over loopback TCP: the client writes
// a message, the server reads it and writes it back, the client reads it.
func BenchmarkEcho(b *testing.B) {
	ctx := context.Background()
	for _, size := range []int{1024} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			server, client := newPair(b, nil, nil)
			done := startEcho(server)
			p := pattern(size)
			buf := make([]byte, 0, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := client.Write(ctx, MessageBinary, p); err != nil {
					b.Fatal(err)
				}
				if _, _, err := client.Read(ctx, buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			client.CloseNow()
			<-done
		})
	}
}
