package websocket

// The opening handshake on the server's side when it succeeds: the requests
// Upgrade accepts, the 101 and its headers, hijacking through middleware,
// frames sent right behind the request, and the parts of the handshake
// (the accept key, the key's form, header tokens). Refusals are in
// handshake_refusal_test.go, origins in origin_test.go, subprotocols in
// negotiation_test.go; Dial's side is in dial_test.go.

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wsforge/websocket/internal/wstest"
)

func TestUpgradeAccepts(t *testing.T) {
	tests := []struct {
		name  string
		lines string // the request's header lines but Host
	}{
		{
			name:  "canonical",
			lines: standardLines,
		},
		{
			name: "Upgrade token in any case, in a list",
			lines: "Upgrade: foo, WebSocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: " + sampleKey + "\r\nSec-WebSocket-Version: 13\r\n",
		},
		{
			name: "Upgrade token on a second line",
			lines: "Upgrade: foo\r\nUpgrade: WEBSOCKET\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: " + sampleKey + "\r\nSec-WebSocket-Version: 13\r\n",
		},
		{
			name: "Connection keep-alive, Upgrade",
			lines: "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
				"Sec-WebSocket-Key: " + sampleKey + "\r\nSec-WebSocket-Version: 13\r\n",
		},
		{
			name: "Connection lower case on a second line",
			lines: "Upgrade: websocket\r\nConnection: keep-alive\r\nConnection: upgrade\r\n" +
				"Sec-WebSocket-Key: " + sampleKey + "\r\nSec-WebSocket-Version: 13\r\n",
		},
		{
			name:  "same-host origin",
			lines: standardLines + "Origin: http://{{HOST}}\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			addr, results := upgradeServer(t, func(w http.ResponseWriter, r *http.Request) (*Conn, error) {
				return Upgrade(w, r, nil)
			})
			_, _, resp := rawHandshake(t, addr, strings.ReplaceAll(tt.lines, "{{HOST}}", addr), nil)
			c, err := awaitUpgrade(t, results)
			if err != nil || c == nil {
				t.Fatalf("Upgrade: got %v, %v, want a Conn", c, err)
			}
			checkSwitched(t, resp)
		})
	}
}

func TestUpgradeResponseHeaders(t *testing.T) {
	tests := []struct {
		name     string
		writer   http.Header // set on the ResponseWriter before Upgrade
		options  http.Header // UpgradeOptions.ResponseHeader
		want     http.Header // must appear in the 101 as they are
		protocol string      // the subprotocol the client offers and the server speaks
	}{
		{
			name:    "Set-Cookie from the options",
			options: http.Header{"Set-Cookie": {"session=abc; HttpOnly"}},
			want:    http.Header{"Set-Cookie": {"session=abc; HttpOnly"}},
		},
		{
			name:   "headers set on the writer",
			writer: http.Header{"X-Request-Id": {"42"}, "Set-Cookie": {"a=1"}},
			want:   http.Header{"X-Request-Id": {"42"}, "Set-Cookie": {"a=1"}},
		},
		{
			name:    "writer and options merged",
			writer:  http.Header{"Set-Cookie": {"a=1"}},
			options: http.Header{"Set-Cookie": {"b=2"}, "X-Server": {"wsforge"}},
			want:    http.Header{"Set-Cookie": {"a=1", "b=2"}, "X-Server": {"wsforge"}},
		},
		{
			name: "handshake headers on the writer are ignored",
			writer: http.Header{
				"Upgrade":                  {"h2c"},
				"Connection":               {"close"},
				"Sec-Websocket-Accept":     {"forged"},
				"Sec-Websocket-Protocol":   {"forged"},
				"Sec-Websocket-Extensions": {"permessage-deflate"},
				"Content-Length":           {"5"},
				"X-Kept":                   {"yes"},
			},
			want:     http.Header{"X-Kept": {"yes"}},
			protocol: "chat",
		},
		{
			name: "handshake headers in the options are ignored",
			options: http.Header{
				"Upgrade":                  {"h2c"},
				"Connection":               {"close"},
				"Sec-Websocket-Accept":     {"forged"},
				"Sec-Websocket-Protocol":   {"forged"},
				"Sec-Websocket-Extensions": {"permessage-deflate"},
				"Transfer-Encoding":        {"chunked"},
				"X-Kept":                   {"yes"},
			},
			want:     http.Header{"X-Kept": {"yes"}},
			protocol: "chat",
		},
		{
			name: "non-canonical handshake keys in the options are ignored",
			options: http.Header{
				"upgrade":              {"h2c"},
				"CONNECTION":           {"close"},
				"sec-websocket-accept": {"forged"},
				"Sec-WebSocket-Accept": {"forged"},
				"x-kept":               {"yes"},
			},
			want: http.Header{"X-Kept": {"yes"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			opts := &UpgradeOptions{ResponseHeader: tt.options.Clone()}
			if tt.protocol != "" {
				opts.Subprotocols = []string{tt.protocol}
			}
			addr, results := upgradeServer(t, func(w http.ResponseWriter, r *http.Request) (*Conn, error) {
				for k, vs := range tt.writer {
					w.Header()[k] = vs
				}
				return Upgrade(w, r, opts)
			})
			lines := standardLines
			if tt.protocol != "" {
				lines += "Sec-WebSocket-Protocol: " + tt.protocol + "\r\n"
			}
			nc, br, resp := rawHandshake(t, addr, lines, nil)
			c, err := awaitUpgrade(t, results)
			require.NoError(t, err)
			checkSwitched(t, resp)
			for k, want := range tt.want {
				if got := resp.Header.Values(k); !slices.Equal(got, want) {
					t.Errorf("got %s %q, want %q", k, got, want)
				}
			}
			var wantProtocol []string
			if tt.protocol != "" {
				wantProtocol = []string{tt.protocol}
			}
			for k, want := range map[string][]string{
				"Sec-WebSocket-Protocol":   wantProtocol,
				"Sec-WebSocket-Extensions": nil,
				"Content-Length":           nil,
				"Transfer-Encoding":        nil,
			} {
				if got := resp.Header.Values(k); !slices.Equal(got, want) {
					t.Errorf("got %s %q, want %q", k, got, want)
				}
			}
			if !equalHeader(opts.ResponseHeader, tt.options) {
				t.Errorf("got options.ResponseHeader %v after Upgrade, want it unchanged: %v", opts.ResponseHeader, tt.options)
			}
			// The connection works after the 101.
			client := newConn(nc, br, true, (*DialOptions)(nil).connConfig())
			roundTripOnce(t, c, client)
		})
	}
}

// equalHeader reports whether a and b hold the same keys and values.
func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		if vb, ok := b[k]; !ok || !slices.Equal(va, vb) {
			return false
		}
	}
	return true
}

// roundTripOnce sends a message from client to server and back.
func roundTripOnce(t *testing.T, server, client *Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	require.NoError(t, client.Write(ctx, MessageText, []byte("ping?")))
	typ, msg, err := server.Read(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, server.Write(ctx, typ, msg))
	typ, msg, err = client.Read(ctx, nil)
	require.NoError(t, err)
	if typ != MessageText || string(msg) != "ping?" {
		t.Errorf("got %v %q, want text %q", typ, msg, "ping?")
	}
}

// unwrapOnly hides every optional interface of the ResponseWriter it wraps,
// Hijacker included, but lets http.ResponseController reach it.
type unwrapOnly struct{ http.ResponseWriter }

func (w unwrapOnly) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// opaque hides every optional interface of the ResponseWriter it wraps.
type opaque struct{ http.ResponseWriter }

func TestUpgradeHijack(t *testing.T) {
	if _, ok := any(unwrapOnly{}).(http.Hijacker); ok {
		t.Fatal("unwrapOnly implements http.Hijacker; the test would prove nothing")
	}
	tests := []struct {
		name   string
		wrap   func(http.ResponseWriter) http.ResponseWriter
		wantOK bool
	}{
		{
			name:   "plain ResponseWriter",
			wrap:   func(w http.ResponseWriter) http.ResponseWriter { return w },
			wantOK: true,
		},
		{
			name:   "middleware with Unwrap",
			wrap:   func(w http.ResponseWriter) http.ResponseWriter { return unwrapOnly{w} },
			wantOK: true,
		},
		{
			name:   "two layers of middleware",
			wrap:   func(w http.ResponseWriter) http.ResponseWriter { return unwrapOnly{unwrapOnly{w}} },
			wantOK: true,
		},
		{
			name:   "middleware that cannot hijack",
			wrap:   func(w http.ResponseWriter) http.ResponseWriter { return opaque{w} },
			wantOK: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			addr, results := upgradeServer(t, func(w http.ResponseWriter, r *http.Request) (*Conn, error) {
				return Upgrade(tt.wrap(w), r, nil)
			})
			nc, br, resp := rawHandshake(t, addr, standardLines, nil)
			c, err := awaitUpgrade(t, results)
			if !tt.wantOK {
				if c != nil || !errors.Is(err, http.ErrNotSupported) {
					t.Errorf("got %v, %v, want no Conn and an error wrapping http.ErrNotSupported", c, err)
				}
				if resp.StatusCode != http.StatusInternalServerError {
					t.Errorf("got status %s, want 500", resp.Status)
				}
				return
			}
			require.NoError(t, err)
			checkSwitched(t, resp)
			client := newConn(nc, br, true, (*DialOptions)(nil).connConfig())
			roundTripOnce(t, c, client)
		})
	}
}

func TestUpgradeRecorderCannotHijack(t *testing.T) {
	wstest.CheckLeaks(t)
	w := httptest.NewRecorder()
	c, err := Upgrade(w, validRequest(), nil)
	if c != nil || err == nil {
		t.Fatalf("got %v, %v, want no Conn and an error", c, err)
	}
	if !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("got error %v, want one wrapping http.ErrNotSupported", err)
	}
	if w.Code != http.StatusInternalServerError {
		t.Errorf("got status %d, want 500", w.Code)
	}
}

// clientFrame encodes a masked frame as a client sends it, masking with a
// loop of its own so that the test does not depend on mask.
func clientFrame(op opcode, fin bool, payload []byte) []byte {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	var hdr [maxHeaderSize]byte
	n := putHeader(hdr[:], header{
		fin:    fin,
		op:     op,
		masked: true,
		key:    binary.LittleEndian.Uint32(key[:]),
		length: int64(len(payload)),
	})
	out := append([]byte(nil), hdr[:n]...)
	for i, b := range payload {
		out = append(out, b^key[i%4])
	}
	return out
}

func TestUpgradePipelinedFrames(t *testing.T) {
	type message struct {
		typ  MessageType
		data string
	}
	big := strings.Repeat("0123456789abcdef", 1024) // larger than the read buffers
	closeBody := append(binary.BigEndian.AppendUint16(nil, uint16(StatusNormalClosure)), "done"...)
	tests := []struct {
		name   string
		frames [][]byte
		want   []message
		pongs  int // pings among the frames
	}{
		{
			name:   "one text frame",
			frames: [][]byte{clientFrame(opText, true, []byte("hello"))},
			want:   []message{{MessageText, "hello"}},
		},
		{
			name: "several frames",
			frames: [][]byte{
				clientFrame(opText, true, []byte("hello")),
				clientFrame(opBinary, true, []byte{0, 1, 2, 0xff}),
				clientFrame(opText, false, []byte("frag")),
				clientFrame(opPing, true, []byte("p")),
				clientFrame(opContinuation, true, []byte("ment")),
			},
			want: []message{
				{MessageText, "hello"},
				{MessageBinary, "\x00\x01\x02\xff"},
				{MessageText, "fragment"},
			},
			pongs: 1,
		},
		{
			name: "frames beyond the HTTP server's buffer",
			frames: [][]byte{
				clientFrame(opText, true, []byte("first")),
				clientFrame(opBinary, true, []byte(big)),
				clientFrame(opText, true, []byte("last")),
			},
			want: []message{
				{MessageText, "first"},
				{MessageBinary, big},
				{MessageText, "last"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			type outcome struct {
				got []message
				err error
			}
			outcomes := make(chan outcome, 1)
			addr, results := upgradeServer(t, func(w http.ResponseWriter, r *http.Request) (*Conn, error) {
				c, err := Upgrade(w, r, nil)
				if err != nil {
					return nil, err
				}
				// The first Read happens before anything else touches the
				// connection: the frames can only come from what net/http
				// had buffered and what is still in the socket.
				var o outcome
				for {
					typ, data, err := c.Read(context.Background(), nil)
					if err != nil {
						o.err = err
						break
					}
					o.got = append(o.got, message{typ, string(data)})
				}
				outcomes <- o
				return c, nil
			})
			var after []byte
			for _, f := range tt.frames {
				after = append(after, f...)
			}
			after = append(after, clientFrame(opClose, true, closeBody)...)
			_, br, resp := rawHandshake(t, addr, standardLines, after)
			checkSwitched(t, resp)
			o := recvWithin(t, outcomes, "end of the server's reading")
			_, err := awaitUpgrade(t, results)
			require.NoError(t, err)
			if len(o.got) != len(tt.want) {
				t.Errorf("got %d messages, want %d", len(o.got), len(tt.want))
			}
			for i := range min(len(o.got), len(tt.want)) {
				if got, want := o.got[i], tt.want[i]; got != want {
					t.Errorf("message %d: got %v of %d bytes, want %v of %d bytes", i, got.typ, len(got.data), want.typ, len(want.data))
				}
			}
			var ce *CloseError
			if !errors.As(o.err, &ce) || ce.Code != StatusNormalClosure || ce.Reason != "done" {
				t.Errorf("got Read error %v, want the client's close 1000 %q", o.err, "done")
			}
			// The server answered the ping, then echoed the close.
			var pongs int
			for {
				h, n, err := peekHeader(br)
				require.NoError(t, err)
				br.Discard(n)
				payload := make([]byte, h.length)
				_, err = io.ReadFull(br, payload)
				require.NoError(t, err)
				if h.op == opPong {
					pongs++
					continue
				}
				if h.op != opClose || binary.BigEndian.Uint16(payload) != uint16(StatusNormalClosure) {
					t.Errorf("got frame %v %q, want close 1000", h.op, payload)
				}
				break
			}
			if pongs != tt.pongs {
				t.Errorf("got %d pongs, want %d", pongs, tt.pongs)
			}
		})
	}
}

func TestAcceptKey(t *testing.T) {
	wstest.CheckLeaks(t)
	tests := []struct {
		name string
		key  string
		want string
	}{
		{
			name: "RFC 6455 section 1.3",
			key:  sampleKey,
			want: sampleAccept,
		},
		{
			name: "another 16-byte key",
			key:  b64(16, 0xa5),
			want: refAccept(b64(16, 0xa5)),
		},
		{
			name: "empty key",
			key:  "",
			want: refAccept(""),
		},
		{
			name: "key longer than 24 bytes",
			key:  strings.Repeat("k", 40),
			want: refAccept(strings.Repeat("k", 40)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := acceptKey(tt.key); string(got[:]) != tt.want {
				t.Errorf("got %q, want %q", got[:], tt.want)
			}
		})
	}
}

func TestAcceptKeyAllocs(t *testing.T) {
	wstest.CheckLeaks(t)
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	var sink [28]byte
	if n := testing.AllocsPerRun(100, func() { sink = acceptKey(sampleKey) }); n != 0 {
		t.Errorf("got %v allocations per acceptKey, want 0", n)
	}
	_ = sink
}

func TestHandshakeValidKey(t *testing.T) {
	wstest.CheckLeaks(t)
	tests := []struct {
		name string
		key  string
		want bool
	}{
		{
			name: "RFC sample",
			key:  sampleKey,
			want: true,
		},
		{
			name: "16 bytes",
			key:  b64(16, 0xfe),
			want: true,
		},
		{
			name: "empty",
			key:  "",
			want: false,
		},
		{
			name: "15 bytes",
			key:  b64(15, 'a'),
			want: false,
		},
		{
			name: "17 bytes",
			key:  b64(17, 'a'),
			want: false,
		},
		{
			name: "18 bytes, no padding",
			key:  b64(18, 'a'),
			want: false,
		},
		{
			name: "16 bytes without padding",
			key:  strings.TrimRight(sampleKey, "="),
			want: false,
		},
		{
			name: "URL-safe alphabet",
			key:  "_____________________w==",
			want: false,
		},
		{
			name: "not Base64",
			key:  "not base64 at all!!!!!!!",
			want: false,
		},
		{
			name: "embedded newline",
			key:  "dGhlIHNhbXBs\nZSBub25jZQ=",
			want: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validKey(tt.key); got != tt.want {
				t.Errorf("validKey(%q): got %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

func TestHandshakeHeaderHasToken(t *testing.T) {
	wstest.CheckLeaks(t)
	tests := []struct {
		name   string
		values []string
		token  string
		want   bool
	}{
		{
			name:   "exact",
			values: []string{"websocket"},
			token:  "websocket",
			want:   true,
		},
		{
			name:   "other case",
			values: []string{"WebSocket"},
			token:  "websocket",
			want:   true,
		},
		{
			name:   "in a list",
			values: []string{"foo, WebSocket"},
			token:  "websocket",
			want:   true,
		},
		{
			name:   "on a second line",
			values: []string{"keep-alive", "Upgrade"},
			token:  "upgrade",
			want:   true,
		},
		{
			name:   "surrounded by spaces and empty elements",
			values: []string{" , \t upgrade \t,,"},
			token:  "upgrade",
			want:   true,
		},
		{
			name:   "absent",
			values: nil,
			token:  "upgrade",
			want:   false,
		},
		{
			name:   "empty value",
			values: []string{""},
			token:  "upgrade",
			want:   false,
		},
		{
			name:   "prefix only",
			values: []string{"upgraded"},
			token:  "upgrade",
			want:   false,
		},
		{
			name:   "token inside another",
			values: []string{"keep-alive-upgrade"},
			token:  "upgrade",
			want:   false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Connection": tt.values}
			if got := headerHasToken(h, "Connection", tt.token); got != tt.want {
				t.Errorf("headerHasToken(%q, %q): got %v, want %v", tt.values, tt.token, got, tt.want)
			}
		})
	}
}
