package conntrack_test

import (
	"context"
	"encoding/json"
	"expvar"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/conntrack"
	"github.com/wsforge/websocket/websockettest"
)

// An echo handler whose connections a Tracker follows.
func ExampleTracker() {
	var t conntrack.Tracker // the zero Tracker is ready to use
	srv := websockettest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := t.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered the request
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(context.Background(), nil)
			if err != nil || c.Write(context.Background(), typ, msg) != nil {
				return
			}
		}
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte("hello"))
	_, msg, _ := c.Read(ctx, nil)
	fmt.Println(string(msg))
	fmt.Println("open:", t.Metrics().ConnsActive)
	c.Close(websocket.StatusNormalClosure, "")
	t.Shutdown(ctx) // waits until the Tracker has forgotten the connection
	m := t.Metrics()
	fmt.Println("open:", m.ConnsActive, "of", m.ConnsTotal)
	// Output:
	// hello
	// open: 1
	// open: 0 of 1
}

// Over the cap, Upgrade answers 503 with a Retry-After header, which Dial
// reports as a HandshakeError with the response.
func ExampleTracker_Upgrade() {
	t := &conntrack.Tracker{MaxConns: 1}
	srv := websockettest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := t.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c.Read(context.Background(), nil) // until the client closes
		c.CloseNow()
	}))
	defer srv.Close()

	ctx := context.Background()
	first, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	_, resp, err := websocket.Dial(ctx, srv.URL, nil)
	fmt.Println(err)
	fmt.Println("Retry-After:", resp.Header.Get("Retry-After"))
	first.Close(websocket.StatusNormalClosure, "")
	t.Shutdown(ctx)
	fmt.Println(t.Metrics().HandshakeFailures)
	// Output:
	// websocket: bad handshake: server did not switch protocols (HTTP status 503 Service Unavailable)
	// Retry-After: 5
	// map[over_capacity:1]
}

// A Tracker wired into an http.Server: the suggested timeouts and heartbeat,
// a cap on connections, and a graceful shutdown that http.Server.Shutdown
// starts and a second call waits for.
func ExampleTracker_Shutdown() {
	ws := &conntrack.Tracker{MaxConns: 10000}
	opts := &websocket.UpgradeOptions{
		HandshakeTimeout: 10 * time.Second,
		PingInterval:     25 * time.Second, // under the 30-60 s after which proxies drop a silent connection
		PongTimeout:      15 * time.Second,
		WriteTimeout:     30 * time.Second,
	}
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Upgrade(w, r, opts)
		if err != nil {
			return // Upgrade has answered; over the cap, with 503 and Retry-After
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(context.Background(), nil)
			if err != nil || c.Write(context.Background(), typ, msg) != nil {
				return
			}
		}
	}))
	hs.Config.ReadHeaderTimeout = opts.HandshakeTimeout
	// http.Server.Shutdown ignores the connections Upgrade took over.
	hs.Config.RegisterOnShutdown(func() { ws.Shutdown(context.Background()) })
	hs.Start()
	defer hs.Close()

	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), &websocket.DialOptions{
		PingInterval: 25 * time.Second,
		PongTimeout:  15 * time.Second,
		WriteTimeout: 30 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	c.Write(ctx, websocket.MessageText, []byte("hello"))
	_, msg, _ := c.Read(ctx, nil)
	fmt.Println(string(msg))
	ended := make(chan error)
	go func() {
		_, _, err := c.Read(ctx, nil)
		ended <- err
	}()

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	hs.Config.Shutdown(sctx) // starts ws.Shutdown, without waiting for it
	ws.Shutdown(sctx)        // sends 1001 and waits for the close handshakes
	fmt.Println("client:", websocket.CloseStatus(<-ended))
	m := ws.Metrics()
	fmt.Println("connections:", m.ConnsTotal, "active:", m.ConnsActive, "messages in:", m.MessagesIn)
	// Output:
	// hello
	// client: 1001 (going away)
	// connections: 1 active: 0 messages in: 1
}

// The metrics as JSON on the /debug/vars page that package expvar serves.
// Package conntrack publishes nothing itself: an application that wants
// the page imports expvar and publishes the metrics, once, under a name of
// its choice.
func ExampleTracker_Metrics() {
	t := &conntrack.Tracker{}
	expvar.Publish("websocket", expvar.Func(func() any { return t.Metrics() }))

	// A request that is not a WebSocket handshake is refused and counted.
	t.Upgrade(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), nil)
	fmt.Println(expvar.Get("websocket"))
	// Output:
	// {"ConnsTotal":0,"ConnsActive":0,"HandshakeFailures":{"bad_request":1},"MessagesIn":0,"MessagesOut":0,"BytesIn":0,"BytesOut":0,"ReadErrors":0,"WriteErrors":0,"PongTimeouts":0,"CloseSent":{},"CloseReceived":{}}
}

// Metrics served as JSON by a handler of the application's own, and read
// back by a client of it.
func ExampleMetrics() {
	t := &conntrack.Tracker{}
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(t.Metrics())
	})
	t.Shutdown(context.Background())
	t.Upgrade(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), nil)

	w := httptest.NewRecorder()
	metrics.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	var m conntrack.Metrics
	if err := json.NewDecoder(w.Body).Decode(&m); err != nil {
		log.Fatal(err)
	}
	fmt.Println("refused while shutting down:", m.HandshakeFailures[conntrack.FailureShuttingDown])
	// Output:
	// refused while shutting down: 1
}

// Each refused or failed upgrade is counted under the Failure that names
// why, here as Upgrade answers requests that are not acceptable handshakes.
func ExampleFailure() {
	t := &conntrack.Tracker{}
	for _, h := range []http.Header{
		{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}, "Sec-Websocket-Version": {"8"}},
		{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}, "Sec-Websocket-Version": {"13"},
			"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}, "Origin": {"https://elsewhere.example"}},
		{"Connection": {"Upgrade"}},
	} {
		r := httptest.NewRequest(http.MethodGet, "http://example.com/ws", nil)
		r.Header = h
		w := httptest.NewRecorder()
		t.Upgrade(w, r, nil)
		fmt.Println("answered", w.Code)
	}
	for _, f := range []conntrack.Failure{conntrack.FailureBadVersion, conntrack.FailureForbiddenOrigin, conntrack.FailureBadRequest} {
		fmt.Println(f, t.Metrics().HandshakeFailures[f])
	}
	// Output:
	// answered 426
	// answered 403
	// answered 426
	// version 1
	// forbidden_origin 1
	// bad_request 1
}

// hookPrinter prints a Tracker's events.
type hookPrinter struct{}

func (hookPrinter) ConnOpened() { fmt.Println("opened") }
func (hookPrinter) ConnClosed(s websocket.ConnStats) {
	fmt.Println("closed: sent", s.CloseSent, "after", s.MessagesIn, "messages in")
}
func (hookPrinter) HandshakeFailed(f conntrack.Failure) { fmt.Println("refused:", f) }

func ExampleHook() {
	t := &conntrack.Tracker{Hook: hookPrinter{}}
	srv := websockettest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := t.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c.Read(context.Background(), nil)
		c.Close(websocket.StatusNormalClosure, "that will do")
	}))
	defer srv.Close()

	resp, err := http.Get("http" + strings.TrimPrefix(srv.URL, "ws")) // not a handshake
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	c.Write(ctx, websocket.MessageText, []byte("hi"))
	c.Read(ctx, nil) // the server's close
	t.Shutdown(ctx)  // returns once the Tracker has forgotten the connection
	// Output:
	// refused: bad_request
	// opened
	// closed: sent 1000 (normal closure) after 1 messages in
}
