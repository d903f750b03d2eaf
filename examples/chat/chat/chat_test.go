package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/wsjson"
)

// startChat serves cs on a loopback test server and returns its ws:// base
// URL.
func startChat(t *testing.T, cs *Server) string {
	t.Helper()
	srv := httptest.NewServer(cs)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cs.Shutdown(ctx)
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// join connects a client named name to room.
func join(t *testing.T, base, room, name string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, base+"/ws?room="+room+"&name="+name,
		&websocket.DialOptions{Subprotocols: []string{Subprotocol}, ReadLimit: MaxMessage})
	if err != nil {
		t.Fatalf("join %s as %s: %v", room, name, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	// A client sees its own join; through a relay, an earlier client's
	// join may still be on its way and come first.
	for {
		ev := readEvent(t, c)
		if ev.Type == "join" && ev.From == name {
			return c
		}
		if ev.Type != "join" {
			t.Fatalf("%s: got %+v before its own join", name, ev)
		}
	}
}

func readEvent(t *testing.T, c *websocket.Conn) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ev Event
	if err := wsjson.Read(ctx, c, &ev); err != nil {
		t.Fatalf("reading an event: %v", err)
	}
	return ev
}

func TestRoomFanOut(t *testing.T) {
	base := startChat(t, &Server{Node: "n1"})
	ctx := context.Background()
	alice := join(t, base, "go", "alice")
	bob := join(t, base, "go", "bob")
	if ev := readEvent(t, alice); ev.Type != "join" || ev.From != "bob" {
		t.Fatalf("alice: got %+v, want bob's join", ev)
	}
	carol := join(t, base, "rust", "carol")

	if err := alice.Write(ctx, websocket.MessageText, []byte("hi bob")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*websocket.Conn{alice, bob} {
		ev := readEvent(t, c)
		if ev.Type != "message" || ev.From != "alice" || ev.Text != "hi bob" || ev.Room != "go" || ev.Node != "n1" {
			t.Fatalf("got %+v, want alice's message in go from n1", ev)
		}
	}

	// An attachment: its event, then its bytes.
	data := bytes.Repeat([]byte{0, 1, 2, 0xff}, 300<<10)
	if err := bob.Write(ctx, websocket.MessageBinary, data); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*websocket.Conn{alice, bob} {
		ev := readEvent(t, c)
		if ev.Type != "attachment" || ev.From != "bob" || ev.Size != len(data) || ev.Data != nil {
			t.Fatalf("got %+v, want bob's attachment of %d bytes", ev, len(data))
		}
		typ, got, err := c.Read(ctx, nil)
		if err != nil || typ != websocket.MessageBinary || !bytes.Equal(got, data) {
			t.Fatalf("attachment bytes: got %v, %d bytes, %v", typ, len(got), err)
		}
	}

	// Carol, in another room, saw none of it; she sees only her room.
	carol.Write(ctx, websocket.MessageText, []byte("anyone?"))
	if ev := readEvent(t, carol); ev.From != "carol" || ev.Text != "anyone?" {
		t.Fatalf("carol: got %+v, want her own message", ev)
	}

	// Leaving is announced to the room.
	bob.Close(websocket.StatusNormalClosure, "")
	if ev := readEvent(t, alice); ev.Type != "leave" || ev.From != "bob" {
		t.Fatalf("alice: got %+v, want bob's leave", ev)
	}
}

func TestObserve(t *testing.T) {
	var mu sync.Mutex
	var seen []Seen
	left := make(chan struct{})
	cs := &Server{Observe: func(s Seen) {
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
		if s.Type == "leave" {
			close(left)
		}
	}}
	base := startChat(t, cs)
	c := join(t, base, "r", "dan")
	c.Write(context.Background(), websocket.MessageText, []byte("hello"))
	readEvent(t, c)
	c.Close(4001, "done")
	<-left

	mu.Lock()
	defer mu.Unlock()
	var types []string
	for _, s := range seen {
		types = append(types, s.Type)
		if s.Subprotocol != Subprotocol {
			t.Errorf("%s: subprotocol %q, want %q", s.Type, s.Subprotocol, Subprotocol)
		}
	}
	if got := strings.Join(types, ","); got != "join,message,leave" {
		t.Fatalf("events: got %s, want join,message,leave", got)
	}
	last := seen[2]
	var ce *websocket.CloseError
	if !errors.As(last.Close, &ce) || ce.Code != 4001 || ce.Reason != "done" {
		t.Errorf("leave: got %v, want the client's 4001 %q", last.Close, "done")
	}
	if last.Stats.MessagesIn != 1 {
		t.Errorf("leave: %d messages in, want 1", last.Stats.MessagesIn)
	}
}

// fakeRelay delivers every published event to all the servers, like a
// pub/sub channel.
type fakeRelay struct {
	mu      sync.Mutex
	servers []*Server
}

func (r *fakeRelay) Publish(ctx context.Context, ev Event) error {
	b, err := json.Marshal(ev) // as a real relay would carry it
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.servers {
		var got Event
		json.Unmarshal(b, &got)
		s.Deliver(ctx, got)
	}
	return nil
}

func TestRelay(t *testing.T) {
	relay := &fakeRelay{}
	a, b := &Server{Node: "a", Relay: relay}, &Server{Node: "b", Relay: relay}
	relay.servers = []*Server{a, b}
	onA := join(t, startChat(t, a), "x", "ann")
	onB := join(t, startChat(t, b), "x", "ben")
	if ev := readEvent(t, onA); ev.Type != "join" || ev.From != "ben" || ev.Node != "b" {
		t.Fatalf("ann: got %+v, want ben's join from b", ev)
	}
	ctx := context.Background()
	onA.Write(ctx, websocket.MessageText, []byte("across"))
	if ev := readEvent(t, onB); ev.Text != "across" || ev.Node != "a" {
		t.Fatalf("ben: got %+v, want ann's message from a", ev)
	}
	onA.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3})
	readEvent(t, onB)
	if _, got, err := onB.Read(ctx, nil); err != nil || !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("ben: attachment %v, %v", got, err)
	}
}

func TestPageAndMetrics(t *testing.T) {
	cs := &Server{}
	srv := httptest.NewServer(cs)
	defer srv.Close()
	for _, tt := range []struct {
		name     string
		path     string
		wantCode int
		wantBody string
	}{
		{
			name:     "page",
			path:     "/",
			wantCode: http.StatusOK,
			wantBody: `<script src="app.js">`,
		},
		{
			name:     "script",
			path:     "/app.js",
			wantCode: http.StatusOK,
			wantBody: `new WebSocket(url, ["chat.v1"])`,
		},
		{
			name:     "metrics",
			path:     "/metrics",
			wantCode: http.StatusOK,
			wantBody: `"ConnsTotal"`,
		},
		{
			name:     "bad room name",
			path:     "/ws?room=no%20spaces",
			wantCode: http.StatusBadRequest,
			wantBody: "room and name",
		},
		{
			name:     "not a WebSocket request",
			path:     "/ws",
			wantCode: http.StatusUpgradeRequired,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode || !strings.Contains(string(body), tt.wantBody) {
				t.Fatalf("got %d %q, want %d and a body containing %q", resp.StatusCode, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}

func TestShutdown(t *testing.T) {
	cs := &Server{}
	srv := httptest.NewServer(cs)
	defer srv.Close()
	c := join(t, "ws"+strings.TrimPrefix(srv.URL, "http"), "r", "eve")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cs.Shutdown(ctx) }()
	_, _, err := c.Read(ctx, nil)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("client: got %v, want a close with 1001", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}
