package websockettest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/websockettest"
)

func TestPairs(t *testing.T) {
	ctx := context.Background()
	pairs := []struct {
		name string
		make func(*websocket.UpgradeOptions, *websocket.DialOptions) (*websocket.Conn, *websocket.Conn, error)
	}{
		{"Pair", websockettest.Pair},
		{"Pipe", websockettest.Pipe},
	}
	for _, p := range pairs {
		for _, compress := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/compress=%v", p.name, compress), func(t *testing.T) {
				so := &websocket.UpgradeOptions{Subprotocols: []string{"chat"}}
				co := &websocket.DialOptions{Subprotocols: []string{"chat"}}
				if compress {
					so.Compression = &websocket.CompressionOptions{Threshold: -1}
					co.Compression = &websocket.CompressionOptions{Threshold: -1}
				}
				server, client, err := p.make(so, co)
				if err != nil {
					t.Fatal(err)
				}
				defer server.CloseNow()
				defer client.CloseNow()
				if server.Subprotocol() != "chat" || client.Subprotocol() != "chat" {
					t.Errorf("subprotocols %q and %q, want chat", server.Subprotocol(), client.Subprotocol())
				}
				msg := []byte("hello, hello, hello")
				errc := make(chan error, 1)
				go func() { errc <- client.Write(ctx, websocket.MessageText, msg) }()
				typ, got, err := server.Read(ctx, nil)
				if err != nil || typ != websocket.MessageText || string(got) != string(msg) {
					t.Fatalf("got %v %q %v, want text %q", typ, got, err, msg)
				}
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
				// A closing handshake completes in both directions.
				go func() { _, _, err := server.Read(ctx, nil); errc <- err }()
				if err := client.Close(websocket.StatusNormalClosure, "bye"); err != nil {
					t.Errorf("Close: %v", err)
				}
				if err := <-errc; websocket.CloseStatus(err) != websocket.StatusNormalClosure {
					t.Errorf("server read: got %v, want the close", err)
				}
				<-server.Context().Done()
				if !errors.Is(context.Cause(server.Context()), net.ErrClosed) {
					t.Errorf("cause %v, want net.ErrClosed", context.Cause(server.Context()))
				}
			})
		}
	}
}

func TestPairRefused(t *testing.T) {
	_, _, err := websockettest.Pair(&websocket.UpgradeOptions{ReadLimit: -1}, nil)
	var he *websocket.HandshakeError
	if !errors.As(err, &he) || he.Response.StatusCode != http.StatusInternalServerError {
		t.Errorf("got %v, want the server's refusal", err)
	}
}

func ExampleNewServer() {
	srv := websockettest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		typ, msg, err := c.Read(r.Context(), nil)
		if err == nil {
			c.Write(r.Context(), typ, msg)
			c.Read(r.Context(), nil) // until the client closes
		}
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.Write(ctx, websocket.MessageText, []byte("echo me"))
	_, msg, err := c.Read(ctx, nil)
	fmt.Println(string(msg), err)
	c.Close(websocket.StatusNormalClosure, "")
	// Output: echo me <nil>
}

func ExamplePair() {
	server, client, err := websockettest.Pair(nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer server.CloseNow()
	defer client.CloseNow()
	ctx := context.Background()
	client.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3})
	_, msg, err := server.Read(ctx, nil)
	fmt.Println(msg, err)
	// Output: [1 2 3] <nil>
}

func ExamplePipe() {
	server, client, err := websockettest.Pipe(nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer server.CloseNow()
	defer client.CloseNow()
	ctx := context.Background()
	go client.Write(ctx, websocket.MessageText, []byte("in memory"))
	_, msg, err := server.Read(ctx, nil)
	fmt.Println(string(msg), err)
	// Output: in memory <nil>
}
