package bench

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"
	"github.com/lxzan/gws"
	wsforge "github.com/wsforge/websocket"
)

// BenchmarkServerIO measures a server connection alone, without a network:
// it reads masked binary frames, as a client sends them, from an in-memory
// stream and echoes each message to a connection that discards what it is
// given. Every library gets the same net.Conn and the same upgrade path (its
// own http.Hijacker-based one, over a request read from the stream), then
// serves until the stream ends after b.N messages. B/op and allocs/op are the
// server's alone; MB/s counts the message bytes read.
func BenchmarkServerIO(b *testing.B) {
	for _, size := range sizes {
		frame := clientFrame(payload(size))
		for _, lib := range libraries {
			b.Run(fmt.Sprintf("lib=%s/size=%d", lib.name, size), func(b *testing.B) {
				sc := newStreamConn(frame)
				serve := serverIO[lib.name](b, sc)
				run := func(n int) {
					sc.left, sc.written = n, 0
					serve(n)
					if want := int64(n * size); sc.written < want {
						b.Fatalf("%s: wrote %d bytes for %d messages of %d", lib.name, sc.written, n, size)
					}
				}
				run(warmup)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				cpu := startCPU()
				run(b.N)
				b.StopTimer()
				cpu.report(b)
			})
		}
	}
}

// serverIO upgrades sc with each library and returns a function that
// serves n messages: it reads and echoes each.
var serverIO = map[string]func(b *testing.B, sc *streamConn) func(n int){
	"wsforge": func(b *testing.B, sc *streamConn) func(int) {
		w, r := sc.request(b)
		c, err := wsforge.Upgrade(w, r, &wsforge.UpgradeOptions{
			ReadBufferSize:  bufSize,
			WriteBufferSize: bufSize,
			ReadLimit:       readLimit,
		})
		if err != nil {
			b.Fatal(err)
		}
		var buf []byte
		return func(n int) { buf = wsforgeEcho(c, n, buf) }
	},
	"gorilla": func(b *testing.B, sc *streamConn) func(int) {
		w, r := sc.request(b)
		up := &gorilla.Upgrader{ReadBufferSize: bufSize, WriteBufferSize: bufSize}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadLimit(readLimit)
		var buf []byte
		return func(n int) { buf = gorillaEcho(c, n, buf) }
	},
	"coder": func(b *testing.B, sc *streamConn) func(int) {
		w, r := sc.request(b)
		c, err := coder.Accept(w, r, nil)
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadLimit(readLimit)
		var buf []byte
		return func(n int) { buf = coderEcho(c, n, buf) }
	},
	"gobwas": func(b *testing.B, sc *streamConn) func(int) {
		w, r := sc.request(b)
		conn, brw, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			b.Fatal(err)
		}
		c := newGobwasConn(conn, brw.Reader, ws.StateServerSide, false)
		return c.echo
	},
	"gws": gwsServerIO,
}

// gwsServerIO serves with gws's own ReadLoop, which reads until the stream
// ends (sc reports io.EOF after its n frames) and then releases the
// connection: so each call upgrades a new connection for the next one,
// with the timer stopped.
func gwsServerIO(b *testing.B, sc *streamConn) func(int) {
	up := gws.NewUpgrader(&gwsServer{}, &gws.ServerOption{
		ReadBufferSize:     bufSize,
		WriteBufferSize:    bufSize,
		ReadMaxPayloadSize: readLimit,
	})
	var c *gws.Conn
	upgrade := func() {
		w, r := sc.request(b)
		var err error
		if c, err = up.Upgrade(w, r); err != nil {
			b.Fatal(err)
		}
	}
	upgrade()
	return func(int) {
		c.ReadLoop()
		b.StopTimer()
		written := sc.written
		upgrade()
		sc.written = written
		b.StartTimer()
	}
}

// clientFrame returns p as one masked binary frame.
func clientFrame(p []byte) []byte {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	f := []byte{0x82}
	switch n := len(p); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	f = append(f, key[:]...)
	for i, c := range p {
		f = append(f, c^key[i&3])
	}
	return f
}

// streamConn is a net.Conn whose reads return an HTTP upgrade request, when
// one is pending, then the same frame over and over, left times, then
// io.EOF; writes are counted and discarded. The frames fill each read, as
// a client sending messages back to back would.
type streamConn struct {
	req     []byte
	frame   []byte
	off     int
	left    int
	written int64
}

func newStreamConn(frame []byte) *streamConn { return &streamConn{frame: frame} }

const upgradeRequest = "GET /ws HTTP/1.1\r\nHost: bench.local\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// request reads an upgrade request from the connection as net/http would
// and returns it with a ResponseWriter that hands the connection over.
func (c *streamConn) request(b *testing.B) (http.ResponseWriter, *http.Request) {
	c.req = []byte(upgradeRequest)
	br := bufio.NewReaderSize(c, bufSize)
	r, err := http.ReadRequest(br)
	if err != nil {
		b.Fatal(err)
	}
	if br.Buffered() != 0 {
		b.Fatal("frames buffered with the request")
	}
	return &hijackWriter{conn: c, brw: bufio.NewReadWriter(br, bufio.NewWriterSize(c, bufSize))}, r
}

// Read never mixes the request with frames, so that nothing beyond the
// request sits in the buffer it was read through.
func (c *streamConn) Read(p []byte) (int, error) {
	if len(c.req) > 0 {
		n := copy(p, c.req)
		c.req = c.req[n:]
		return n, nil
	}
	n := 0
	for n < len(p) && c.left > 0 {
		k := copy(p[n:], c.frame[c.off:])
		n += k
		c.off += k
		if c.off == len(c.frame) {
			c.off = 0
			c.left--
		}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (c *streamConn) Write(p []byte) (int, error) {
	c.written += int64(len(p))
	return len(p), nil
}

func (c *streamConn) Close() error                     { return nil }
func (c *streamConn) LocalAddr() net.Addr              { return streamAddr{} }
func (c *streamConn) RemoteAddr() net.Addr             { return streamAddr{} }
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }

type streamAddr struct{}

func (streamAddr) Network() string { return "memory" }
func (streamAddr) String() string  { return "memory" }

// hijackWriter is the http.ResponseWriter of a request whose connection
// is taken over.
type hijackWriter struct {
	conn net.Conn
	brw  *bufio.ReadWriter
	h    http.Header
}

func (w *hijackWriter) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}

func (w *hijackWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *hijackWriter) WriteHeader(int)             {}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.conn, w.brw, nil
}
