package websocket

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	xws "golang.org/x/net/websocket"

	"github.com/wsforge/websocket/internal/wstest"
)

// These tests run wsforge against golang.org/x/net/websocket, an
// independent implementation, in both roles.

// xnetFrame is one message as x/net/websocket sees it: its payload type
// (xws.TextFrame or xws.BinaryFrame, numerically MessageText and
// MessageBinary) and its data.
type xnetFrame struct {
	typ  byte
	data []byte
}

// xnetCodec receives a frame together with its payload type, which
// xws.Message does not report. Sending goes through xws.Message, which sends
// a string as a text frame and a []byte as a binary frame.
var xnetCodec = xws.Codec{
	Unmarshal: func(data []byte, payloadType byte, v any) error {
		*v.(*xnetFrame) = xnetFrame{typ: payloadType, data: data}
		return nil
	},
}

// xnetSend sends data with xws.Message as a message of type typ.
func xnetSend(ws *xws.Conn, typ MessageType, data []byte) error {
	if typ == MessageText {
		return xws.Message.Send(ws, string(data))
	}
	return xws.Message.Send(ws, data)
}

// interopMessages are the messages each interop test exchanges.
var interopMessages = []struct {
	name string
	typ  MessageType
	data []byte
}{
	{
		name: "text",
		typ:  MessageText,
		data: []byte("hello"),
	},
	{
		name: "empty text",
		typ:  MessageText,
		data: []byte{},
	},
	{
		name: "multibyte text",
		typ:  MessageText,
		data: []byte("héllo, 世界 🌍"),
	},
	{
		name: "binary",
		typ:  MessageBinary,
		data: []byte{0, 1, 2, 0x80, 0xfe, 0xff},
	},
	{
		name: "empty binary",
		typ:  MessageBinary,
		data: []byte{},
	},
	{
		name: "126 bytes, 16-bit length",
		typ:  MessageBinary,
		data: bytes.Repeat([]byte{0xab}, 126),
	},
	{
		name: "64 KiB, 64-bit length",
		typ:  MessageText,
		data: []byte(strings.Repeat("x", 1<<16)),
	},
	{
		name: "1 MiB text",
		typ:  MessageText,
		data: []byte(strings.Repeat("0123456789abcdef", 1<<16)),
	},
	{
		name: "1 MiB binary",
		typ:  MessageBinary,
		data: bytes.Repeat([]byte{0, 0xff, 0x7f, 0x80}, 1<<18),
	},
}

// xnetDial connects an x/net/websocket client to our server at addr. Its
// Origin is the server's own host, which our origin check accepts.
func xnetDial(t *testing.T, addr string) *xws.Conn {
	t.Helper()
	cfg, err := xws.NewConfig("ws://"+addr+"/chat", "http://"+addr)
	require.NoError(t, err)
	cfg.Dialer = &net.Dialer{Timeout: testTimeout}
	ws, err := xws.DialConfig(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { ws.Close() })
	return ws
}

// serveEcho echoes messages on c until Read fails, reporting each message's
// type and size on seen, and then the Read error on done.
func serveEcho(c *Conn, seen chan<- xnetFrame, done chan<- error) {
	for {
		typ, data, err := c.Read(context.Background(), nil)
		if err != nil {
			done <- err
			return
		}
		if seen != nil {
			seen <- xnetFrame{typ: byte(typ), data: data}
		}
		if err := c.Write(context.Background(), typ, data); err != nil {
			done <- err
			return
		}
	}
}

func TestXNetClientEcho(t *testing.T) {
	wstest.CheckLeaks(t)
	addr, results := upgradeServer(t, func(w http.ResponseWriter, r *http.Request) (*Conn, error) {
		return Upgrade(w, r, nil)
	})
	ws := xnetDial(t, addr)
	server, err := awaitUpgrade(t, results)
	require.NoError(t, err)
	seen := make(chan xnetFrame, 1)
	done := make(chan error, 1)
	go serveEcho(server, seen, done)

	for _, m := range interopMessages {
		t.Run(m.name, func(t *testing.T) {
			require.NoError(t, ws.SetDeadline(time.Now().Add(testTimeout)))
			require.NoError(t, xnetSend(ws, m.typ, m.data))
			got := recvWithin(t, seen, "message at the server")
			if MessageType(got.typ) != m.typ || !bytes.Equal(got.data, m.data) {
				t.Errorf("server got %v of %d bytes, want %v of %d bytes", MessageType(got.typ), len(got.data), m.typ, len(m.data))
			}
			var echo xnetFrame
			require.NoError(t, xnetCodec.Receive(ws, &echo))
			if MessageType(echo.typ) != m.typ || !bytes.Equal(echo.data, m.data) {
				t.Errorf("client got %v of %d bytes, want %v of %d bytes", MessageType(echo.typ), len(echo.data), m.typ, len(m.data))
			}
		})
	}

	// x/net's Close sends a close frame with 1000 and drops the connection.
	require.NoError(t, ws.Close())
	if err := recvWithin(t, done, "end of the server's Read"); CloseStatus(err) != StatusNormalClosure {
		t.Errorf("got server Read error %v, want a CloseError with %v", err, StatusNormalClosure)
	}
}

func TestXNetClientClose(t *testing.T) {
	tests := []struct {
		name string
		// run ends the connection from one side and checks what the x/net
		// client saw; the server is reading throughout.
		run      func(t *testing.T, server *Conn, ws *xws.Conn, nc net.Conn)
		wantCode StatusCode // of the CloseError the server's Read returns
	}{
		{
			name: "x/net client closes",
			run: func(t *testing.T, server *Conn, ws *xws.Conn, nc net.Conn) {
				require.NoError(t, ws.Close())
			},
			wantCode: StatusNormalClosure,
		},
		{
			name: "x/net client drops the TCP connection",
			run: func(t *testing.T, server *Conn, ws *xws.Conn, nc net.Conn) {
				require.NoError(t, nc.Close())
			},
			wantCode: StatusAbnormalClosure,
		},
		{
			name: "our server closes",
			run: func(t *testing.T, server *Conn, ws *xws.Conn, nc net.Conn) {
				closed := make(chan error, 1)
				go func() { closed <- server.Close(StatusGoingAway, "restarting") }()
				// x/net reports a close frame as the end of the stream and
				// does not answer it: the application closes, which sends
				// its own close frame.
				var m xnetFrame
				if err := xnetCodec.Receive(ws, &m); err != io.EOF {
					t.Errorf("got x/net Receive error %v, want io.EOF", err)
				}
				require.NoError(t, ws.Close())
				if err := recvWithin(t, closed, "return from Close"); err != nil {
					t.Errorf("got Close error %v, want nil", err)
				}
			},
			wantCode: StatusNormalClosure, // x/net's close frame
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			addr, results := upgradeServer(t, func(w http.ResponseWriter, r *http.Request) (*Conn, error) {
				return Upgrade(w, r, nil)
			})
			nc, err := net.DialTimeout("tcp", addr, testTimeout)
			require.NoError(t, err)
			t.Cleanup(func() { nc.Close() })
			require.NoError(t, nc.SetDeadline(time.Now().Add(testTimeout)))
			cfg, err := xws.NewConfig("ws://"+addr+"/chat", "http://"+addr)
			require.NoError(t, err)
			ws, err := xws.NewClient(cfg, nc)
			require.NoError(t, err)
			server, err := awaitUpgrade(t, results)
			require.NoError(t, err)
			done := make(chan error, 1)
			go serveEcho(server, nil, done)

			tt.run(t, server, ws, nc)
			err = recvWithin(t, done, "end of the server's Read")
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != tt.wantCode {
				t.Errorf("got server Read error %v, want a CloseError with %v", err, tt.wantCode)
			}
		})
	}
}

// xnetServer starts an x/net/websocket server running handler for each
// connection, accepting any origin, and returns its ws:// URL.
func xnetServer(t *testing.T, handler func(ws *xws.Conn)) string {
	t.Helper()
	srv := httptest.NewServer(xws.Server{
		Handshake: func(*xws.Config, *http.Request) error { return nil },
		Handler: func(ws *xws.Conn) {
			ws.SetDeadline(time.Now().Add(testTimeout))
			handler(ws)
		},
	})
	t.Cleanup(srv.Close)
	return "ws://" + srv.Listener.Addr().String() + "/echo"
}

// dialXNet connects our client to url; the Conn is closed when t ends.
func dialXNet(t *testing.T, url string) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, resp, err := Dial(ctx, url, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// xnetEcho echoes messages with their type until Receive fails, then
// reports the error on ended and, if closeAfter, closes with a close frame.
func xnetEcho(ended chan<- error, closeAfter bool) func(ws *xws.Conn) {
	return func(ws *xws.Conn) {
		for {
			var m xnetFrame
			if err := xnetCodec.Receive(ws, &m); err != nil {
				if closeAfter {
					ws.Close()
				}
				ended <- err
				return
			}
			if err := xnetSend(ws, MessageType(m.typ), m.data); err != nil {
				ended <- err
				return
			}
		}
	}
}

func TestXNetServerEcho(t *testing.T) {
	wstest.CheckLeaks(t)
	ended := make(chan error, 1)
	c := dialXNet(t, xnetServer(t, xnetEcho(ended, true)))
	for _, m := range interopMessages {
		t.Run(m.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			require.NoError(t, c.Write(ctx, m.typ, m.data))
			typ, got, err := c.Read(ctx, nil)
			require.NoError(t, err)
			if typ != m.typ || !bytes.Equal(got, m.data) {
				t.Errorf("got %v of %d bytes, want %v of %d bytes", typ, len(got), m.typ, len(m.data))
			}
		})
	}
	if err := c.Close(StatusNormalClosure, "bye"); err != nil {
		t.Errorf("got Close error %v, want nil", err)
	}
	if err := recvWithin(t, ended, "end of the x/net handler"); err != io.EOF {
		t.Errorf("got x/net Receive error %v, want io.EOF", err)
	}
}

func TestXNetServerClose(t *testing.T) {
	tests := []struct {
		name    string
		handler func(ws *xws.Conn)
		// clientCloses makes our client call Close after the first echo;
		// otherwise it reads until the end.
		clientCloses bool
		wantCode     StatusCode // of our Close error, or of the CloseError Read returns
		wantCloseOK  bool       // Close returns nil
	}{
		{
			name:         "our client closes, x/net closes in turn",
			handler:      xnetEcho(make(chan error, 1), true),
			clientCloses: true,
			wantCloseOK:  true,
		},
		{
			name:         "our client closes, x/net drops the connection",
			handler:      xnetEcho(make(chan error, 1), false),
			clientCloses: true,
			wantCode:     StatusAbnormalClosure,
		},
		{
			name: "x/net server closes",
			handler: func(ws *xws.Conn) {
				xws.Message.Send(ws, "bye")
				ws.Close()
			},
			wantCode: StatusNormalClosure,
		},
		{
			name: "x/net server drops the connection",
			handler: func(ws *xws.Conn) {
				xws.Message.Send(ws, "bye")
			},
			wantCode: StatusAbnormalClosure,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			c := dialXNet(t, xnetServer(t, tt.handler))
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			if tt.clientCloses {
				require.NoError(t, c.Write(ctx, MessageText, []byte("hi")))
				_, msg, err := c.Read(ctx, nil)
				require.NoError(t, err)
				require.Equal(t, "hi", string(msg))
				err = c.Close(StatusNormalClosure, "")
				switch {
				case tt.wantCloseOK && err != nil:
					t.Errorf("got Close error %v, want nil", err)
				case !tt.wantCloseOK && CloseStatus(err) != tt.wantCode:
					t.Errorf("got Close error %v, want one with a CloseError %v", err, tt.wantCode)
				}
				return
			}
			typ, msg, err := c.Read(ctx, nil)
			require.NoError(t, err)
			if typ != MessageText || string(msg) != "bye" {
				t.Errorf("got %v %q, want text %q", typ, msg, "bye")
			}
			_, _, err = c.Read(ctx, nil)
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != tt.wantCode {
				t.Errorf("got Read error %v, want a CloseError with %v", err, tt.wantCode)
			}
			// The end is sticky.
			if _, _, err2 := c.Read(ctx, nil); CloseStatus(err2) != tt.wantCode {
				t.Errorf("got second Read error %v, want the same CloseError", err2)
			}
		})
	}
}
