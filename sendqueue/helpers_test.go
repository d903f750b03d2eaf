package sendqueue

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/internal/wstest"
)

// TestMain fails the run if the tests leave goroutines behind.
func TestMain(m *testing.M) { os.Exit(wstest.CheckMain(m)) }

// hijacker is an http.ResponseWriter whose connection is nc, so that
// websocket.Upgrade can take over any net.Conn: a pipe, a socket, or a
// wstest.FakeConn.
type hijacker struct {
	header http.Header
	nc     net.Conn
}

func (h *hijacker) Header() http.Header         { return h.header }
func (h *hijacker) Write(p []byte) (int, error) { return len(p), nil }
func (h *hijacker) WriteHeader(int)             {}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.nc, bufio.NewReadWriter(bufio.NewReader(h.nc), bufio.NewWriter(h.nc)), nil
}

// upgrade makes a server Conn on nc with websocket.Upgrade, from a
// client's opening handshake built here (offering extensions, if not
// empty). The 101 response is written on nc: its other end must read it,
// or hold it, or discard it.
func upgrade(nc net.Conn, so *websocket.UpgradeOptions, extensions string) (*websocket.Conn, error) {
	r := httptest.NewRequest(http.MethodGet, "http://sendqueue.test/", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "c2VuZHF1ZXVlLWtleS0xNg==")
	if extensions != "" {
		r.Header.Set("Sec-WebSocket-Extensions", extensions)
	}
	return websocket.Upgrade(&hijacker{header: http.Header{}, nc: nc}, r, so)
}

// mustUpgrade is upgrade on a connection whose other end needs no response.
func mustUpgrade(tb testing.TB, nc net.Conn, so *websocket.UpgradeOptions, extensions string) *websocket.Conn {
	tb.Helper()
	c, err := upgrade(nc, so, extensions)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// skipResponse reads an HTTP response head from r byte by byte, so as to
// read nothing that follows it, and checks that it is a 101.
func skipResponse(r io.Reader) error {
	var head []byte
	b := make([]byte, 1)
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		if _, err := io.ReadFull(r, b); err != nil {
			return err
		}
		head = append(head, b[0])
	}
	if !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) {
		return errors.New("not a 101 response: " + strconv.Quote(string(head)))
	}
	return nil
}

// pipeServer returns a server Conn over net.Pipe, upgraded with so, and a
// raw client peer on the other end. A pipe holds no bytes: a write waits
// until the peer reads, so a peer that does not read is a consumer whose
// buffers are full.
func pipeServer(tb testing.TB, so *websocket.UpgradeOptions) (*websocket.Conn, *wstest.RawPeer) {
	tb.Helper()
	a, b := net.Pipe()
	type result struct {
		c   *websocket.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := upgrade(a, so, "")
		if err != nil {
			a.Close() // the peer stops waiting for a response
		}
		done <- result{c, err}
	}()
	skipErr := skipResponse(b)
	r := <-done
	if r.err != nil || skipErr != nil {
		b.Close()
		tb.Fatalf("upgrade: %v; response: %v", r.err, skipErr)
	}
	tb.Cleanup(func() {
		r.c.CloseNow()
		b.Close()
	})
	return r.c, wstest.NewRawPeer(b, true)
}

// readText reads one message and checks it is text with the given payload.
func readText(tb testing.TB, peer *wstest.RawPeer, want string) {
	tb.Helper()
	op, p, err := peer.ReadMessage(nil)
	if err != nil || op != wstest.OpText || string(p) != want {
		tb.Fatalf("got %d %q %v, want text %q", op, p, err, want)
	}
}

func msg(i int) []byte { return []byte("message " + strconv.Itoa(i)) }

// closed reports whether c has closed.
func closed(c *websocket.Conn) bool { return c.Context().Err() != nil }
