// Command client is the conformance testee for the client role: a WebSocket
// echo client built on wsforge that follows the fuzzing server protocol of
// the Autobahn|Testsuite. It asks /getCaseCount for the number of cases, runs
// /runCase?case=N&agent=A for N = 1..count (echoing every message), and
// finishes with /updateReports?agent=A. It offers permessage-deflate with the
// library's default options ("permessage-deflate; client_max_window_bits"),
// which every accept rule of sections 12 and 13 takes up.
//
//	go run ./autobahn/runner -mode fuzzingserver -addr 127.0.0.1:9001 &
//	go run ./autobahn/client -url ws://127.0.0.1:9001 -agent wsforge
//
// It also works with the official suite's fuzzing server.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wsforge/websocket"
)

func main() {
	base := flag.String("url", "ws://127.0.0.1:9001", "URL of the fuzzing server")
	agent := flag.String("agent", "wsforge", "agent name reported to the fuzzing server")
	readLimit := flag.Int64("read-limit", 32<<20, "largest message accepted, in bytes (section 9 sends 16 MiB)")
	caseTimeout := flag.Duration("case-timeout", 10*time.Minute, "upper bound for one case")
	verbose := flag.Bool("v", false, "log every case")
	deflate := flag.Bool("deflate", true, "offer permessage-deflate")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &client{base: strings.TrimSuffix(*base, "/"), agent: *agent, readLimit: *readLimit, caseTimeout: *caseTimeout}
	if *deflate {
		c.compression = &websocket.CompressionOptions{}
	}
	count, err := c.caseCount(ctx)
	if err != nil {
		log.Fatalf("getting the case count: %v", err)
	}
	log.Printf("running %d cases as agent %q", count, *agent)
	for i := 1; i <= count; i++ {
		if ctx.Err() != nil {
			log.Fatal("interrupted")
		}
		// Cases end with an error by design (a close, or a protocol error
		// the runner provoked); the runner judges them, not the client.
		if err := c.runCase(ctx, i); *verbose {
			log.Printf("case %d: %v", i, err)
		}
	}
	if err := c.updateReports(ctx); err != nil {
		log.Fatalf("updating reports: %v", err)
	}
	log.Print("done")
}

type client struct {
	base        string
	agent       string
	readLimit   int64
	caseTimeout time.Duration
	compression *websocket.CompressionOptions
}

func (c *client) dial(ctx context.Context, path string, q url.Values) (*websocket.Conn, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{ReadLimit: c.readLimit, Compression: c.compression})
	return conn, err
}

// caseCount reads the number of cases: one text message, then a close.
func (c *client) caseCount(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := c.dial(ctx, "/getCaseCount", nil)
	if err != nil {
		return 0, err
	}
	defer conn.CloseNow()
	_, msg, err := conn.Read(ctx, nil)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(msg)))
	if err != nil {
		return 0, fmt.Errorf("bad case count %q", msg)
	}
	// Let the server close; Read returns once the closing handshake is done.
	_, _, _ = conn.Read(ctx, nil)
	return n, nil
}

// runCase echoes every message of case n until the connection ends.
func (c *client) runCase(ctx context.Context, n int) error {
	ctx, cancel := context.WithTimeout(ctx, c.caseTimeout)
	defer cancel()
	conn, err := c.dial(ctx, "/runCase", url.Values{"case": {strconv.Itoa(n)}, "agent": {c.agent}})
	if err != nil {
		return err
	}
	defer conn.CloseNow()
	var buf []byte
	for {
		typ, msg, err := conn.Read(ctx, buf[:0])
		if err != nil {
			return err
		}
		if err := conn.Write(ctx, typ, msg); err != nil {
			return err
		}
		buf = msg
	}
}

// updateReports asks the fuzzing server to write the reports; it closes the
// connection when done.
func (c *client) updateReports(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	conn, err := c.dial(ctx, "/updateReports", url.Values{"agent": {c.agent}})
	if err != nil {
		return err
	}
	defer conn.CloseNow()
	_, _, err = conn.Read(ctx, nil)
	if websocket.CloseStatus(err) != 0 {
		return nil
	}
	return err
}
