package websocket

// The shared helpers of the package's tests. Every helper that more than
// one test file uses is here, and only here; a helper that serves the tests
// of one file stays beside them, unless it belongs to a family kept here
// (unmasked beside masked, the RFC's examples). In order:
//
//   - waiting: testTimeout, within, recvWithin;
//   - connections: newPair (two Conns, through Upgrade over loopback TCP),
//     newRawPair (a Conn facing a raw peer over loopback TCP), newFakeConn
//     (a Conn over in-memory readers and writers, for codec tests,
//     allocation checks and benchmarks), newPipePair and newPipeRawPair
//     (the same over net.Pipe, for tests on synctest's fake clock), and
//     stallConn to cut a read off at an exact byte;
//   - frames and payloads: frame, masked, unmasked, cat, pattern, trunc,
//     the examples of RFC 6455, hdr, compressed, deflateSeed, loopReader,
//     invalidUTF8Cases, deflateModes, similarMessage;
//   - handshakes: sampleKey, b64, validRequest, standardLines, request,
//     rawHandshake, rawClientHandshake, upgradeServer, checkSwitched;
//   - peers: startEcho, readUntilError, awaitClose, dialEchoServer,
//     echoOnce, testTLSConfig, noProxy;
//   - reference implementations and generators: refAccept, maskNaive,
//     firstInvalid, randomChunks, randomText.
//
// TestMain is in main_test.go; the child-process harness of the scale
// tests and benchmarks in childproc_test.go.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"math/bits"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/wsforge/websocket/internal/wstest"
)

// Waiting.

// testTimeout bounds waits that only a bug can make long, so that a hang
// fails the test with a message instead of stalling it.
const testTimeout = 10 * time.Second

// within runs f and fails t if it does not return within testTimeout.
func within(t testing.TB, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(testTimeout):
		t.Fatalf("%s did not return within %v", what, testTimeout)
	}
}

// recvWithin waits for a value from ch for at most testTimeout.
func recvWithin[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("no %s within %v", what, testTimeout)
		var zero T
		return zero
	}
}

// Connections.

// newPair returns the two ends of a connection made by Upgrade over loopback
// TCP, with a raw client handshake (rawDial) so that it does not depend on
// Dial. Compression set in both so and co is negotiated as in a real
// handshake.
func newPair(t testing.TB, so *UpgradeOptions, co *DialOptions) (server, client *Conn) {
	t.Helper()
	wstest.CheckLeaks(t)
	accepted := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r, so)
		if err != nil {
			t.Errorf("Upgrade: %v", err)
		}
		accepted <- c
	}))
	t.Cleanup(srv.Close)
	client = rawDial(t, srv.Listener.Addr().String(), co)
	server = <-accepted
	if server == nil {
		t.FailNow()
	}
	t.Cleanup(func() {
		server.CloseNow()
		client.CloseNow()
	})
	return server, client
}

// rawDial performs a minimal client handshake against addr, offering
// permessage-deflate if co.Compression is set, and returns the client's
// Conn.
func rawDial(t testing.TB, addr string, co *DialOptions) *Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n"
	if co != nil && co.Compression != nil {
		req += "Sec-WebSocket-Extensions: " + offerDeflate(co.Compression) + "\r\n"
	}
	req += "\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	cfg := co.connConfig()
	br := bufio.NewReaderSize(nc, cfg.readBufferSize)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	accept := acceptKey(key)
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != string(accept[:]) {
		t.Fatalf("handshake: got %s %v", resp.Status, resp.Header)
	}
	var ext *CompressionOptions
	if co != nil {
		ext = co.Compression
	}
	if cfg.deflate, err = verifyDeflate(resp.Header, ext); err != nil {
		t.Fatal(err)
	}
	return newConn(nc, br, true, cfg)
}

// newRawPair returns a Conn in the given role over loopback TCP and a raw
// peer playing the other end. o configures the Conn (see testConfig); wrap,
// if not nil, wraps the Conn's side of the connection, in a stallConn for
// example.
func newRawPair(t testing.TB, client bool, o *UpgradeOptions, wrap func(net.Conn) net.Conn) (*Conn, *wstest.RawPeer) {
	t.Helper()
	wstest.CheckLeaks(t)
	ours, theirs := wstest.TCPPair(t)
	if wrap != nil {
		ours = wrap(ours)
	}
	c := newConn(ours, nil, client, testConfig(client, o))
	t.Cleanup(func() { c.CloseNow() })
	return c, wstest.NewRawPeer(theirs, !client)
}

// newFakeConn returns a Conn in the given role over an in-memory
// connection (wstest.FakeConn) that reads r and writes to w, nil reading
// io.EOF and discarding; o configures the Conn (see testConfig). It does no
// I/O of its own and allocates nothing per call, for codec unit tests,
// allocation checks and benchmarks.
func newFakeConn(client bool, r io.Reader, w io.Writer, o *UpgradeOptions) *Conn {
	return newConn(&wstest.FakeConn{R: r, W: w}, nil, client, testConfig(client, o))
}

// newPipePair returns a server and a client Conn joined by net.Pipe,
// without a handshake. It is for tests on synctest's fake clock, which
// moves only when every goroutine of the bubble is durably blocked: one
// blocked on a socket is not, one blocked on net.Pipe is. Use newPair
// elsewhere: net.Pipe buffers nothing, so a write waits for its read.
func newPipePair(t *testing.T, so *UpgradeOptions, co *DialOptions) (server, client *Conn) {
	a, b := net.Pipe()
	server = newConn(a, nil, false, so.connConfig())
	client = newConn(b, nil, true, co.connConfig())
	t.Cleanup(func() {
		server.CloseNow()
		client.CloseNow()
	})
	return server, client
}

// newPipeRawPair is newRawPair over net.Pipe, for tests on synctest's fake
// clock (see newPipePair).
func newPipeRawPair(t *testing.T, client bool, o *UpgradeOptions) (*Conn, *wstest.RawPeer) {
	a, b := net.Pipe()
	c := newConn(a, nil, client, testConfig(client, o))
	t.Cleanup(func() {
		c.CloseNow()
		b.Close()
	})
	return c, wstest.NewRawPeer(b, !client)
}

// testConfig returns the configuration of a Conn made without a handshake
// in the given role: o's, as Upgrade makes it (nil: the defaults). If
// o.Compression is set, permessage-deflate is on as if negotiated with a
// peer of the same settings: each direction keeps or drops its context as
// the options say, with windows of 15 bits.
func testConfig(client bool, o *UpgradeOptions) connConfig {
	cfg := o.connConfig()
	if o != nil && o.Compression != nil {
		co := o.Compression
		if client {
			cfg.deflate = newDeflateState(co, co.ClientNoContextTakeover, co.ServerNoContextTakeover, 15, 15)
		} else {
			cfg.deflate = newDeflateState(co, co.ServerNoContextTakeover, co.ClientNoContextTakeover, 15, 15)
		}
	}
	return cfg
}

// stallConn calls onStall when the Conn asks for more bytes after it has
// received at least want of them: it has used everything the peer sent and
// is about to block. It is used from the reading goroutine only.
type stallConn struct {
	net.Conn
	got     int
	want    int
	onStall func()
}

func (c *stallConn) Read(p []byte) (int, error) {
	if c.got >= c.want && c.onStall != nil {
		f := c.onStall
		c.onStall = nil
		f()
	}
	n, err := c.Conn.Read(p)
	c.got += n
	return n, err
}

// Frames and payloads.

// frame is shorthand for a raw frame; the raw peer masks it as its role
// requires.
func frame(fin bool, op byte, payload string) wstest.Frame {
	return wstest.Frame{Fin: fin, Op: op, Payload: []byte(payload)}
}

// masked encodes f masked with the RFC key, as a client sends it.
func masked(f wstest.Frame) []byte {
	f.Masked, f.Key = true, rfcKey
	return wstest.AppendFrame(nil, f)
}

// unmasked encodes f without a mask, as a server sends it.
func unmasked(f wstest.Frame) []byte { return wstest.AppendFrame(nil, f) }

// cat concatenates byte slices.
func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// pattern returns n bytes of a repeating, position-dependent pattern.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// trunc shortens b for error messages.
func trunc(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

// The examples of RFC 6455 §5.7. The masked ones use the key 37 fa 21 3d.
var (
	rfcKey            = [4]byte{0x37, 0xfa, 0x21, 0x3d}
	rfcUnmaskedHello  = []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}
	rfcMaskedHello    = []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	rfcFragmentedHel  = []byte{0x01, 0x03, 0x48, 0x65, 0x6c}
	rfcFragmentedLo   = []byte{0x80, 0x02, 0x6c, 0x6f}
	rfcUnmaskedPing   = []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}
	rfcMaskedPong     = []byte{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	rfcBinary256Head  = []byte{0x82, 0x7e, 0x01, 0x00}
	rfcBinary64KiHead = []byte{0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}
)

// rfcKeyWord is rfcKey as the uint32 the frame code keeps keys in.
var rfcKeyWord = binary.LittleEndian.Uint32(rfcKey[:])

// hdr returns a frame header as the peer sends it: masked with rfcKey when
// our side is the server. It declares length bytes, which need not follow.
func hdr(ourClient bool, b0 byte, length uint64) []byte {
	m := byte(0x80)
	if ourClient {
		m = 0
	}
	b := []byte{b0, m | 127}
	b = binary.BigEndian.AppendUint64(b, length)
	if !ourClient {
		b = append(b, rfcKey[:]...)
	}
	return b
}

// compressed returns msg as a permessage-deflate message (RSV1 set).
func compressed(op byte, msg []byte) wstest.Frame {
	return wstest.Frame{Fin: true, RSV: 0x40, Op: op, Payload: deflateSeed(string(msg))}
}

// deflateSeed compresses msg as permessage-deflate sends it.
func deflateSeed(msg string) []byte {
	var b bytes.Buffer
	zw, _ := flate.NewWriter(&b, flate.BestSpeed)
	zw.Write([]byte(msg))
	zw.Flush()
	return bytes.TrimSuffix(b.Bytes(), deflateTail[:])
}

// loopReader returns a reader of copies of one message, as a peer in the
// other role sends it, repeated endlessly and always restarting at a
// message boundary: a Conn reading it finds another message forever.
func loopReader(client bool, frames ...wstest.Frame) *wstest.LoopReader {
	var msg []byte
	for _, f := range frames {
		if !client { // our Conn is a server: the peer masks
			f.Masked, f.Key = true, rfcKey
		}
		msg = wstest.AppendFrame(msg, f)
	}
	b := msg
	for len(b) < 64<<10 {
		b = append(b, msg...)
	}
	return wstest.NewLoopReader(b)
}

// invalidUTF8Cases returns text payloads that break UTF-8 at each position
// of a 4-byte sequence (U+1F600, f0 9f 98 80).
func invalidUTF8Cases() []struct{ name, text string } {
	var out []struct{ name, text string }
	seq := "\xf0\x9f\x98\x80"
	bad := [][]byte{
		{0xf8, 0x80, 0xc0, 0xff}, // position 0: not a lead byte
		{0x28, 0xc0, 0x8f, 0xc0}, // position 1: not a continuation, or out of range after f0
		{0x28, 0xc0, 0xf0},       // position 2
		{0x28, 0xc0, 0xf0},       // position 3
	}
	for pos, bs := range bad {
		for _, b := range bs {
			s := []byte("ok " + seq)
			s[3+pos] = b
			out = append(out, struct{ name, text string }{fmt.Sprintf("byte %d = %#x", pos, b), string(s)})
		}
	}
	for n := 1; n < 4; n++ {
		out = append(out, struct{ name, text string }{fmt.Sprintf("cut after %d bytes", n), "ok " + seq[:n]})
	}
	out = append(out,
		struct{ name, text string }{"above U+10FFFF", "\xf4\x90\x80\x80"},
		struct{ name, text string }{"overlong", "\xf0\x8f\xbf\xbf"},
		struct{ name, text string }{"surrogate", "\xed\xa0\x80"},
	)
	return out
}

// deflateModes are the permessage-deflate settings the cancellation
// tests run under: off, without context takeover and with it.
var deflateModes = []struct {
	name string
	opts *CompressionOptions
}{
	{"off", nil},
	{"no-takeover", &CompressionOptions{Threshold: -1, ServerNoContextTakeover: true, ClientNoContextTakeover: true}},
	{"takeover", &CompressionOptions{Threshold: -1}},
}

// similarMessage returns message i of a stream of similar JSON-like texts,
// so that with context takeover each refers back to the ones before it.
func similarMessage(i int) []byte {
	// Over 128 bytes: the standard library's fastest level codes shorter
	// blocks with Huffman codes alone, without back-references.
	return fmt.Appendf(nil, `{"seq":%d,"room":"lobby","user":"user-%d","text":"message number %d of the stream, much like the one before","tags":["chat","json","events"],"meta":{"client":"wsforge","version":%d}}`, i, i%7, i, i*31)
}

// Handshakes.

// sampleKey and sampleAccept are the example of RFC 6455 §1.3.
const (
	sampleKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// b64 returns the standard Base64 of n bytes of value b.
func b64(n int, b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, n))
}

// validRequest returns a well-formed opening handshake for example.com.
func validRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://example.com/chat", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Key", sampleKey)
	r.Header.Set("Sec-WebSocket-Version", "13")
	return r
}

// standardLines are the header lines of a valid handshake carrying sampleKey.
const standardLines = "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: " + sampleKey + "\r\nSec-WebSocket-Version: 13\r\n"

// request returns an opening handshake with the standard lines and extra.
func request(requestLine, extra string) string {
	return requestLine + "\r\nHost: example.com\r\n" + standardLines + extra + "\r\n"
}

// rawHandshake sends, in one write, a GET request for /chat to addr with
// the given header lines (each ending in CRLF) followed by after, and reads
// the response. The connection has a deadline testTimeout away and is
// closed when t ends.
func rawHandshake(t *testing.T, addr, lines string, after []byte) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, testTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	require.NoError(t, nc.SetDeadline(time.Now().Add(testTimeout)))
	req := "GET /chat HTTP/1.1\r\nHost: " + addr + "\r\n" + lines + "\r\n"
	_, err = nc.Write(append([]byte(req), after...))
	require.NoError(t, err)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	require.NoError(t, err)
	return nc, br, resp
}

// rawClientHandshake sends a valid request for path on nc and reads the
// response up to its last byte and no further, so that whatever the server
// sends after the 101 is still to be read from nc. It fails unless the
// response is a 101.
func rawClientHandshake(nc net.Conn, path string) error {
	if _, err := nc.Write([]byte(request("GET "+path+" HTTP/1.1", ""))); err != nil {
		return err
	}
	var resp []byte
	var b [1]byte
	for !bytes.HasSuffix(resp, []byte("\r\n\r\n")) {
		if _, err := nc.Read(b[:]); err != nil {
			return err
		}
		resp = append(resp, b[0])
	}
	if !bytes.HasPrefix(resp, []byte("HTTP/1.1 101 ")) {
		return fmt.Errorf("handshake: got %q", resp)
	}
	return nil
}

// upgradeResult is what a handler's call to Upgrade returned.
type upgradeResult struct {
	c   *Conn
	err error
}

// upgradeServer starts a loopback HTTP server whose handler calls upgrade
// and sends its result on the returned channel; it returns the address.
func upgradeServer(t *testing.T, upgrade func(w http.ResponseWriter, r *http.Request) (*Conn, error)) (string, <-chan upgradeResult) {
	t.Helper()
	results := make(chan upgradeResult, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrade(w, r)
		results <- upgradeResult{c, err}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), results
}

// awaitUpgrade receives a result of upgradeServer and arranges for its Conn
// to be closed when t ends.
func awaitUpgrade(t *testing.T, results <-chan upgradeResult) (*Conn, error) {
	t.Helper()
	res := recvWithin(t, results, "return from Upgrade")
	if res.c != nil {
		t.Cleanup(func() { res.c.CloseNow() })
	}
	return res.c, res.err
}

// checkSwitched fails t unless resp is a valid 101 for sampleKey.
func checkSwitched(t *testing.T, resp *http.Response) {
	t.Helper()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		t.Fatalf("got status %s (%q), want 101", resp.Status, body)
	}
	for _, h := range []struct {
		name string
		want []string
	}{
		{name: "Upgrade", want: []string{"websocket"}},
		{name: "Connection", want: []string{"Upgrade"}},
		{name: "Sec-WebSocket-Accept", want: []string{sampleAccept}},
	} {
		if got := resp.Header.Values(h.name); !slices.Equal(got, h.want) {
			t.Errorf("got %s %q, want %q", h.name, got, h.want)
		}
	}
}

// Peers.

// startEcho runs a loop on c that sends every message back until Read or
// Write fails; the returned channel is closed when the loop ends.
func startEcho(c *Conn) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 0, 512)
		for {
			typ, msg, err := c.Read(context.Background(), buf[:0])
			if err != nil {
				return
			}
			if err := c.Write(context.Background(), typ, msg); err != nil {
				return
			}
			buf = msg
		}
	}()
	return done
}

// readUntilError reads c in the background and delivers the error that
// ended the reading.
func readUntilError(c *Conn) <-chan error {
	ch := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.Read(context.Background(), nil); err != nil {
				ch <- err
				return
			}
		}
	}()
	return ch
}

// closeReply is what a raw peer saw after it sent something: the code of
// the close frame it received and whether the connection then ended.
type closeReply struct {
	code   uint16
	reason string
	err    error
}

// awaitClose reads, in the background, the Conn's close frame. If answer
// is set, the peer then behaves well: it answers with the same code and
// reads until the connection ends. Otherwise it just ends the connection.
func awaitClose(p *wstest.RawPeer, answer bool) <-chan closeReply {
	ch := make(chan closeReply, 1)
	go func() {
		code, reason, err := p.ReadClose()
		if err == nil && answer {
			p.WriteClose(code, "")
			err = p.ReadEOF()
		}
		p.Close()
		ch <- closeReply{code, reason, err}
	}()
	return ch
}

// dialEchoServer starts an HTTP server (TLS if secure) whose handler
// upgrades with opts and echoes one message.
func dialEchoServer(t *testing.T, secure bool, opts *UpgradeOptions) *httptest.Server {
	t.Helper()
	var wg sync.WaitGroup
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r, opts)
		if err != nil {
			return
		}
		wg.Go(func() {
			defer c.CloseNow()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			typ, msg, err := c.Read(ctx, nil)
			if err != nil {
				return
			}
			if c.Write(ctx, typ, msg) == nil {
				c.Close(StatusNormalClosure, "")
			}
		})
	})
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused TLS handshakes are expected
	if secure {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return srv
}

// echoOnce sends msg over c and checks that it comes back.
func echoOnce(t *testing.T, c *Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, MessageText, []byte(msg)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	typ, got, err := c.Read(ctx, nil)
	if err != nil || typ != MessageText || string(got) != msg {
		t.Fatalf("got %v of %d bytes, %v, want the %d bytes of text sent", typ, len(got), err, len(msg))
	}
}

// testTLSConfig trusts srv's certificate.
func testTLSConfig(srv *httptest.Server) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return &tls.Config{RootCAs: pool}
}

// noProxy is a DialOptions.Proxy that connects directly, whatever the
// environment says.
func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

// Reference implementations and generators.

// refAccept computes Sec-WebSocket-Accept the plain way.
func refAccept(key string) string {
	sum := sha1.Sum([]byte(key + keyGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// maskNaive is the reference: RFC 6455 §5.3 transcribed one byte at a time.
// It returns the key rotated by len(b) bytes, like mask.
func maskNaive(key uint32, b []byte) uint32 {
	var k [4]byte
	binary.LittleEndian.PutUint32(k[:], key)
	for i := range b {
		b[i] ^= k[i%4]
	}
	return bits.RotateLeft32(key, -8*(len(b)%4))
}

// utf8Prefixes returns the set of proper prefixes (1 to 3 bytes) of the
// encodings of all Unicode scalar values, built with the standard library.
var utf8Prefixes = sync.OnceValue(func() map[string]bool {
	set := make(map[string]bool)
	var buf [utf8.UTFMax]byte
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		n := utf8.EncodeRune(buf[:], r)
		for i := 1; i < n; i++ {
			set[string(buf[:i])] = true
		}
	}
	return set
})

// firstInvalid is the fail-fast reference: it returns the length of the
// shortest prefix of p that cannot be extended to valid UTF-8, or -1 if every
// prefix of p can be (p is valid, or valid up to an incomplete last code point).
func firstInvalid(p []byte) int {
	for j := 0; j < len(p); {
		r, size := utf8.DecodeRune(p[j:])
		if r != utf8.RuneError || size != 1 {
			j += size
			continue
		}
		// No complete code point starts at j. The prefix p[:i] can still be
		// extended while p[j:i] is a proper prefix of some encoding.
		for i := j + 1; i <= len(p); i++ {
			if !utf8Prefixes()[string(p[j:i])] {
				return i
			}
		}
		return -1
	}
	return -1
}

// randomChunks returns a random chunking of n bytes, empty chunks included.
func randomChunks(rng *mathrand.Rand, n int) []int {
	var c []int
	for n > 0 {
		k := rng.IntN(min(n, 20) + 1)
		if rng.IntN(4) == 0 {
			k = rng.IntN(n + 1)
		}
		c = append(c, k)
		n -= k
	}
	return c
}

// randomText returns about n bytes of valid UTF-8 drawn from runes of every
// encoded length, with long ASCII runs to exercise the fast path.
func randomText(rng *mathrand.Rand, n int) []byte {
	var p []byte
	for len(p) < n {
		switch rng.IntN(5) {
		case 0:
			p = append(p, strings.Repeat("x", rng.IntN(20))...)
		case 1:
			p = utf8.AppendRune(p, rune(0x80+rng.IntN(0x800-0x80)))
		case 2:
			p = utf8.AppendRune(p, rune(0x800+rng.IntN(0x10000-0x800)))
		case 3:
			p = utf8.AppendRune(p, rune(0x10000+rng.IntN(utf8.MaxRune+1-0x10000)))
		default:
			p = append(p, byte(rng.IntN(0x80)))
		}
	}
	return p
}
