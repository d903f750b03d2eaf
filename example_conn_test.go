package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/websockettest"
)

// pair returns two connected Conns for the examples, with a real handshake
// over loopback TCP.
func pair(so *websocket.UpgradeOptions, co *websocket.DialOptions) (server, client *websocket.Conn) {
	server, client, err := websockettest.Pair(so, co)
	if err != nil {
		log.Fatal(err)
	}
	return server, client
}

func ExampleConn_Ping() {
	server, client := pair(nil, nil)
	defer server.CloseNow()
	defer client.CloseNow()
	ctx := context.Background()
	go server.Read(ctx, nil) // the server's reader answers the ping
	go client.Read(ctx, nil) // the client's reader receives the pong
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	fmt.Println(client.Ping(ctx))
	// Output: <nil>
}

func ExampleConn_CloseNow() {
	server, client := pair(nil, nil)
	defer server.CloseNow()
	client.CloseNow() // no closing handshake: the server sees the connection end
	_, _, err := server.Read(context.Background(), nil)
	fmt.Println(websocket.CloseStatus(err))
	// Output: 1006 (abnormal closure)
}

func ExampleConn_SetReadLimit() {
	server, client := pair(nil, nil)
	defer server.CloseNow()
	defer client.CloseNow()
	ctx := context.Background()
	server.SetReadLimit(4)
	go client.Write(ctx, websocket.MessageText, []byte("too long"))
	go client.Read(ctx, nil) // answers the server's close frame (1009)
	_, _, err := server.Read(ctx, nil)
	fmt.Println(errors.Is(err, websocket.ErrMessageTooBig))
	// Output: true
}

func ExampleConn_SetCompression() {
	deflate := &websocket.CompressionOptions{}
	server, client := pair(&websocket.UpgradeOptions{Compression: deflate}, &websocket.DialOptions{Compression: deflate})
	defer server.CloseNow()
	defer client.CloseNow()
	// Already compressed data (an image, say) gains nothing from deflate.
	client.SetCompression(false)
	ctx := context.Background()
	client.Write(ctx, websocket.MessageBinary, make([]byte, 1000))
	client.SetCompression(true)
	_, msg, err := server.Read(ctx, nil)
	fmt.Println(len(msg), err, server.Stats().BytesIn)
	// Output: 1000 <nil> 1000
}

func ExampleConn_Subprotocol() {
	server, client := pair(
		&websocket.UpgradeOptions{Subprotocols: []string{"chat.v2", "chat.v1"}},
		&websocket.DialOptions{Subprotocols: []string{"chat.v1", "chat.v2"}},
	)
	defer server.CloseNow()
	defer client.CloseNow()
	// The server's preference wins.
	fmt.Println(server.Subprotocol(), client.Subprotocol())
	// Output: chat.v2 chat.v2
}

func ExampleConn_Stats() {
	server, client := pair(nil, nil)
	defer server.CloseNow()
	defer client.CloseNow()
	ctx := context.Background()
	client.Write(ctx, websocket.MessageText, []byte("hello"))
	server.Read(ctx, nil)
	s := server.Stats()
	fmt.Println(s.MessagesIn, s.BytesIn)
	// Output: 1 5
}

func ExampleConn_Context() {
	server, client := pair(nil, nil)
	defer server.CloseNow()
	// Learn of the close without a goroutine of one's own.
	closed := make(chan struct{})
	context.AfterFunc(client.Context(), func() { close(closed) })
	client.CloseNow()
	<-closed
	fmt.Println(client.Context().Err())
	// Output: context canceled
}

func ExampleCloseError() {
	server, client := pair(nil, nil)
	defer server.CloseNow()
	defer client.CloseNow()
	go client.Close(4000, "done for today")
	_, _, err := server.Read(context.Background(), nil)
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		fmt.Println(ce.Code, ce.Reason)
	}
	// Output: 4000 done for today
}

func ExampleHandshakeError() {
	srv := websockettest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "log in first", http.StatusUnauthorized)
	}))
	defer srv.Close()
	_, resp, err := websocket.Dial(context.Background(), srv.URL, nil)
	var he *websocket.HandshakeError
	if errors.As(err, &he) {
		fmt.Println(resp.StatusCode, errors.Is(err, websocket.ErrBadHandshake))
	}
	// Output: 401 true
}

func ExampleUpgradeOptions() {
	// Options for a server facing the Internet: a heartbeat under the
	// 30-60 s after which proxies drop a silent connection, bounded
	// writes and handshake, and browsers from one other origin.
	opts := &websocket.UpgradeOptions{
		OriginPatterns:   []string{"app.example.com"},
		HandshakeTimeout: 10 * time.Second,
		PingInterval:     25 * time.Second,
		PongTimeout:      15 * time.Second,
		WriteTimeout:     30 * time.Second,
	}
	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, opts)
		if err != nil {
			return
		}
		defer c.CloseNow()
		// ...
	})
}

func ExampleCompressionOptions() {
	// Compress, but keep no per-connection compressor between messages:
	// a server with many connections saves memory this way.
	deflate := &websocket.CompressionOptions{ServerNoContextTakeover: true}
	server, client := pair(&websocket.UpgradeOptions{Compression: deflate}, &websocket.DialOptions{Compression: &websocket.CompressionOptions{}})
	defer server.CloseNow()
	defer client.CloseNow()
	ctx := context.Background()
	msg := []byte(`{"event":"tick","price":42.5,"symbol":"WSF"} {"event":"tick","price":42.5,"symbol":"WSF"} {"event":"tick","price":42.5,"symbol":"WSF"}`)
	server.Write(ctx, websocket.MessageText, msg)
	_, got, err := client.Read(ctx, nil)
	fmt.Println(len(got), err, client.Stats().BytesIn < uint64(len(msg)))
	// Output: 134 <nil> true
}

func ExampleConn_WritePrepared() {
	server, client := pair(nil, nil)
	defer server.CloseNow()
	defer client.CloseNow()
	// Encoded once, written to as many connections as need it.
	pm, err := websocket.NewPreparedMessage(websocket.MessageText, []byte("tick"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	server.WritePrepared(ctx, pm)
	_, msg, err := client.Read(ctx, nil)
	fmt.Println(string(msg), err)
	// Output: tick <nil>
}

func ExampleConn_RemoteAddr() {
	server, client := pair(nil, nil)
	defer server.CloseNow()
	defer client.CloseNow()
	// Each end sees the other's address.
	fmt.Println(server.RemoteAddr().String() == client.LocalAddr().String())
	// Output: true
}

// The lean way to serve many connections: upgrade, hand the Conn to a
// goroutine of its own and return from the handler, so that net/http's
// per-request state is released. The request's context ends when the
// handler returns, so the goroutine uses a context that outlives it.
func ExampleUpgrade_detached() {
	serve := func(ctx context.Context, c *websocket.Conn) {
		defer c.CloseNow()
		var buf []byte
		for {
			typ, msg, err := c.Read(ctx, buf[:0])
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				return
			}
			buf = msg
		}
	}
	ctx, stop := context.WithCancel(context.Background()) // the server's lifetime
	defer stop()
	srv := websockettest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		go serve(ctx, c) // not r.Context(): it ends when this handler returns
	}))
	defer srv.Close()

	c, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte("still here"))
	_, msg, err := c.Read(ctx, nil)
	fmt.Println(string(msg), err)
	// Output: still here <nil>
}
