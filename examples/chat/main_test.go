package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/examples/chat/chat"
	"github.com/wsforge/websocket/wsjson"
)

// TestRun starts the command's server as main does, chats through it, and
// checks that stopping it closes the chat connections with 1001.
func TestRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	out, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, ln, &chat.Server{}, 5*time.Second, outW)
		outW.Close()
	}()
	lines := bufio.NewScanner(out)
	lines.Scan()
	want := "chat: open http://" + ln.Addr().String() + "/ in a browser"
	if !strings.HasPrefix(lines.Text(), want) {
		t.Fatalf("first line: got %q, want it to start with %q", lines.Text(), want)
	}
	go io.Copy(io.Discard, out)

	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %s", resp.Status)
	}

	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(cctx, "ws://"+ln.Addr().String()+"/ws?room=lobby&name=tester",
		&websocket.DialOptions{Subprotocols: []string{chat.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if c.Subprotocol() != chat.Subprotocol {
		t.Errorf("subprotocol: got %q, want %q", c.Subprotocol(), chat.Subprotocol)
	}
	c.Write(cctx, websocket.MessageText, []byte("hello"))
	for _, want := range []string{"join", "message"} {
		var ev chat.Event
		if err := wsjson.Read(cctx, c, &ev); err != nil || ev.Type != want {
			t.Fatalf("got %+v, %v, want a %s event", ev, err, want)
		}
	}

	stop()
	if _, _, err := c.Read(cctx, nil); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("client: got %v, want a close with 1001", err)
	}
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
