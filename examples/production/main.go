// Command production is an echo server wired the way a WebSocket service
// runs in production:
//
//   - the suggested timeouts: a heartbeat that closes connections to dead
//     clients, a write timeout, a handshake timeout and the http.Server's
//     ReadHeaderTimeout;
//   - a cap on open connections, past which clients get 503 with
//     Retry-After;
//   - metrics, as JSON on /metrics and through expvar on /debug/vars;
//   - a graceful shutdown on SIGINT or SIGTERM: new connections are refused,
//     every open one is sent 1001 (going away), and the close handshakes
//     are given a bounded time before the rest are cut.
//
// Run it with
//
//	go run ./examples/production -addr 127.0.0.1:8080 -max-conns 1000
package main

import (
	"context"
	"errors"
	"expvar"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/conntrack"
)

// config holds the settings of run.
type config struct {
	maxConns     int           // 0 for no cap
	pingInterval time.Duration // 0 for the suggested heartbeat
	grace        time.Duration // how long shutdown waits for close handshakes
	log          io.Writer
}

func main() {
	var cfg config
	addr := flag.String("addr", "127.0.0.1:8080", "`host:port` to listen on")
	flag.IntVar(&cfg.maxConns, "max-conns", 10000, "the most connections open at once (0: no cap)")
	flag.DurationVar(&cfg.pingInterval, "ping", 0, "heartbeat interval (default: the suggested 25s)")
	flag.DurationVar(&cfg.grace, "grace", 10*time.Second, "how long shutdown waits for the close handshakes")
	flag.Parse()
	cfg.log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := run(ctx, ln, cfg); err != nil {
		log.Fatal(err)
	}
}

// run serves on ln until ctx ends, then shuts down gracefully.
func run(ctx context.Context, ln net.Listener, cfg config) error {
	opts := &websocket.UpgradeOptions{
		HandshakeTimeout: 10 * time.Second,
		PingInterval:     25 * time.Second, // under the 30-60 s after which proxies drop a silent connection
		PongTimeout:      15 * time.Second,
		WriteTimeout:     30 * time.Second,
	}
	if cfg.pingInterval > 0 {
		opts.PingInterval, opts.PongTimeout = cfg.pingInterval, cfg.pingInterval
	}
	ws := &conntrack.Tracker{MaxConns: cfg.maxConns}
	publishOnce(ws)

	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Upgrade(w, r, opts)
		if err != nil {
			return // Upgrade has answered: 4xx for a bad request, 503 over the cap
		}
		echo(c)
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, expvar.Func(func() any { return ws.Metrics() }).String())
	})
	mux.Handle("/debug/vars", expvar.Handler())

	srv := &http.Server{
		Handler: mux,
		// Upgrade bounds the 101 response; the request is net/http's to bound.
		ReadHeaderTimeout: opts.HandshakeTimeout,
		ErrorLog:          log.New(cfg.log, "http: ", log.LstdFlags),
	}
	// http.Server.Shutdown does not see the connections Upgrade took over,
	// so it starts the WebSocket shutdown too; it does not wait for it.
	srv.RegisterOnShutdown(func() { ws.Shutdown(context.Background()) })

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(cfg.log, "serving ws://%s/ws, metrics on http://%[1]s/metrics\n", ln.Addr())
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}

	sctx, cancel := context.WithTimeout(context.Background(), cfg.grace)
	defer cancel()
	herr := srv.Shutdown(sctx)
	werr := ws.Shutdown(sctx) // waits for the close handshakes, then cuts the rest
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	m := ws.Metrics()
	fmt.Fprintf(cfg.log, "shut down: %d connections served, %d messages in, %d out, %d pong timeouts\n",
		m.ConnsTotal, m.MessagesIn, m.MessagesOut, m.PongTimeouts)
	return errors.Join(herr, werr)
}

// echo sends every message back until the connection ends. The heartbeat
// ends it if the client dies, and the write timeout if it stops reading.
func echo(c *websocket.Conn) {
	defer c.CloseNow()
	ctx := context.Background()
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

// publishOnce publishes the first Tracker's metrics as the expvar
// "websocket"; expvar names are global to the process.
func publishOnce(ws *conntrack.Tracker) {
	publish.Do(func() { expvar.Publish("websocket", expvar.Func(func() any { return ws.Metrics() })) })
}

var publish sync.Once
