// Command echo serves a WebSocket echo endpoint: every message a client
// sends comes back with the same type and bytes.
//
//	go run ./examples/echo -addr 127.0.0.1:8080
//
// On SIGINT or SIGTERM it stops accepting connections, sends a 1001 (going
// away) close frame to every open one, waits a bounded time for the close
// handshakes to finish, and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wsforge/websocket"
)

// readLimit is the largest message the server echoes.
const readLimit = 16 << 20

// maxKeptBuffer is the largest read buffer a connection keeps between
// messages. A connection that received a bigger message allocates afresh
// for the next one, so that an idle connection never pins 16 MiB.
const maxKeptBuffer = 64 << 10

func main() {
	var cfg config
	var origins string
	addr := flag.String("addr", "127.0.0.1:8080", "`host:port` to listen on")
	flag.StringVar(&origins, "origins", "",
		"comma-separated origin `patterns` allowed besides the server's own host,\n"+
			"for example \"localhost:3000,*.example.com\" (default: same host only)")
	flag.BoolVar(&cfg.compress, "compress", true,
		"accept the permessage-deflate extension when a client offers it\n"+
			"(without context takeover on the server's side, so compressors are shared)")
	flag.DurationVar(&cfg.idleTimeout, "idle", 2*time.Minute,
		"close a connection that sends no whole message for this long")
	flag.DurationVar(&cfg.writeTimeout, "write-timeout", time.Minute,
		"give up on a client that does not take an echoed message within this time")
	flag.DurationVar(&cfg.closeTimeout, "close-timeout", websocket.DefaultCloseTimeout,
		"how long a close handshake may take")
	grace := flag.Duration("grace", 10*time.Second,
		"how long shutdown waits for open connections to finish their close handshakes")
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	for p := range strings.SplitSeq(origins, ",") {
		if p = strings.TrimSpace(p); p != "" {
			cfg.originPatterns = append(cfg.originPatterns, p)
		}
	}
	cfg.logger = log.Default()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := run(ctx, ln, cfg, *grace, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves the echo endpoint on ln until ctx ends, then shuts down,
// waiting at most grace for open connections to close.
func run(ctx context.Context, ln net.Listener, cfg config, grace time.Duration, out io.Writer) error {
	es := newEchoServer(cfg)
	srv := &http.Server{
		Handler: es,
		// These bound the HTTP part of a connection: the opening handshake
		// and plain requests. Upgrade clears them when it takes over the
		// connection; from then on the echo loop's own timeouts apply.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          cfg.logger,
	}
	fmt.Fprintf(out, "echo server listening on ws://%s/\n", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(out, "shutting down: closing open connections with 1001 (going away)")

	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	// Shutdown closes the listener and waits for plain HTTP requests, but it
	// does not see the connections Upgrade took over: es.Shutdown closes
	// those.
	herr := srv.Shutdown(sctx)
	werr := es.Shutdown(sctx)
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return errors.Join(herr, werr)
}

// config holds the echo server's settings.
type config struct {
	originPatterns []string      // see websocket.UpgradeOptions.OriginPatterns
	compress       bool          // accept permessage-deflate
	idleTimeout    time.Duration // longest wait for a whole message; 0 means none
	writeTimeout   time.Duration // longest write of one message; 0 means none
	closeTimeout   time.Duration // see websocket.UpgradeOptions.CloseTimeout
	logger         *log.Logger   // nil means no logging
}

// echoServer is an http.Handler that upgrades each request and echoes its
// messages. It keeps the set of open connections so that Shutdown can
// close them.
type echoServer struct {
	opts   websocket.UpgradeOptions
	cfg    config
	logger *log.Logger

	mu      sync.Mutex
	conns   map[*websocket.Conn]struct{}
	closing bool          // Shutdown has been called
	drained chan struct{} // closed once closing and conns is empty
}

func newEchoServer(cfg config) *echoServer {
	logger := cfg.logger
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	opts := websocket.UpgradeOptions{
		OriginPatterns: cfg.originPatterns,
		ReadLimit:      readLimit,
		CloseTimeout:   cfg.closeTimeout,
	}
	if cfg.compress {
		opts.Compression = &websocket.CompressionOptions{ServerNoContextTakeover: true}
	}
	return &echoServer{
		opts:    opts,
		cfg:     cfg,
		logger:  logger,
		conns:   make(map[*websocket.Conn]struct{}),
		drained: make(chan struct{}),
	}
}

func (s *echoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Upgrade(w, r, &s.opts)
	if err != nil {
		s.logger.Printf("%s: %v", r.RemoteAddr, err) // Upgrade has answered the request
		return
	}
	defer c.CloseNow()
	if !s.track(c) {
		c.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	defer s.untrack(c)

	err = s.echo(r.Context(), c)
	switch {
	case errors.Is(err, errIdle):
		// A Read cut off by its context leaves the Conn usable, so the
		// close can be a proper handshake.
		c.Close(websocket.StatusNormalClosure, "idle timeout")
		s.logger.Printf("%s: %v", r.RemoteAddr, err)
	case websocket.CloseStatus(err) == websocket.StatusNormalClosure,
		websocket.CloseStatus(err) == websocket.StatusGoingAway:
		// An orderly close, which the Conn has already answered.
	default:
		s.logger.Printf("%s: %v", r.RemoteAddr, err)
	}
}

// errIdle reports a client that sent no whole message within the idle
// timeout.
var errIdle = errors.New("no message within the idle timeout")

// echo sends every message back with its type until reading or writing
// fails, and returns that error.
func (s *echoServer) echo(ctx context.Context, c *websocket.Conn) error {
	var buf []byte
	for {
		rctx, cancel := withTimeout(ctx, s.cfg.idleTimeout)
		typ, msg, err := c.Read(rctx, buf[:0])
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return errIdle
		}
		if err != nil {
			return err
		}
		wctx, cancel := withTimeout(ctx, s.cfg.writeTimeout)
		err = c.Write(wctx, typ, msg)
		cancel()
		if err != nil {
			return fmt.Errorf("echo: %w", err)
		}
		buf = msg
		if cap(buf) > maxKeptBuffer {
			buf = nil
		}
	}
}

// withTimeout is context.WithTimeout, with 0 meaning no timeout.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// track adds c to the open connections, unless the server is shutting down.
func (s *echoServer) track(c *websocket.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *echoServer) untrack(c *websocket.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if s.closing && len(s.conns) == 0 {
		close(s.drained)
	}
}

// Shutdown sends a 1001 (going away) close frame to every open connection
// and waits until their handlers have returned, each close handshake being
// bounded by the close timeout. If ctx ends first, it closes the remaining
// connections at once and returns ctx's error. Connections upgraded after
// Shutdown are closed with 1001 straight away.
func (s *echoServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return errors.New("echo: Shutdown called twice")
	}
	s.closing = true
	conns := slices.Collect(maps.Keys(s.conns))
	if len(conns) == 0 {
		close(s.drained)
	}
	s.mu.Unlock()

	// Close performs the handshake while the handler keeps reading: the
	// handler's Read then returns the client's reply as a *CloseError.
	var closers sync.WaitGroup
	for _, c := range conns {
		closers.Go(func() { c.Close(websocket.StatusGoingAway, "server shutting down") })
	}
	defer closers.Wait()
	select {
	case <-s.drained:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		open := slices.Collect(maps.Keys(s.conns))
		s.mu.Unlock()
		for _, c := range open {
			c.CloseNow() // ends the handler's Read and the pending Close
		}
		return fmt.Errorf("echo: closed %d connections without a close handshake: %w", len(open), ctx.Err())
	}
}
