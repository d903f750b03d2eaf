package redial_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"sync"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/redial"
	"github.com/wsforge/websocket/websockettest"
)

// A client that stays connected: after each disconnection it dials again
// with growing, jittered waits, and resumes from the last message it saw.
func ExampleDialer_Run() {
	var mu sync.Mutex
	next := 0 // the server's stream: message n is "event n"
	srv := websockettest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_, from, err := c.Read(r.Context(), nil)
		if err != nil {
			return
		}
		// Send two events from the one asked for, then drop the
		// connection as a flaky network would.
		mu.Lock()
		fmt.Sscan(string(from), &next)
		for range 2 {
			c.Write(r.Context(), websocket.MessageText, fmt.Appendf(nil, "event %d", next))
			next++
		}
		mu.Unlock()
	}))
	defer srv.Close()

	ctx, stop := context.WithCancel(context.Background())
	d := &redial.Dialer{
		URL:     srv.URL,
		Backoff: redial.Backoff{Initial: 10 * time.Millisecond, Max: time.Second},
	}
	seen := 0
	err := d.Run(ctx, func(ctx context.Context, c *websocket.Conn) error {
		// Connected: ask for the stream from the first event not yet seen.
		if err := c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, "%d", seen)); err != nil {
			return err
		}
		for {
			_, msg, err := c.Read(ctx, nil)
			if err != nil {
				return err // Run dials again after a wait
			}
			fmt.Println(string(msg))
			if seen++; seen == 5 {
				stop() // Run returns once serve has
				return nil
			}
		}
	})
	fmt.Println(err)
	// Output:
	// event 0
	// event 1
	// event 2
	// event 3
	// event 4
	// context canceled
}

// A fleet of clients that should not all come back at once after a server
// restart: waits start near a second and grow to at most a minute, and
// only a connection that lasted five minutes starts them again from the
// beginning. OnDisconnect logs each loss.
func ExampleBackoff() {
	d := &redial.Dialer{
		URL: "wss://example.com/feed",
		Backoff: redial.Backoff{
			Initial:    time.Second,
			Factor:     2,
			Max:        time.Minute,
			ResetAfter: 5 * time.Minute,
		},
		OnDisconnect: func(err error, wait time.Duration) {
			log.Printf("feed: disconnected (%v); next attempt in %v", err, wait.Round(time.Millisecond))
		},
	}
	err := d.Run(context.Background(), func(ctx context.Context, c *websocket.Conn) error {
		for {
			_, msg, err := c.Read(ctx, nil)
			if err != nil {
				return err
			}
			fmt.Printf("%s\n", msg)
		}
	})
	log.Print(err)
}
