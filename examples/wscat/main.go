// Command wscat is a WebSocket client for the command line, in the spirit of
// wscat and websocat: it connects to a URL, sends each line of its standard
// input as a message, and prints each message it receives on its standard
// output, a text message as its text and a binary one as a line of hex.
//
//	go run ./examples/wscat ws://127.0.0.1:8080/ws?room=lobby
//	echo hello | go run ./examples/wscat -s chat.v1 ws://127.0.0.1:8080/ws
//
// At the end of its input it goes on printing what arrives for a second
// (-wait), then closes the connection with 1000 (normal closure) and exits
// once the server has answered; on SIGINT it closes at once. When the
// server closes first, wscat reports its code and reason on standard error.
//
// Exit status: 0 after a normal close (1000 or 1001), 1 when the handshake
// fails, the server closes with another code or the connection breaks, and 2
// for a usage error.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/wsforge/websocket"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// headerFlags collects repeated -H flags.
type headerFlags http.Header

func (h headerFlags) String() string { return "" }

func (h headerFlags) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return errors.New(`want "Name: value"`)
	}
	http.Header(h).Add(strings.TrimSpace(name), strings.TrimSpace(value))
	return nil
}

// listFlags collects repeated or comma-separated values.
type listFlags []string

func (l *listFlags) String() string { return strings.Join(*l, ",") }

func (l *listFlags) Set(s string) error {
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// run is the command with its arguments and standard streams; it returns
// the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wscat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	header := headerFlags{}
	var subprotocols listFlags
	fs.Var(header, "H", "add a request `header` \"Name: value\" (repeatable)")
	fs.Var(&subprotocols, "s", "offer a `subprotocol` (repeatable, or comma-separated)")
	insecure := fs.Bool("k", false, "skip the verification of the server's TLS certificate")
	ping := fs.Duration("ping", 0, "send a ping this often and give up on a server that does not answer (0: never)")
	binary := fs.Bool("binary", false, "send lines as binary messages instead of text")
	compress := fs.Bool("compress", false, "offer permessage-deflate compression")
	timeout := fs.Duration("timeout", 10*time.Second, "how long the opening handshake may take")
	readLimit := fs.Int64("limit", 16<<20, "the largest message to accept, in bytes")
	wait := fs.Duration("wait", time.Second, "after the end of the input, how long to go on printing what arrives before closing")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wscat [flags] ws://host[:port]/path")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	url := fs.Arg(0)

	opts := &websocket.DialOptions{
		Header:       http.Header(header),
		Subprotocols: subprotocols,
		PingInterval: *ping,
		ReadLimit:    *readLimit,
	}
	if *insecure {
		opts.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	if *compress {
		opts.Compression = &websocket.CompressionOptions{}
	}
	dctx, cancel := context.WithTimeout(ctx, *timeout)
	c, resp, err := websocket.Dial(dctx, url, opts)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "wscat: cannot connect to %s: %v\n", url, err)
		var he *websocket.HandshakeError
		if errors.As(err, &he) && resp != nil {
			if body, _ := io.ReadAll(resp.Body); len(body) > 0 {
				fmt.Fprintf(stderr, "wscat: the server answered %s: %s\n", resp.Status, strings.TrimSpace(string(body)))
			}
		}
		return exitError
	}
	defer c.CloseNow()
	if p := c.Subprotocol(); p != "" {
		fmt.Fprintf(stderr, "wscat: connected to %s (subprotocol %s)\n", url, p)
	} else {
		fmt.Fprintf(stderr, "wscat: connected to %s\n", url)
	}

	typ := websocket.MessageText
	if *binary {
		typ = websocket.MessageBinary
	}
	// The lines go out from their own goroutine: reading standard input
	// cannot be interrupted, and the server may close first.
	sent := make(chan error, 1)
	go func() { sent <- sendLines(ctx, c, typ, stdin) }()
	received := make(chan error, 1)
	go func() { received <- printMessages(c, stdout) }()

	select {
	case err := <-sent:
		if err != nil {
			fmt.Fprintf(stderr, "wscat: %v\n", err)
			return exitError
		}
		// The end of the input. Replies may still be on their way: a
		// Close now would discard them (see Conn.Close), so wait first.
		select {
		case <-time.After(*wait):
		case <-ctx.Done():
		case err := <-received:
			return report(err, false, stderr)
		}
		c.Close(websocket.StatusNormalClosure, "")
		return report(<-received, true, stderr)
	case <-ctx.Done():
		c.Close(websocket.StatusNormalClosure, "")
		return report(<-received, true, stderr)
	case err := <-received:
		return report(err, false, stderr)
	}
}

// sendLines sends each line of r as a message until r ends.
func sendLines(ctx context.Context, c *websocket.Conn, typ websocket.MessageType, r io.Reader) error {
	lines := bufio.NewScanner(r)
	lines.Buffer(make([]byte, 64<<10), 16<<20)
	for lines.Scan() {
		if err := c.Write(ctx, typ, lines.Bytes()); err != nil {
			return err
		}
	}
	if err := lines.Err(); err != nil {
		return fmt.Errorf("reading standard input: %w", err)
	}
	return nil
}

// printMessages prints each message received until the connection ends,
// and returns what ended it.
func printMessages(c *websocket.Conn, w io.Writer) error {
	out := bufio.NewWriter(w)
	var buf []byte
	for {
		typ, msg, err := c.Read(context.Background(), buf[:0])
		if err != nil {
			out.Flush()
			return err
		}
		if typ == websocket.MessageText {
			out.Write(msg)
			out.WriteByte('\n')
		} else {
			out.WriteString(hex.EncodeToString(msg))
			out.WriteByte('\n')
		}
		out.Flush()
		buf = msg
	}
}

// report says how the connection ended and returns the exit status.
func report(err error, weClosed bool, stderr io.Writer) int {
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code == websocket.StatusAbnormalClosure {
		if weClosed && errors.Is(err, net.ErrClosed) {
			return exitOK // our close ended the connection before the read saw the reply
		}
		fmt.Fprintf(stderr, "wscat: connection lost: %v\n", err)
		return exitError
	}
	what := "the server closed the connection:"
	if weClosed {
		what = "closed; the server answered"
	}
	if ce.Reason != "" {
		fmt.Fprintf(stderr, "wscat: %s %v %q\n", what, ce.Code, ce.Reason)
	} else {
		fmt.Fprintf(stderr, "wscat: %s %v\n", what, ce.Code)
	}
	if ce.Code == websocket.StatusNormalClosure || ce.Code == websocket.StatusGoingAway {
		return exitOK
	}
	return exitError
}
