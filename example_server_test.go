package websocket_test

import (
	"context"
	"expvar"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/wsforge/websocket"
)

// A Server wired into an http.Server: the suggested timeouts and heartbeat,
// a cap on connections, and a graceful shutdown that http.Server.Shutdown
// starts and a second call waits for.
func ExampleServer() {
	ws := &websocket.Server{MaxConns: 10000}
	opts := websocket.SuggestedServer()
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
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), websocket.SuggestedClient())
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

func ExampleSuggestedServer() {
	opts := websocket.SuggestedServer()
	opts.Subprotocols = []string{"chat.v1"} // set the rest as usual
	fmt.Println("handshake:", opts.HandshakeTimeout)
	fmt.Println("ping every", opts.PingInterval, "pong within", opts.PongTimeout)
	fmt.Println("write:", opts.WriteTimeout)
	// Output:
	// handshake: 10s
	// ping every 25s pong within 15s
	// write: 30s
}

// The metrics as JSON on the /debug/vars page that package expvar serves.
// The websocket package publishes nothing itself: an application that
// wants the page imports expvar and publishes the metrics, once, under a
// name of its choice.
func ExampleServer_Metrics() {
	srv := &websocket.Server{}
	expvar.Publish("websocket", expvar.Func(func() any { return srv.Metrics() }))

	// A request that is not a WebSocket handshake is refused and counted.
	srv.Upgrade(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), nil)
	fmt.Println(expvar.Get("websocket"))
	// Output:
	// {"ConnsTotal":0,"ConnsActive":0,"HandshakeFailures":{"bad_request":1},"MessagesIn":0,"MessagesOut":0,"BytesIn":0,"BytesOut":0,"ReadErrors":0,"WriteErrors":0,"PongTimeouts":0,"CloseSent":{},"CloseReceived":{}}
}

// logHook logs a Server's events.
type logHook struct{}

func (logHook) ConnOpened() { fmt.Println("opened") }
func (logHook) ConnClosed(s websocket.ConnStats) {
	fmt.Println("closed: sent", s.CloseSent, "after", s.MessagesIn, "messages in")
}
func (logHook) HandshakeFailed(f websocket.HandshakeFailure) { fmt.Println("refused:", f) }

func ExampleMetricsHook() {
	ws := &websocket.Server{Hook: logHook{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c.Read(context.Background(), nil)
		c.Close(websocket.StatusNormalClosure, "that will do")
	}))
	defer srv.Close()

	http.Get(srv.URL) // not a handshake
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		log.Fatal(err)
	}
	c.Write(ctx, websocket.MessageText, []byte("hi"))
	c.Read(ctx, nil) // the server's close
	ws.Shutdown(ctx) // returns once the server has closed the connection
	// Output:
	// refused: bad_request
	// opened
	// closed: sent 1000 (normal closure) after 1 messages in
}
