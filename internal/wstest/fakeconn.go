package wstest

import (
	"io"
	"net"
	"time"
)

// FakeConn is an in-memory net.Conn for one goroutine: reads come from R,
// writes go to W, deadlines are ignored. It lets a test feed exact bytes to
// a connection and see exact bytes come out, and it allocates nothing per
// call, so that allocation counts measure only the code under test.
type FakeConn struct {
	R io.Reader // nil reads io.EOF
	W io.Writer // nil discards
}

func (c *FakeConn) Read(p []byte) (int, error) {
	if c.R == nil {
		return 0, io.EOF
	}
	return c.R.Read(p)
}

func (c *FakeConn) Write(p []byte) (int, error) {
	if c.W == nil {
		return len(p), nil
	}
	return c.W.Write(p)
}

func (c *FakeConn) Close() error                     { return nil }
func (c *FakeConn) LocalAddr() net.Addr              { return fakeAddr{} }
func (c *FakeConn) RemoteAddr() net.Addr             { return fakeAddr{} }
func (c *FakeConn) SetDeadline(time.Time) error      { return nil }
func (c *FakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *FakeConn) SetWriteDeadline(time.Time) error { return nil }

type fakeAddr struct{}

func (fakeAddr) Network() string { return "fake" }
func (fakeAddr) String() string  { return "fake" }

// LoopReader reads a prepared byte stream over and over, for example a
// sequence of whole frames, so that a connection can read forever without
// anything writing.
type LoopReader struct {
	b   []byte
	off int
}

// NewLoopReader returns a reader that repeats b endlessly; b must not be
// empty.
func NewLoopReader(b []byte) *LoopReader { return &LoopReader{b: b} }

func (r *LoopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.b[r.off:])
		n += k
		r.off = (r.off + k) % len(r.b)
	}
	return n, nil
}
