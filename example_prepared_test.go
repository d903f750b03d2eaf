package websocket_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/wsforge/websocket"
)

func ExampleNewPreparedMessage() {
	conns := make(chan *websocket.Conn, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		conns <- c
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var clients []*websocket.Conn
	for range 2 {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			log.Fatal(err)
		}
		defer c.CloseNow()
		clients = append(clients, c)
	}

	pm, err := websocket.NewPreparedMessage(websocket.MessageText, []byte(`{"price":42}`))
	if err != nil {
		log.Fatal(err)
	}
	for range 2 {
		c := <-conns
		defer c.CloseNow()
		if err := c.WritePrepared(ctx, pm); err != nil {
			log.Fatal(err)
		}
	}
	for _, c := range clients {
		_, msg, err := c.Read(ctx, nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(msg))
	}
	// Output:
	// {"price":42}
	// {"price":42}
}
