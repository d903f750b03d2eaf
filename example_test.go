package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wsforge/websocket"
)

// An echo server: each message goes back to the client with its type.
func ExampleUpgrade() {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered the request with an HTTP error
		}
		defer c.CloseNow()
		var buf []byte
		for {
			typ, msg, err := c.Read(r.Context(), buf[:0])
			if err != nil {
				return // a *CloseError once the peer has closed
			}
			if err := c.Write(r.Context(), typ, msg); err != nil {
				return
			}
			buf = msg
		}
	})

	// Serve echo with http.ListenAndServe, or as here with a test server.
	srv := httptest.NewServer(echo)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	for _, m := range []string{"hello", "world"} {
		if err := c.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			log.Fatal(err)
		}
		typ, msg, err := c.Read(ctx, nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(typ, string(msg))
	}
	c.Close(websocket.StatusNormalClosure, "")
	// Output:
	// text hello
	// text world
}

// A client that sends one message and reads the reply.
func ExampleDial() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		typ, msg, err := c.Read(r.Context(), nil)
		if err != nil {
			return
		}
		c.Write(r.Context(), typ, append([]byte("echo: "), msg...))
		c.Read(r.Context(), nil) // until the client closes
	}))
	defer srv.Close()
	serverURL := "ws" + strings.TrimPrefix(srv.URL, "http")

	// serverURL is the server's, for example "ws://localhost:8080/".
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, serverURL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		log.Fatal(err)
	}
	typ, msg, err := c.Read(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(typ, string(msg))
	c.Close(websocket.StatusNormalClosure, "bye")
	// Output: text echo: hello
}

// Reading every message into one reused buffer until the peer closes. A read
// whose context ends leaves the Conn usable.
func ExampleConn_Read() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		if _, _, err := c.Read(ctx, nil); err != nil { // wait for "go"
			return
		}
		c.Write(ctx, websocket.MessageText, []byte("one"))
		c.Write(ctx, websocket.MessageBinary, []byte{2})
		c.Write(ctx, websocket.MessageText, []byte("three"))
		c.Close(websocket.StatusNormalClosure, "done")
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()

	// Nothing arrives until the client says "go": this read times out,
	// and the Conn can still be used.
	short, stop := context.WithTimeout(ctx, 10*time.Millisecond)
	_, _, err = c.Read(short, nil)
	stop()
	fmt.Println(err)
	if err := c.Write(ctx, websocket.MessageText, []byte("go")); err != nil {
		log.Fatal(err)
	}

	var buf []byte
	for {
		typ, msg, err := c.Read(ctx, buf[:0])
		if err != nil {
			fmt.Println("closed:", websocket.CloseStatus(err))
			break
		}
		fmt.Printf("%v %q\n", typ, msg)
		buf = msg // reuse the grown buffer for the next message
	}
	// Output:
	// context deadline exceeded
	// text "one"
	// binary "\x02"
	// text "three"
	// closed: 1000 (normal closure)
}

// Streaming a message in: the reader returns io.EOF at its end.
func ExampleConn_Reader() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.Write(r.Context(), websocket.MessageText, []byte("streamed to stdout\n"))
		c.Read(r.Context(), nil) // until the client closes
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()

	typ, r, err := c.Reader(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(typ, ": ")
	if _, err := io.Copy(os.Stdout, r); err != nil {
		log.Fatal(err)
	}
	c.Close(websocket.StatusNormalClosure, "")
	// Output: text: streamed to stdout
}

// Streaming a message out: each time the Writer's buffer fills, a fragment
// goes out, and Close sends the last one. The peer receives one message.
func ExampleConn_Writer() {
	sizes := make(chan int, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_, msg, err := c.Read(r.Context(), nil)
		if err != nil {
			return
		}
		sizes <- len(msg)
		c.Read(r.Context(), nil) // until the client closes
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()

	w, err := c.Writer(ctx, websocket.MessageText)
	if err != nil {
		log.Fatal(err)
	}
	for i := range 10000 {
		fmt.Fprintf(w, "line %05d\n", i) // 11 bytes each
	}
	if err := w.Close(); err != nil { // always close a Writer
		log.Fatal(err)
	}
	fmt.Println("server received one message of", <-sizes, "bytes")
	c.Close(websocket.StatusNormalClosure, "")
	// Output: server received one message of 110000 bytes
}

// Close sends a close frame and waits for the peer's reply; the peer's
// pending Read returns the code and reason as a *CloseError.
func ExampleConn_Close() {
	ended := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			ended <- err
			return
		}
		defer c.CloseNow()
		_, _, err = c.Read(r.Context(), nil) // returns once the client closes
		ended <- err
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		log.Fatal(err)
	}

	fmt.Println("Close:", c.Close(websocket.StatusNormalClosure, "bye"))
	var ce *websocket.CloseError
	if errors.As(<-ended, &ce) {
		fmt.Printf("server read: %v %q\n", ce.Code, ce.Reason)
	}
	err = c.Close(websocket.StatusNormalClosure, "bye")
	fmt.Println("second Close wraps net.ErrClosed:", errors.Is(err, net.ErrClosed))
	// Output:
	// Close: <nil>
	// server read: 1000 (normal closure) "bye"
	// second Close wraps net.ErrClosed: true
}

func ExampleCloseStatus() {
	errs := []error{
		fmt.Errorf("read: %w", &websocket.CloseError{Code: websocket.StatusGoingAway, Reason: "restarting"}),
		&websocket.CloseError{Code: websocket.StatusAbnormalClosure},
		io.EOF,
	}
	for _, err := range errs {
		switch code := websocket.CloseStatus(err); code {
		case websocket.StatusNormalClosure, websocket.StatusGoingAway:
			fmt.Println("orderly close:", code)
		case 0:
			fmt.Println("not a close:", err)
		default:
			fmt.Println("closed with", code)
		}
	}
	// Output:
	// orderly close: 1001 (going away)
	// closed with 1006 (abnormal closure)
	// not a close: EOF
}

func ExampleStatusCode_String() {
	fmt.Println(websocket.StatusNormalClosure)
	fmt.Println(websocket.StatusMessageTooBig)
	fmt.Println(websocket.StatusCode(4000)) // application-defined
	// Output:
	// 1000 (normal closure)
	// 1009 (message too big)
	// 4000
}

func ExampleMessageType_String() {
	fmt.Println(websocket.MessageText, websocket.MessageBinary)
	// Output: text binary
}

// TestREADMECode checks that each Go snippet of README.md appears in the
// examples above, so that the README's code compiles and runs.
func TestREADMECode(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var examples []byte
	files, _ := filepath.Glob("example*_test.go")
	more, _ := filepath.Glob("*/example*_test.go") // the subpackages
	files = append(files, more...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		examples = append(examples, b...)
	}
	// Indentation differs between the README and the examples.
	unindent := func(s string) string {
		return regexp.MustCompile(`(?m)^\t+`).ReplaceAllString(s, "")
	}
	body := unindent(string(examples))
	snippets := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(snippets) == 0 {
		t.Fatal("got no ```go snippets in README.md, want some")
	}
	for _, s := range snippets {
		if !strings.Contains(body, unindent(s[1])) {
			t.Errorf("README.md snippet not found in the example*_test.go files:\n%s", s[1])
		}
	}
}
