// Command chat serves a multi-room chat: a page at / whose JavaScript opens
// a WebSocket to the same server.
//
//	go run ./examples/chat
//
// It listens on 127.0.0.1:8080 unless told otherwise (-addr) and prints the
// URL to open. On SIGINT or SIGTERM it closes every chat connection with
// 1001 (going away), waits a bounded time for the close handshakes, and
// exits. The server itself is package chat, beside this file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wsforge/websocket/examples/chat/chat"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "`host:port` to listen on")
	grace := flag.Duration("grace", 10*time.Second, "how long shutdown waits for the close handshakes")
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := run(ctx, ln, &chat.Server{}, *grace, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves cs on ln until ctx ends, then shuts down, waiting at most
// grace for the chat connections to close.
func run(ctx context.Context, ln net.Listener, cs *chat.Server, grace time.Duration, out io.Writer) error {
	srv := &http.Server{
		Handler:           cs,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	// cs.Shutdown closes the connections Upgrade took over, which
	// srv.Shutdown does not see.
	srv.RegisterOnShutdown(func() { cs.Shutdown(context.Background()) })
	fmt.Fprintf(out, "chat: open http://%s/ in a browser (Ctrl-C to stop)\n", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(out, "chat: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	herr := srv.Shutdown(sctx)
	werr := cs.Shutdown(sctx) // waits for the close handshakes
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return errors.Join(herr, werr)
}
