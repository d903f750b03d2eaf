package sendqueue_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/sendqueue"
	"github.com/wsforge/websocket/websockettest"
)

// hub is the set of connected clients' send queues.
type hub struct {
	mu     sync.Mutex
	queues map[*sendqueue.Queue]bool
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
	q := sendqueue.New(c, &sendqueue.Options{
		MaxMessages: 64,
		Overflow:    sendqueue.OverflowClose,
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
	h.mu.Lock()
	queues := make([]*sendqueue.Queue, 0, len(h.queues))
	for q := range h.queues {
		queues = append(queues, q)
	}
	h.mu.Unlock()
	_, err := sendqueue.Broadcast(ctx, websocket.MessageText, []byte(text), queues...)
	return err
}

// A chat-style hub: each connection gets a bounded send queue, and a
// message for everyone is encoded once and queued on all of them.
func ExampleBroadcast() {
	h := &hub{queues: make(map[*sendqueue.Queue]bool), joined: make(chan struct{})}
	srv := websockettest.NewServer(h)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var clients []*websocket.Conn
	for range 3 {
		c, _, err := websocket.Dial(ctx, srv.URL, nil)
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
func ExampleNew() {
	srv := websockettest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		q := sendqueue.New(c, &sendqueue.Options{
			MaxMessages: 100,
			MaxBytes:    1 << 20,
			Overflow:    sendqueue.OverflowDropNewest,
		})
		for i := range 3 {
			err := q.Send(r.Context(), websocket.MessageText, fmt.Appendf(nil, "update %d", i))
			if errors.Is(err, sendqueue.ErrFull) {
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
	c, _, err := websocket.Dial(ctx, srv.URL, nil)
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

// With OverflowDropNewest, a message that does not fit is dropped and Send
// says so with ErrFull. Here the queue holds one message, and the client
// reads only after both have been sent.
func ExampleQueue_Send() {
	server, client, err := websockettest.Pipe(nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer server.CloseNow()
	defer client.CloseNow()
	q := sendqueue.New(server, &sendqueue.Options{MaxMessages: 1, Overflow: sendqueue.OverflowDropNewest})
	ctx := context.Background()
	for i := range 2 {
		err := q.Send(ctx, websocket.MessageText, fmt.Appendf(nil, "tick %d", i))
		fmt.Printf("tick %d: %v\n", i, err)
	}
	_, msg, err := client.Read(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("client: %s\n", msg)
	fmt.Println("Close:", q.Close(ctx))
	// Output:
	// tick 0: <nil>
	// tick 1: sendqueue: queue full
	// client: tick 0
	// Close: <nil>
}

// Close reports whether everything accepted was written. A peer that
// reads nothing cannot take the message, so Close gives up when its
// context ends, closes the connection (a message was cut off mid-write)
// and says why.
func ExampleQueue_Close() {
	server, client, err := websockettest.Pipe(nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer server.CloseNow()
	defer client.CloseNow()
	q := sendqueue.New(server, nil)
	if err := q.Send(context.Background(), websocket.MessageText, []byte("never read")); err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	fmt.Println("Close:", q.Close(ctx))
	fmt.Println("connection closed:", server.Context().Err() != nil)
	// Output:
	// Close: context deadline exceeded
	// connection closed: true
}

// OverflowClose disconnects a peer too slow to keep. Here the client reads
// nothing, so the first message cannot go out and the second does not fit:
// the queue ends, and the connection is closed without waiting longer than
// CloseTimeout for the stuck message.
func ExampleOverflow() {
	server, client, err := websockettest.Pipe(nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer server.CloseNow()
	defer client.CloseNow()
	q := sendqueue.New(server, &sendqueue.Options{
		MaxMessages:  1,
		Overflow:     sendqueue.OverflowClose,
		CloseCode:    websocket.StatusTryAgainLater,
		CloseTimeout: 50 * time.Millisecond,
	})
	ctx := context.Background()
	q.Send(ctx, websocket.MessageText, []byte("first"))
	err = q.Send(ctx, websocket.MessageText, []byte("second"))
	fmt.Println("second:", errors.Is(err, sendqueue.ErrFull), errors.Is(err, net.ErrClosed))
	err = q.Close(ctx)
	fmt.Println("Close:", errors.Is(err, sendqueue.ErrFull))
	fmt.Println("connection closed:", server.Context().Err() != nil)
	// Output:
	// second: true true
	// Close: true
	// connection closed: true
}
