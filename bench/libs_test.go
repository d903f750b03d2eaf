package bench

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	coder "github.com/coder/websocket"
	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/gobwas/ws/wsutil"
	gorilla "github.com/gorilla/websocket"
	"github.com/lxzan/gws"
	wsforge "github.com/wsforge/websocket"
)

// A library is one WebSocket implementation: an echo server and its own
// client.
type library struct {
	name    string
	handler func(o options) http.Handler
	dial    func(ctx context.Context, url string, o options) (client, error)
}

// options are what a benchmark asks of a library's endpoints.
type options struct {
	// compress turns on permessage-deflate in its no-context-takeover mode
	// on both ends (the only mode gorilla/websocket and gobwas/ws offer).
	compress bool
	// loops, if not nil, counts the server connections in their read loop.
	loops *atomic.Int64
	// detach runs each server connection's read loop in a goroutine of its
	// own and returns from the HTTP handler, so that net/http can drop what
	// it holds for the request; otherwise the handler runs the loop.
	detach bool
}

func (o options) enter() {
	if o.loops != nil {
		o.loops.Add(1)
	}
}

func (o options) leave() {
	if o.loops != nil {
		o.loops.Add(-1)
	}
}

// serve runs a server connection's read loop, which must close the
// connection when it ends, in the handler or detached from it.
func (o options) serve(loop func()) {
	o.enter()
	if o.detach {
		go func() {
			defer o.leave()
			loop()
		}()
		return
	}
	defer o.leave()
	loop()
}

// A client sends messages to an echo server and reads the echoes.
type client interface {
	// roundTrips sends msg n times, each time after the echo of the
	// previous one has been read whole. With check set it compares each
	// echo with msg; otherwise it checks only the length.
	roundTrips(msg []byte, n int, check bool) error
	close()
}

var libraries = []library{
	{"wsforge", wsforgeHandler, wsforgeDial},
	{"gorilla", gorillaHandler, gorillaDial},
	{"coder", coderHandler, coderDial},
	{"gobwas", gobwasHandler, gobwasDial},
	{"gws", gwsHandler, gwsDial},
}

// Every library reads and writes with context.Background() where it takes
// a context (wsforge, coder): a context that can end costs a watch per
// blocking read in both, which a benchmark of the data path leaves out.

func verify(got, msg []byte, check bool) error {
	if check {
		return checkEcho(got, msg)
	}
	if len(got) != len(msg) {
		return fmt.Errorf("echo of %d bytes came back with %d", len(msg), len(got))
	}
	return nil
}

// wsforge: Read appends the whole message into a reused buffer; Write sends
// it as one frame.

func wsforgeCompression(o options) *wsforge.CompressionOptions {
	if !o.compress {
		return nil
	}
	return &wsforge.CompressionOptions{ServerNoContextTakeover: true, ClientNoContextTakeover: true}
}

func wsforgeHandler(o options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wsforge.Upgrade(w, r, &wsforge.UpgradeOptions{
			ReadBufferSize:  bufSize,
			WriteBufferSize: bufSize,
			ReadLimit:       readLimit,
			Compression:     wsforgeCompression(o),
		})
		if err != nil {
			return
		}
		o.serve(func() {
			defer c.CloseNow()
			wsforgeEcho(c, -1, nil)
		})
	})
}

// wsforgeEcho echoes n messages, or, if n < 0, messages until the
// connection ends, reading them into buf, which it returns for reuse. The
// other libraries' echo functions do the same.
func wsforgeEcho(c *wsforge.Conn, n int, buf []byte) []byte {
	ctx := context.Background()
	for ; n != 0; n-- {
		typ, b, err := c.Read(ctx, buf[:0])
		if err != nil {
			return b
		}
		buf = b
		if err := c.Write(ctx, typ, buf); err != nil {
			return buf
		}
	}
	return buf
}

type wsforgeClient struct {
	c   *wsforge.Conn
	buf []byte
}

func wsforgeDial(ctx context.Context, url string, o options) (client, error) {
	c, _, err := wsforge.Dial(ctx, url, &wsforge.DialOptions{
		ReadBufferSize:  bufSize,
		WriteBufferSize: bufSize,
		ReadLimit:       readLimit,
		Compression:     wsforgeCompression(o),
	})
	if err != nil {
		return nil, err
	}
	return &wsforgeClient{c: c}, nil
}

func (c *wsforgeClient) roundTrips(msg []byte, n int, check bool) error {
	ctx := context.Background()
	for range n {
		if err := c.c.Write(ctx, wsforge.MessageBinary, msg); err != nil {
			return err
		}
		_, b, err := c.c.Read(ctx, c.buf[:0])
		if err != nil {
			return err
		}
		c.buf = b
		if err := verify(b, msg, check); err != nil {
			return err
		}
	}
	return nil
}

func (c *wsforgeClient) close() { c.c.CloseNow() }

// gorilla/websocket: NextReader streams the message into a reused buffer;
// WriteMessage sends it as one frame (a server writes the payload from the
// caller's slice, a client through its write buffer).

func gorillaHandler(o options) http.Handler { return gorillaServe(o, nil) }

// gorillaServe serves with write buffers taken from pool while a message is
// written, if pool is not nil, instead of one held by each connection.
func gorillaServe(o options, pool gorilla.BufferPool) http.Handler {
	up := &gorilla.Upgrader{
		ReadBufferSize:    bufSize,
		WriteBufferSize:   bufSize,
		WriteBufferPool:   pool,
		EnableCompression: o.compress,
		CheckOrigin:       func(*http.Request) bool { return true },
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c.SetReadLimit(readLimit)
		o.serve(func() {
			defer c.Close()
			gorillaEcho(c, -1, nil)
		})
	})
}

func gorillaEcho(c *gorilla.Conn, n int, buf []byte) []byte {
	for ; n != 0; n-- {
		typ, r, err := c.NextReader()
		if err != nil {
			return buf
		}
		if buf, err = readAll(r, buf[:0]); err != nil {
			return buf
		}
		if err := c.WriteMessage(typ, buf); err != nil {
			return buf
		}
	}
	return buf
}

type gorillaClient struct {
	c   *gorilla.Conn
	buf []byte
}

func gorillaDial(ctx context.Context, url string, o options) (client, error) {
	d := &gorilla.Dialer{
		ReadBufferSize:    bufSize,
		WriteBufferSize:   bufSize,
		EnableCompression: o.compress,
	}
	c, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(readLimit)
	return &gorillaClient{c: c}, nil
}

func (c *gorillaClient) roundTrips(msg []byte, n int, check bool) error {
	for range n {
		if err := c.c.WriteMessage(gorilla.BinaryMessage, msg); err != nil {
			return err
		}
		_, r, err := c.c.NextReader()
		if err != nil {
			return err
		}
		if c.buf, err = readAll(r, c.buf[:0]); err != nil {
			return err
		}
		if err := verify(c.buf, msg, check); err != nil {
			return err
		}
	}
	return nil
}

func (c *gorillaClient) close() { c.c.Close() }

// coder/websocket: Reader streams the message into a reused buffer (Read
// would allocate a new slice per message); Write sends it as one frame.
// Its buffers are net/http's 4096-byte ones and cannot be sized.

func coderMode(o options) coder.CompressionMode {
	if o.compress {
		return coder.CompressionNoContextTakeover
	}
	return coder.CompressionDisabled
}

func coderHandler(o options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := coder.Accept(w, r, &coder.AcceptOptions{
			InsecureSkipVerify: true,
			CompressionMode:    coderMode(o),
		})
		if err != nil {
			return
		}
		c.SetReadLimit(readLimit)
		o.serve(func() {
			defer c.CloseNow()
			coderEcho(c, -1, nil)
		})
	})
}

func coderEcho(c *coder.Conn, n int, buf []byte) []byte {
	ctx := context.Background()
	for ; n != 0; n-- {
		typ, r, err := c.Reader(ctx)
		if err != nil {
			return buf
		}
		if buf, err = readAll(r, buf[:0]); err != nil {
			return buf
		}
		if err := c.Write(ctx, typ, buf); err != nil {
			return buf
		}
	}
	return buf
}

type coderClient struct {
	c   *coder.Conn
	buf []byte
}

func coderDial(ctx context.Context, url string, o options) (client, error) {
	c, _, err := coder.Dial(ctx, url, &coder.DialOptions{CompressionMode: coderMode(o)})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(readLimit)
	return &coderClient{c: c}, nil
}

func (c *coderClient) roundTrips(msg []byte, n int, check bool) error {
	ctx := context.Background()
	for range n {
		if err := c.c.Write(ctx, coder.MessageBinary, msg); err != nil {
			return err
		}
		_, r, err := c.c.Reader(ctx)
		if err != nil {
			return err
		}
		if c.buf, err = readAll(r, c.buf[:0]); err != nil {
			return err
		}
		if err := verify(c.buf, msg, check); err != nil {
			return err
		}
	}
	return nil
}

func (c *coderClient) close() { c.c.CloseNow() }

// gobwas/ws: a wsutil.Reader over a 4096-byte bufio.Reader streams each
// message into a reused buffer; wsutil.WriteMessage frames it into a
// 4096-byte bufio.Writer taken from a pool for the write (written to the
// conn directly, the header and the payload would take two writes; held per
// connection, the buffer would cost an idle one 4 KiB that gobwas does not
// require). With compression, the wsutil.Writer and wsflate reader and
// writer of its README.

type gobwasConn struct {
	conn  net.Conn
	state ws.State
	rd    *wsutil.Reader
	ctrl  wsutil.FrameHandlerFunc
	buf   []byte

	// With permessage-deflate.
	msg wsflate.MessageState
	ww  *wsutil.Writer
	fr  *wsflate.Reader
	fw  *wsflate.Writer
}

// flateReader lets wsflate.Reader reset the standard decompressor instead
// of building a new one (about 40 KB) for every message.
type flateReader struct{ io.ReadCloser }

func (f flateReader) Reset(r io.Reader) { f.ReadCloser.(flate.Resetter).Reset(r, nil) }

func newGobwasConn(conn net.Conn, br *bufio.Reader, state ws.State, compressed bool) *gobwasConn {
	c := &gobwasConn{
		conn:  conn,
		state: state,
		ctrl:  wsutil.ControlFrameHandler(conn, state),
	}
	if compressed {
		state |= ws.StateExtended
		c.state = state
		c.ww = wsutil.NewWriterSize(conn, state, ws.OpBinary, bufSize)
		c.ww.SetExtensions(&c.msg)
		c.fr = wsflate.NewReader(nil, func(r io.Reader) wsflate.Decompressor {
			return flateReader{flate.NewReader(r)}
		})
		c.fw = wsflate.NewWriter(nil, func(w io.Writer) wsflate.Compressor {
			f, _ := flate.NewWriter(w, flate.BestSpeed)
			return f
		})
	}
	c.rd = &wsutil.Reader{
		Source:         br,
		State:          state,
		MaxMessageSize: readLimit,
		OnIntermediate: c.ctrl,
	}
	if compressed {
		c.rd.Extensions = []wsutil.RecvExtension{&c.msg}
	}
	return c
}

// readMessage reads the next data message into c.buf, answering control
// frames on the way.
func (c *gobwasConn) readMessage() (ws.OpCode, []byte, error) {
	for {
		h, err := c.rd.NextFrame()
		if err != nil {
			return 0, nil, err
		}
		if h.OpCode.IsControl() {
			if err := c.ctrl(h, c.rd); err != nil {
				return 0, nil, err
			}
			continue
		}
		var src io.Reader = c.rd
		if c.fr != nil && c.msg.IsCompressed() {
			c.fr.Reset(c.rd)
			src = c.fr
		}
		c.buf, err = readAll(src, c.buf[:0])
		return h.OpCode, c.buf, err
	}
}

func (c *gobwasConn) writeMessage(op ws.OpCode, p []byte) error {
	if c.fw == nil {
		bw := gobwasWriters.Get().(*bufio.Writer)
		bw.Reset(c.conn)
		err := wsutil.WriteMessage(bw, c.state, op, p)
		if err == nil {
			err = bw.Flush()
		}
		bw.Reset(nil)
		gobwasWriters.Put(bw)
		return err
	}
	c.ww.ResetOp(op)
	c.msg.SetCompressed(true)
	c.fw.Reset(c.ww)
	if _, err := c.fw.Write(p); err != nil {
		return err
	}
	if err := c.fw.Close(); err != nil {
		return err
	}
	return c.ww.Flush()
}

var gobwasWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, bufSize) }}

func gobwasHandler(o options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ext *wsflate.Extension
		var up ws.HTTPUpgrader
		if o.compress {
			ext = &wsflate.Extension{Parameters: wsflate.DefaultParameters}
			up.Negotiate = ext.Negotiate
		}
		conn, brw, _, err := up.Upgrade(r, w)
		if err != nil {
			return
		}
		compressed := false
		if ext != nil {
			_, compressed = ext.Accepted()
		}
		c := newGobwasConn(conn, brw.Reader, ws.StateServerSide, compressed)
		o.serve(func() {
			defer conn.Close()
			c.echo(-1)
		})
	})
}

func (c *gobwasConn) echo(n int) {
	for ; n != 0; n-- {
		op, p, err := c.readMessage()
		if err != nil {
			return
		}
		if err := c.writeMessage(op, p); err != nil {
			return
		}
	}
}

func gobwasDial(ctx context.Context, url string, o options) (client, error) {
	var d ws.Dialer
	d.ReadBufferSize, d.WriteBufferSize = bufSize, bufSize
	if o.compress {
		d.Extensions = []httphead.Option{wsflate.DefaultParameters.Option()}
	}
	conn, br, hs, err := d.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	compressed := false
	for _, e := range hs.Extensions {
		compressed = compressed || bytes.Equal(e.Name, wsflate.ExtensionNameBytes)
	}
	if br == nil {
		br = bufio.NewReaderSize(conn, bufSize)
	}
	return newGobwasConn(conn, br, ws.StateClientSide, compressed), nil
}

func (c *gobwasConn) roundTrips(msg []byte, n int, check bool) error {
	for range n {
		if err := c.writeMessage(ws.OpBinary, msg); err != nil {
			return err
		}
		_, p, err := c.readMessage()
		if err != nil {
			return err
		}
		if err := verify(p, msg, check); err != nil {
			return err
		}
	}
	return nil
}

func (c *gobwasConn) close() { c.conn.Close() }

// lxzan/gws is callback-based: its ReadLoop reads each message into a pooled
// buffer and calls OnMessage, which echoes it. Its client cannot be driven
// by a blocking loop without a channel handoff per message, so the client's
// own OnMessage sends the next message until n round trips are done: the
// shape gws is designed for, with no cost added by the harness.

func gwsDeflate(o options) gws.PermessageDeflate {
	return gws.PermessageDeflate{
		Enabled:               o.compress,
		ServerContextTakeover: false,
		ClientContextTakeover: false,
	}
}

type gwsServer struct {
	gws.BuiltinEventHandler
	o options
}

func (h *gwsServer) OnMessage(c *gws.Conn, m *gws.Message) {
	c.WriteMessage(m.Opcode, m.Bytes())
	m.Close()
}

func (h *gwsServer) OnClose(*gws.Conn, error) { h.o.leave() }

func gwsHandler(o options) http.Handler {
	up := gws.NewUpgrader(&gwsServer{o: o}, &gws.ServerOption{
		ReadBufferSize:     bufSize,
		WriteBufferSize:    bufSize,
		ReadMaxPayloadSize: readLimit,
		PermessageDeflate:  gwsDeflate(o),
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		// gws closes the connection when ReadLoop ends and calls
		// OnClose, which leaves the count.
		o.enter()
		if o.detach {
			go c.ReadLoop() // as gws documents for a net/http server
		} else {
			c.ReadLoop()
		}
	})
}

type gwsClient struct {
	gws.BuiltinEventHandler
	c     *gws.Conn
	msg   atomic.Pointer[[]byte]
	check atomic.Bool
	left  atomic.Int64
	done  chan error
}

func gwsDial(ctx context.Context, url string, o options) (client, error) {
	c := &gwsClient{done: make(chan error, 1)}
	conn, _, err := gws.NewClient(c, &gws.ClientOption{
		Addr:               url,
		ReadBufferSize:     bufSize,
		WriteBufferSize:    bufSize,
		ReadMaxPayloadSize: readLimit,
		PermessageDeflate:  gwsDeflate(o),
	})
	if err != nil {
		return nil, err
	}
	c.c = conn
	go conn.ReadLoop()
	return c, nil
}

func (c *gwsClient) OnMessage(conn *gws.Conn, m *gws.Message) {
	msg := *c.msg.Load()
	err := verify(m.Bytes(), msg, c.check.Load())
	m.Close()
	if err == nil && c.left.Add(-1) > 0 {
		err = conn.WriteMessage(gws.OpcodeBinary, msg)
		if err == nil {
			return
		}
	}
	c.done <- err
}

func (c *gwsClient) OnClose(_ *gws.Conn, err error) {
	select {
	case c.done <- fmt.Errorf("gws client closed: %w", err):
	default:
	}
}

func (c *gwsClient) roundTrips(msg []byte, n int, check bool) error {
	if n == 0 {
		return nil
	}
	c.msg.Store(&msg)
	c.check.Store(check)
	c.left.Store(int64(n))
	if err := c.c.WriteMessage(gws.OpcodeBinary, msg); err != nil {
		return err
	}
	return <-c.done
}

func (c *gwsClient) close() { c.c.NetConn().Close() }
