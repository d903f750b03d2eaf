// Command server is the conformance testee for the server role: a WebSocket
// echo server built on wsforge. Every message goes back unchanged, with the
// same type. It accepts permessage-deflate when a client offers it (sections
// 12 and 13), with the library's default compression options. Run the runner against it in fuzzing client mode:
//
//	go run ./autobahn/server -addr 127.0.0.1:9002
//	go run ./autobahn/runner -mode fuzzingclient -url ws://127.0.0.1:9002
//
// It also works with the official suite's fuzzing client.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/wsforge/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9002", "listen address (port 0 picks a free port)")
	addrFile := flag.String("addr-file", "", "write the listen address to this file once listening")
	readLimit := flag.Int64("read-limit", 32<<20, "largest message accepted, in bytes (section 9 sends 16 MiB)")
	verbose := flag.Bool("v", false, "log why each connection ended (most cases end in an error on purpose)")
	deflate := flag.Bool("deflate", true, "accept permessage-deflate")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file until the server stops")
	flag.Parse()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	var compression *websocket.CompressionOptions
	if *deflate {
		compression = &websocket.CompressionOptions{}
	}
	srv := &http.Server{Handler: echoHandler(*readLimit, compression, *verbose), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("echo server listening on ws://%s", ln.Addr())
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// echoHandler upgrades every request and echoes messages until the
// connection ends. Any origin is accepted: the testee serves test suites.
func echoHandler(readLimit int64, compression *websocket.CompressionOptions, verbose bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, &websocket.UpgradeOptions{
			InsecureSkipOriginCheck: true,
			ReadLimit:               readLimit,
			Compression:             compression,
		})
		if err != nil {
			return // Upgrade has answered with an HTTP error
		}
		defer c.CloseNow()
		if err := echo(r.Context(), c); verbose {
			fmt.Fprintf(os.Stderr, "echo %s: %v\n", c.RemoteAddr(), err)
		}
	})
}

// echo sends every message back until reading or writing fails.
func echo(ctx context.Context, c *websocket.Conn) error {
	var buf []byte
	for {
		typ, msg, err := c.Read(ctx, buf[:0])
		if err != nil {
			return err
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return err
		}
		buf = msg
	}
}
