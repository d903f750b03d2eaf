package websocket

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/wsforge/websocket/internal/wstest"
)

// BenchmarkRefusedMessage measures what a message refused at the read
// limit (16 MiB) makes a Conn allocate: a message fragmented in 1 MiB
// frames that crosses the limit by one byte, and a deflate bomb. B/op is
// the total allocated; limits/op is that total over the limit. The most
// held at once is at most 1.5 times the limit (the last buffer and the one
// before it): see Conn.grow.
func BenchmarkRefusedMessage(b *testing.B) {
	const limit = 16 << 20
	frag := make([]byte, 1<<20)
	var stream []byte
	for i := range 16 {
		stream = wstest.AppendFrame(stream, wstest.Frame{Op: op(i == 0), Payload: frag, Masked: true, Key: rfcKey})
	}
	stream = wstest.AppendFrame(stream, wstest.Frame{Fin: true, Op: wstest.OpContinuation, Payload: []byte{1}, Masked: true, Key: rfcKey})
	bomb := wstest.AppendFrame(nil, wstest.Frame{Fin: true, RSV: 0x40, Op: wstest.OpBinary, Payload: deflateSeed(string(make([]byte, 64<<20))), Masked: true, Key: rfcKey})
	cases := []struct {
		name    string
		stream  []byte
		deflate bool
	}{
		{"fragmented 16 MiB+1", stream, false},
		{"deflate bomb", bomb, true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			n := 0
			for b.Loop() {
				n++
				cfg := (&UpgradeOptions{ReadLimit: limit, CloseTimeout: 1}).connConfig()
				if tc.deflate {
					cfg.deflate = newDeflateState(&CompressionOptions{}, false, false, 15, 15)
				}
				c := newConn(&wstest.FakeConn{R: bytes.NewReader(tc.stream)}, nil, false, cfg)
				if _, _, err := c.Read(context.Background(), nil); !errors.Is(err, ErrMessageTooBig) {
					b.Fatalf("got %v, want ErrMessageTooBig", err)
				}
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n)/limit, "limits/op")
		})
	}
}

func op(first bool) byte {
	if first {
		return wstest.OpBinary
	}
	return wstest.OpContinuation
}
