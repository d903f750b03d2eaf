package wsjson_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/internal/wstest"
	"github.com/wsforge/websocket/websockettest"
	"github.com/wsforge/websocket/wsjson"
)

func TestMain(m *testing.M) { os.Exit(wstest.CheckMain(m)) }

type point struct {
	X, Y int
	Tag  string `json:",omitempty"`
}

// pair returns a connected server and client over loopback TCP, closed
// when t ends.
func pair(t *testing.T, so *websocket.UpgradeOptions, co *websocket.DialOptions) (server, client *websocket.Conn) {
	t.Helper()
	wstest.CheckLeaks(t)
	server, client, err := websockettest.Pair(so, co)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		server.CloseNow()
		client.CloseNow()
	})
	return server, client
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{
			name: "struct",
			v:    point{X: 1, Y: 2},
			want: `{"X":1,"Y":2}`,
		},
		{
			name: "string with HTML escaped as encoding/json does",
			v:    "<b>",
			want: `"\u003cb\u003e"`,
		},
		{
			name: "null",
			v:    nil,
			want: `null`,
		},
		{
			name: "larger than a frame buffer",
			v:    strings.Repeat("a", 3*websocket.DefaultWriteBufferSize),
			want: `"` + strings.Repeat("a", 3*websocket.DefaultWriteBufferSize) + `"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := pair(t, nil, nil)
			ctx := context.Background()
			if err := wsjson.Write(ctx, client, tt.v); err != nil {
				t.Fatalf("Write: %v", err)
			}
			typ, got, err := server.Read(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if typ != websocket.MessageText || string(got) != tt.want {
				t.Errorf("got %v %q, want text %q", typ, got, tt.want)
			}
		})
	}
}

func TestWriteUnencodable(t *testing.T) {
	server, client := pair(t, nil, nil)
	ctx := context.Background()
	err := wsjson.Write(ctx, client, make(chan int))
	var ute *json.UnsupportedTypeError
	if !errors.As(err, &ute) {
		t.Fatalf("got %v, want a *json.UnsupportedTypeError", err)
	}
	if !strings.HasPrefix(err.Error(), "wsjson: write: ") {
		t.Errorf("got error %q, want the prefix %q", err, "wsjson: write: ")
	}
	// Nothing was sent: the next message is the next value.
	if err := wsjson.Write(ctx, client, 7); err != nil {
		t.Fatal(err)
	}
	if _, got, err := server.Read(ctx, nil); err != nil || string(got) != "7" {
		t.Fatalf("got %q, %v, want %q", got, err, "7")
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		name    string
		typ     websocket.MessageType
		message string
		want    point
		wantErr string // a substring of the error, or "" for none
	}{
		{
			name:    "text",
			typ:     websocket.MessageText,
			message: `{"X":1,"Y":2,"Tag":"a"}`,
			want:    point{X: 1, Y: 2, Tag: "a"},
		},
		{
			name:    "binary, with whitespace around",
			typ:     websocket.MessageBinary,
			message: " \n{\"X\":3}\n",
			want:    point{X: 3},
		},
		{
			name:    "two values",
			typ:     websocket.MessageText,
			message: `{"X":1} {"X":2}`,
			wantErr: "after top-level value",
		},
		{
			name:    "syntax error",
			typ:     websocket.MessageText,
			message: `{"X":}`,
			wantErr: "invalid character",
		},
		{
			name:    "wrong type",
			typ:     websocket.MessageText,
			message: `{"X":"one"}`,
			wantErr: "cannot unmarshal",
		},
		{
			name:    "cut short",
			typ:     websocket.MessageText,
			message: `{"X":1`,
			wantErr: "unexpected end of JSON input",
		},
		{
			name:    "empty",
			typ:     websocket.MessageText,
			message: ``,
			wantErr: "unexpected end of JSON input",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := pair(t, nil, nil)
			ctx := context.Background()
			server.Write(ctx, tt.typ, []byte(tt.message))
			server.Write(ctx, websocket.MessageText, []byte(`{"Tag":"next"}`))
			var got point
			err := wsjson.Read(ctx, client, &got)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Read: %v", err)
			case tt.wantErr == "" && got != tt.want:
				t.Fatalf("got %+v, want %+v", got, tt.want)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			case tt.wantErr != "" && !strings.HasPrefix(err.Error(), "wsjson: read: "):
				t.Errorf("got error %q, want the prefix %q", err, "wsjson: read: ")
			}
			// The message was consumed, whatever its fate.
			var next point
			if err := wsjson.Read(ctx, client, &next); err != nil || next.Tag != "next" {
				t.Fatalf("next Read: got %+v, %v, want the next message", next, err)
			}
		})
	}
}

// Misuse is an error, never a panic.
func TestMisuse(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func() error
		prefix string
	}{
		{
			name:   "Read from a nil Conn",
			call:   func() error { var v any; return wsjson.Read(ctx, nil, &v) },
			prefix: "wsjson: read: ",
		},
		{
			name:   "Write to a nil Conn",
			call:   func() error { return wsjson.Write(ctx, nil, 1) },
			prefix: "wsjson: write: ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil || !strings.HasPrefix(err.Error(), tt.prefix) {
				t.Errorf("got %v, want an error with the prefix %q", err, tt.prefix)
			}
		})
	}
}

// A nil or non-pointer v is reported as json.Unmarshal reports it, and the
// message is consumed.
func TestReadInvalidTarget(t *testing.T) {
	server, client := pair(t, nil, nil)
	ctx := context.Background()
	server.Write(ctx, websocket.MessageText, []byte(`1`))
	server.Write(ctx, websocket.MessageText, []byte(`2`))
	var inv *json.InvalidUnmarshalError
	if err := wsjson.Read(ctx, client, nil); !errors.As(err, &inv) {
		t.Fatalf("got %v, want a *json.InvalidUnmarshalError", err)
	}
	var n int
	if err := wsjson.Read(ctx, client, &n); err != nil || n != 2 {
		t.Fatalf("next Read: got %d, %v, want 2", n, err)
	}
}

// TestReadFragmented reads a value sent in many frames, the later ones
// written while Read is already reading.
func TestReadFragmented(t *testing.T) {
	server, client := pair(t, nil, nil)
	ctx := context.Background()
	want := make([]string, 200)
	for i := range want {
		want[i] = strings.Repeat(string(rune('a'+i%26)), i*10)
	}
	sent := make(chan error, 1)
	go func() {
		w, err := server.Writer(ctx, websocket.MessageBinary)
		if err != nil {
			sent <- err
			return
		}
		enc := json.NewEncoder(w)
		for i, s := range want {
			sep := ","
			if i == 0 {
				sep = "["
			}
			io.WriteString(w, sep)
			enc.Encode(s)
		}
		io.WriteString(w, "]")
		sent <- w.Close()
	}()
	var got []string
	if err := wsjson.Read(ctx, client, &got); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d values, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("value %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

// Values that keep the bytes they were decoded from hold copies: the
// buffers Read reuses, small or large, never show through.
func TestReadReusesNoBytes(t *testing.T) {
	server, client := pair(t, nil, nil)
	ctx := context.Background()
	messages := []string{
		`"first"`,
		`"` + strings.Repeat("b", 100<<10) + `"`, // larger than a pooled buffer
		`"third"`,
		`"fourth"`,
	}
	go func() {
		for _, m := range messages {
			if server.Write(ctx, websocket.MessageText, []byte(m)) != nil {
				return
			}
		}
	}()
	got := make([]json.RawMessage, len(messages))
	for i := range got {
		if err := wsjson.Read(ctx, client, &got[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range messages {
		if string(got[i]) != want {
			t.Errorf("message %d: got %.20q..., want %.20q...", i+1, got[i], want)
		}
	}
}

// stallConn calls onStall, once, from the first Read that finds at least
// want bytes already read: the reader has taken in everything the peer
// sent and waits for more.
type stallConn struct {
	net.Conn
	mu      sync.Mutex
	read    int
	want    int
	onStall func()
}

func (c *stallConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	var f func()
	if c.onStall != nil && c.read >= c.want {
		f, c.onStall = c.onStall, nil
	}
	c.mu.Unlock()
	if f != nil {
		f()
	}
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.read += n
	c.mu.Unlock()
	return n, err
}

// acceptKey is the Sec-WebSocket-Accept answer to key (RFC 6455 §4.2.2),
// computed here independently of package websocket.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// rawServerPair dials a raw server peer over loopback TCP through a
// stallConn and returns the client Conn, its stallConn, the peer, and the
// number of bytes of the handshake response.
func rawServerPair(t *testing.T) (*websocket.Conn, *stallConn, *wstest.RawPeer, int) {
	t.Helper()
	wstest.CheckLeaks(t)
	dialed, accepted := wstest.TCPPair(t)
	sc := &stallConn{Conn: dialed}
	responded := make(chan int, 1)
	go func() {
		defer close(responded)
		req, err := http.ReadRequest(bufio.NewReader(accepted))
		if err != nil {
			return
		}
		resp := fmt.Sprintf("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			acceptKey(req.Header.Get("Sec-WebSocket-Key")))
		if _, err := io.WriteString(accepted, resp); err == nil {
			responded <- len(resp)
		}
	}()
	c, _, err := websocket.Dial(context.Background(), "ws://example.com/", &websocket.DialOptions{
		NetDialContext: func(context.Context, string, string) (net.Conn, error) { return sc, nil },
		Proxy:          http.ProxyURL(nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	n, ok := <-responded
	if !ok {
		t.Fatal("the raw server did not answer the handshake")
	}
	return c, sc, wstest.NewRawPeer(accepted, false), n
}

// TestReadCutOff checks that a read cut off by its context in the middle
// of a message loses nothing: the next Read decodes the whole message, and
// the one after it the message after.
func TestReadCutOff(t *testing.T) {
	client, sc, peer, handshake := rawServerPair(t)
	head := wstest.Frame{Op: wstest.OpText, Payload: []byte(`{"X":1,"Tag":"` + strings.Repeat("a", 10000))}
	tail := wstest.Frame{Fin: true, Op: wstest.OpContinuation, Payload: []byte(`"}`)}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sc.mu.Lock()
	sc.want = handshake + len(wstest.AppendFrame(nil, head))
	sc.onStall = cancel // once the head is in, the read waits for the tail: cut it off
	sc.mu.Unlock()
	if err := peer.WriteFrame(head); err != nil {
		t.Fatal(err)
	}
	var v point
	if err := wsjson.Read(ctx, client, &v); !errors.Is(err, context.Canceled) {
		t.Fatalf("cut-off Read: got %v, want context.Canceled", err)
	}
	sc.mu.Lock()
	stalled := sc.onStall == nil
	sc.mu.Unlock()
	if !stalled {
		t.Fatal("the read ended before it waited for the tail")
	}
	if v != (point{}) {
		t.Errorf("cut-off Read: got %+v, want v untouched", v)
	}

	peer.WriteFrame(tail)
	peer.WriteMessage(wstest.OpText, []byte(`{"Tag":"after"}`))
	bg := context.Background()
	if err := wsjson.Read(bg, client, &v); err != nil {
		t.Fatalf("Read after the cut-off: %v", err)
	}
	if want := (point{X: 1, Tag: strings.Repeat("a", 10000)}); v != want {
		t.Fatalf("Read after the cut-off: got X %d and a Tag of %d bytes, want the whole message", v.X, len(v.Tag))
	}
	var next point
	if err := wsjson.Read(bg, client, &next); err != nil || next.Tag != "after" {
		t.Fatalf("next Read: got %+v, %v, want the next message", next, err)
	}
}

func TestReadClosed(t *testing.T) {
	server, client := pair(t, nil, nil)
	ctx := context.Background()
	go server.Close(websocket.StatusGoingAway, "bye")
	var v any
	err := wsjson.Read(ctx, client, &v)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "bye" {
		t.Fatalf("got %v, want a *websocket.CloseError with 1001 and %q", err, "bye")
	}
	if strings.Contains(err.Error(), "wsjson") {
		t.Errorf("got %q: a closed connection is not a JSON error", err)
	}
}

func TestRoundTripCompressed(t *testing.T) {
	server, client := pair(t,
		&websocket.UpgradeOptions{Compression: &websocket.CompressionOptions{}},
		&websocket.DialOptions{Compression: &websocket.CompressionOptions{}})
	ctx := context.Background()
	want := map[string][]string{"lines": {strings.Repeat("chat ", 100), "", "é"}}
	for range 3 {
		if err := wsjson.Write(ctx, server, want); err != nil {
			t.Fatal(err)
		}
		var got map[string][]string
		if err := wsjson.Read(ctx, client, &got); err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if !bytes.Equal(g, w) {
			t.Fatalf("got %s, want %s", g, w)
		}
	}
}
