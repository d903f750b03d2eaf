package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/wsforge/websocket"
)

// hub is the set of connected clients' send queues.
type hub struct {
	mu     sync.Mutex
	queues map[*websocket.SendQueue]bool
	joined chan struct{} // for the example: a client has joined
}

func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	// A client that falls 64 messages behind is disconnected with 1008
	// rather than slowing the broadcast or piling up memory.
	q := websocket.NewSendQueue(c, &websocket.SendQueueOptions{
		MaxMessages: 64,
		Overflow:    websocket.OverflowClose,
	})
	h.mu.Lock()
	h.queues[q] = true
	h.mu.Unlock()
	h.joined <- struct{}{}
	defer func() {
		h.mu.Lock()
		delete(h.queues, q)
		h.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		q.Close(ctx) // flush for up to a second, then discard
	}()
	for {
		// Reading notices the client leaving, and answers its pings.
		if _, _, err := c.Read(r.Context(), nil); err != nil {
			return
		}
	}
}

// broadcast sends one message to every client: it is encoded once, and
// each queue holds a pointer to it.
func (h *hub) broadcast(ctx context.Context, text string) error {
	pm, err := websocket.NewPreparedMessage(websocket.MessageText, []byte(text))
	if err != nil {
		return err
	}
	h.mu.Lock()
	queues := make([]*websocket.SendQueue, 0, len(h.queues))
	for q := range h.queues {
		queues = append(queues, q)
	}
	h.mu.Unlock()
	_, err = websocket.Broadcast(ctx, pm, queues...)
	return err
}

// A chat-style hub: each connection gets a bounded send queue, and a
// message for everyone is encoded once and queued on all of them.
func ExampleBroadcast() {
	h := &hub{queues: make(map[*websocket.SendQueue]bool), joined: make(chan struct{})}
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var clients []*websocket.Conn
	for range 3 {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			log.Fatal(err)
		}
		defer c.CloseNow()
		<-h.joined
		clients = append(clients, c)
	}
	if err := h.broadcast(ctx, "hello, everyone"); err != nil {
		log.Fatal(err)
	}
	for i, c := range clients {
		_, msg, err := c.Read(ctx, nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("client %d: %s\n", i, msg)
		c.Close(websocket.StatusNormalClosure, "")
	}
	// Output:
	// client 0: hello, everyone
	// client 1: hello, everyone
	// client 2: hello, everyone
}

// Sending without waiting for the peer: Send returns once the message is
// queued, and the policy decides what happens when the peer falls behind.
func ExampleNewSendQueue() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		q := websocket.NewSendQueue(c, &websocket.SendQueueOptions{
			MaxMessages: 100,
			MaxBytes:    1 << 20,
			Overflow:    websocket.OverflowDropNewest,
		})
		for i := range 3 {
			err := q.Send(r.Context(), websocket.MessageText, fmt.Appendf(nil, "update %d", i))
			if errors.Is(err, websocket.ErrQueueFull) {
				continue // dropped: the client is behind; it will get the next one
			}
			if err != nil {
				return // the queue has ended: the connection is gone
			}
		}
		// Flush what is queued, for at most a second, then close.
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		q.Close(ctx)
		c.Close(websocket.StatusNormalClosure, "done")
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	for {
		_, msg, err := c.Read(ctx, nil)
		if err != nil {
			fmt.Println(websocket.CloseStatus(err))
			return
		}
		fmt.Println(string(msg))
	}
	// Output:
	// update 0
	// update 1
	// update 2
	// 1000 (normal closure)
}

// A client that stays connected: after each disconnection it dials again
// with growing, jittered waits, and resumes from the last message it saw.
func ExampleRedialer_Run() {
	var mu sync.Mutex
	next := 0 // the server's stream: message n is "event n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	r := &websocket.Redialer{
		URL:     "ws" + strings.TrimPrefix(srv.URL, "http"),
		Backoff: websocket.Backoff{Initial: 10 * time.Millisecond, Max: time.Second},
	}
	seen := 0
	err := r.Run(ctx, func(ctx context.Context, c *websocket.Conn) error {
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

// Encoding a message once and writing it to several connections: each
// server connection writes the same bytes, with no copy or encoding of its
// own.
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
