// Command resume streams numbered events over WebSocket to clients that
// survive disconnections without losing or repeating an event: each time a
// client (re)connects it sends the number of the last event it has seen,
// and the server carries on from the next one.
//
//	go run ./examples/resume -serve 127.0.0.1:8080
//	go run ./examples/resume -connect ws://127.0.0.1:8080/
//
// Stop the server and start it again while the client runs: the client
// waits with growing, jittered delays, reconnects, and goes on where it
// left off. (The server keeps its events in memory, so across a restart it
// numbers them afresh; a real service would keep them in a log or
// database, and the protocol is the same.)
//
// The protocol: the client's first message is "from N", N being the last
// event number it has seen (0 for none); the server then sends events
// N+1, N+2, ... as text messages "number payload", one message each.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/redial"
)

func main() {
	serve := flag.String("serve", "", "serve the stream on `host:port`, adding an event every 100 ms")
	connect := flag.String("connect", "", "follow the stream at `url`, printing each event")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch {
	case *serve != "":
		events := newEventLog()
		go func() {
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for now := range t.C {
				events.append(now.Format(time.RFC3339Nano))
			}
		}()
		srv := &http.Server{Addr: *serve, Handler: &streamServer{events: events}}
		go func() {
			<-ctx.Done()
			srv.Close()
		}()
		log.Printf("serving on ws://%s/", *serve)
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	case *connect != "":
		c := &client{URL: *connect, OnEvent: func(n int64, payload string) {
			fmt.Println(n, payload)
		}}
		c.Run(ctx) // until interrupted
	default:
		flag.Usage()
		os.Exit(2)
	}
}

// eventLog is an append-only, in-memory list of events numbered from 1.
type eventLog struct {
	mu      sync.Mutex
	events  []string      // event n is events[n-1]
	changed chan struct{} // closed and replaced on each append
}

func newEventLog() *eventLog {
	return &eventLog{changed: make(chan struct{})}
}

// append adds an event and returns its number.
func (l *eventLog) append(payload string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, payload)
	close(l.changed)
	l.changed = make(chan struct{})
	return int64(len(l.events))
}

// after returns the events numbered from n+1 on, waiting for one if there
// is none yet, until ctx ends. The slice must not be modified.
func (l *eventLog) after(ctx context.Context, n int64) ([]string, error) {
	for {
		l.mu.Lock()
		events, changed := l.events, l.changed
		l.mu.Unlock()
		if n < int64(len(events)) {
			return events[n:], nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// streamServer serves the events of a log to each client from where it
// asks.
type streamServer struct {
	events *eventLog
}

func (s *streamServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	_, msg, err := c.Read(ctx, nil)
	from, ok := strings.CutPrefix(string(msg), "from ")
	last, perr := strconv.ParseInt(from, 10, 64)
	if err != nil || !ok || perr != nil || last < 0 {
		c.Close(websocket.StatusPolicyViolation, `expected "from N"`)
		return
	}
	// Keep reading, so that pings are answered and the client's close is
	// noticed; it sends nothing else.
	go func() {
		defer cancel()
		for {
			if _, _, err := c.Read(ctx, nil); err != nil {
				return
			}
		}
	}()
	var buf []byte
	for {
		events, err := s.events.after(ctx, last)
		if err != nil {
			c.Close(websocket.StatusGoingAway, "")
			return
		}
		for _, e := range events {
			last++
			buf = strconv.AppendInt(buf[:0], last, 10)
			buf = append(append(buf, ' '), e...)
			if err := c.Write(ctx, websocket.MessageText, buf); err != nil {
				return
			}
		}
	}
}

// client follows the stream at URL, reconnecting whenever the connection
// is lost and resuming after the last event it passed on, so that OnEvent
// sees every event exactly once, in order.
type client struct {
	URL     string
	OnEvent func(n int64, payload string) // called on Run's goroutine
	Backoff redial.Backoff                // zero means the defaults

	last int64 // the last event passed to OnEvent
}

// errOutOfOrder reports an event that is not the one after the last seen.
var errOutOfOrder = errors.New("event out of order")

// Run follows the stream until ctx ends.
func (cl *client) Run(ctx context.Context) error {
	d := &redial.Dialer{
		URL:     cl.URL,
		Backoff: cl.Backoff,
		OnDisconnect: func(err error, wait time.Duration) {
			log.Printf("disconnected after event %d (%v); reconnecting in %v", cl.last, err, wait.Round(time.Millisecond))
		},
	}
	return d.Run(ctx, cl.follow)
}

// follow resumes the stream on a new connection and passes events on
// until the connection ends.
func (cl *client) follow(ctx context.Context, c *websocket.Conn) error {
	if err := c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, "from %d", cl.last)); err != nil {
		return err
	}
	var buf []byte
	for {
		_, msg, err := c.Read(ctx, buf[:0])
		if err != nil {
			return err
		}
		buf = msg
		num, payload, _ := strings.Cut(string(msg), " ")
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n != cl.last+1 {
			// A gap or a repeat: the server broke the protocol. Start
			// again from what was really seen.
			c.Close(websocket.StatusProtocolError, "")
			return fmt.Errorf("%w: got %q after %d", errOutOfOrder, num, cl.last)
		}
		cl.last = n
		cl.OnEvent(n, payload)
	}
}
