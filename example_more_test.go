package websocket_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/wsforge/websocket"
)

// Write sends one whole message; any number of goroutines may write at
// once, and each message arrives whole.
func ExampleConn_Write() {
	received := make(chan string, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(r.Context(), nil)
			if err != nil {
				return // the client closed
			}
			received <- fmt.Sprintf("%v %q", typ, msg)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()

	if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-received)
	if err := c.Write(ctx, websocket.MessageBinary, []byte{0x00, 0xff}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-received)
	c.Close(websocket.StatusNormalClosure, "")
	// Output:
	// text "hello"
	// binary "\x00\xff"
}

// A line-based protocol spoken over a WebSocket through net.Conn: the
// server sees a byte stream, whatever the client's message boundaries.
func ExampleNetConn() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		nc := websocket.NetConn(r.Context(), c, websocket.MessageBinary)
		defer nc.Close()
		lines := bufio.NewScanner(nc)
		for lines.Scan() {
			fmt.Fprintf(nc, "%d bytes\n", len(lines.Text()))
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		log.Fatal(err)
	}
	nc := websocket.NetConn(ctx, c, websocket.MessageBinary)
	defer nc.Close()

	// Three messages, two lines.
	for _, part := range []string{"hel", "lo\nwor", "ld!\n"} {
		if _, err := nc.Write([]byte(part)); err != nil {
			log.Fatal(err)
		}
	}
	replies := bufio.NewScanner(nc)
	for range 2 {
		replies.Scan()
		fmt.Println(replies.Text())
	}
	// Output:
	// 5 bytes
	// 6 bytes
}
