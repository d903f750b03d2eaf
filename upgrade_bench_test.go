package websocket

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/wsforge/websocket/internal/wstest"
)

// benchHijacker is a ResponseWriter whose Hijack hands over the same
// in-memory connection and buffers every time, as net/http would hand over
// its own: what net/http allocates is not the library's share of an
// upgrade.
type benchHijacker struct {
	header http.Header
	nc     net.Conn
	brw    *bufio.ReadWriter
}

func (w *benchHijacker) Header() http.Header         { return w.header }
func (w *benchHijacker) WriteHeader(int)             {}
func (w *benchHijacker) Write(p []byte) (int, error) { return len(p), nil }
func (w *benchHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.nc, w.brw, nil
}

// BenchmarkUpgrade measures the library's share of an upgrade: checking
// the request, writing the 101 and making the Conn, without compression
// and with permessage-deflate offered as browsers offer it.
func BenchmarkUpgrade(b *testing.B) {
	for _, offer := range []string{"", "permessage-deflate; client_max_window_bits"} {
		name := "plain"
		var opts *UpgradeOptions
		if offer != "" {
			name = "deflate"
			opts = &UpgradeOptions{Compression: &CompressionOptions{}}
		}
		b.Run(name, func(b *testing.B) {
			r, _ := http.NewRequest(http.MethodGet, "http://example.com/ws", nil)
			r.Header = http.Header{
				"Upgrade":               {"websocket"},
				"Connection":            {"Upgrade"},
				"Sec-Websocket-Version": {"13"},
				"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
				"Origin":                {"http://example.com"},
			}
			if offer != "" {
				r.Header["Sec-Websocket-Extensions"] = []string{offer}
			}
			r.Host = "example.com"
			nc := &wstest.FakeConn{R: eofReader{}, W: io.Discard}
			w := &benchHijacker{header: http.Header{}, nc: nc,
				brw: bufio.NewReadWriter(bufio.NewReaderSize(nc, DefaultReadBufferSize), bufio.NewWriter(nc))}
			b.ReportAllocs()
			for b.Loop() {
				c, err := Upgrade(w, r, opts)
				if err != nil {
					b.Fatal(err)
				}
				c.CloseNow()
			}
		})
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
