package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/examples/chat/chat"
	"github.com/wsforge/websocket/wsjson"
)

// needTools skips t if redis-server or nginx is missing, or fails it on
// CI, where interop/setup.sh installs them.
func needTools(t *testing.T) {
	t.Helper()
	_, rerr := exec.LookPath("redis-server")
	_, nerr := findNginx()
	if rerr == nil && nerr == nil {
		return
	}
	msg := "redis-server and nginx are needed (Debian packages redis-server and nginx; run interop/setup.sh)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// TestMessageCrossesNodes starts a cluster (redis-server, two nodes and
// nginx balancing between them), connects through nginx until there is a
// client on each node, and checks that what a client on node a sends
// reaches the client on node b, and the other way round.
func TestMessageCrossesNodes(t *testing.T) {
	needTools(t)
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var log lockedBuffer
	c, err := startCluster(ctx, addr, 2, &log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if t.Failed() {
			t.Logf("logs:\n%s", log.String())
		}
	}()

	// nginx takes turns between the nodes; each client's own join says
	// which node it reached.
	clients := map[string]*websocket.Conn{}
	names := map[string]string{}
	for i := 0; len(clients) < 2 && i < 10; i++ {
		name := fmt.Sprintf("user%d", i)
		conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws?room=multi&name="+name,
			&websocket.DialOptions{Subprotocols: []string{chat.Subprotocol}, ReadLimit: chat.MaxMessage})
		if err != nil {
			t.Fatalf("Dial through nginx: %v", err)
		}
		defer conn.CloseNow()
		join := nextEvent(t, ctx, conn, name, func(ev chat.Event) bool { return ev.Type == "join" && ev.From == name })
		if clients[join.Node] != nil {
			conn.Close(websocket.StatusNormalClosure, "")
			continue
		}
		clients[join.Node], names[join.Node] = conn, name
	}
	onA, onB := clients["a"], clients["b"]
	if onA == nil || onB == nil {
		t.Fatalf("got clients on nodes %v, want one on a and one on b", keys(clients))
	}
	t.Logf("%s is on node a, %s on node b, both through nginx at %s", names["a"], names["b"], addr)

	for _, dir := range []struct {
		from, to               *websocket.Conn
		fromNode, toNode, text string
	}{
		{onA, onB, "a", "b", "hello from node a"},
		{onB, onA, "b", "a", "hello from node b"},
	} {
		if err := dir.from.Write(ctx, websocket.MessageText, []byte(dir.text)); err != nil {
			t.Fatal(err)
		}
		ev := nextEvent(t, ctx, dir.to, names[dir.toNode], func(ev chat.Event) bool {
			return ev.Type == "message" && ev.From == names[dir.fromNode]
		})
		if ev.Text != dir.text || ev.Node != dir.fromNode || ev.From != names[dir.fromNode] {
			t.Fatalf("got %+v, want %q from %s via node %s", ev, dir.text, names[dir.fromNode], dir.fromNode)
		}
	}

	// An attachment crosses too: its event through Redis, then its bytes.
	data := bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 64<<10)
	if err := onA.Write(ctx, websocket.MessageBinary, data); err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, ctx, onB, names["b"], func(ev chat.Event) bool { return ev.Type == "attachment" })
	if ev.Size != len(data) || ev.Node != "a" {
		t.Fatalf("got %+v, want an attachment of %d bytes via node a", ev, len(data))
	}
	if typ, got, err := onB.Read(ctx, nil); err != nil || typ != websocket.MessageBinary || !bytes.Equal(got, data) {
		t.Fatalf("attachment bytes: got %v of %d bytes, %v", typ, len(got), err)
	}

	// Leaving node a is announced on node b.
	onA.Close(websocket.StatusNormalClosure, "")
	if ev := nextEvent(t, ctx, onB, names["b"], func(ev chat.Event) bool {
		return ev.Type == "leave" && ev.From == names["a"]
	}); ev.Node != "a" {
		t.Fatalf("got %+v, want the leave via node a", ev)
	}
}

// nextEvent reads chat events on c until one satisfies match, skipping
// joins, leaves and the messages of self, the client reading: every
// client receives its own messages back.
func nextEvent(t *testing.T, ctx context.Context, c *websocket.Conn, self string, match func(chat.Event) bool) chat.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		var ev chat.Event
		if err := wsjson.Read(ctx, c, &ev); err != nil {
			t.Fatalf("reading an event: %v", err)
		}
		if match(ev) {
			return ev
		}
		if ev.Type != "join" && ev.Type != "leave" && (ev.From != self || ev.Type == "attachment") {
			t.Fatalf("got %+v, which the test did not expect", ev)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestNginxConfig checks the generated configuration's essentials.
func TestNginxConfig(t *testing.T) {
	conf := string(nginxConfig("/tmp/x", "127.0.0.1:8080", []string{"127.0.0.1:1", "127.0.0.1:2"}))
	for _, want := range []string{
		"listen 127.0.0.1:8080;",
		"server 127.0.0.1:1;",
		"server 127.0.0.1:2;",
		"proxy_http_version 1.1;",
		"proxy_set_header Upgrade $http_upgrade;",
		"proxy_set_header Connection $connection_upgrade;",
	} {
		if !bytes.Contains([]byte(conf), []byte(want)) {
			t.Errorf("the configuration lacks %q", want)
		}
	}
}
