package wsjson_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/websockettest"
	"github.com/wsforge/websocket/wsjson"
)

// One JSON value per message, each way: the server swaps the coordinates
// of each point it reads and writes the point back.
func ExampleRead() {
	type point struct{ X, Y int }
	srv := websockettest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		var p point
		for wsjson.Read(r.Context(), c, &p) == nil {
			p.X, p.Y = p.Y, p.X
			if wsjson.Write(r.Context(), c, p) != nil {
				return
			}
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()

	if err := wsjson.Write(ctx, c, point{X: 1, Y: 2}); err != nil {
		log.Fatal(err)
	}
	var p point
	if err := wsjson.Read(ctx, c, &p); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", p)
	c.Close(websocket.StatusNormalClosure, "")
	// Output: {X:2 Y:1}
}

// Write sends the encoding as one text message, with no newline after
// it; a value that cannot be encoded sends nothing.
func ExampleWrite() {
	received := make(chan string, 1)
	srv := websockettest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	c, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()

	if err := wsjson.Write(ctx, c, map[string]any{"op": "join", "room": "go"}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-received)
	fmt.Println(wsjson.Write(ctx, c, func() {}))
	c.Close(websocket.StatusNormalClosure, "")
	// Output:
	// text "{\"op\":\"join\",\"room\":\"go\"}"
	// wsjson: write: json: unsupported type: func()
}
