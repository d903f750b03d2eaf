package interop

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/examples/chat/chat"
	"github.com/wsforge/websocket/wsjson"
)

// chromiumPath is Debian's chromium, which interop/setup.sh installs.
const chromiumPath = "/usr/bin/chromium"

// TestChromium loads the page of examples/chat in headless Chromium, driven
// over the DevTools protocol by chromedp, and chats from the page's
// JavaScript with a Go client in the same room: text, a 1 MiB text and a
// 1 MiB binary message, the chat.v1 subprotocol and the compression
// Chromium offers, and a close with 4001 and a reason. It checks what the
// page saw, what the Go client saw and what the server saw.
func TestChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		missing(t, "Chromium not found at %s (Debian package chromium)", chromiumPath)
	}
	seen := make(chan chat.Seen, 64)
	cs := &chat.Server{Node: "interop", Observe: func(s chat.Seen) { seen <- s }}
	srv := httptest.NewServer(cs)
	defer srv.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cs.Shutdown(ctx)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctx = startChromium(t, ctx)

	// A Go client joins first, so that it sees everything the page does.
	gopher, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws?room=interop&name=gopher",
		&websocket.DialOptions{Subprotocols: []string{chat.Subprotocol}, ReadLimit: chat.MaxMessage})
	if err != nil {
		t.Fatal(err)
	}
	defer gopher.CloseNow()
	expectEvent(t, gopher, "join", "gopher")
	if s := <-seen; s.Type != "join" || s.From != "gopher" {
		t.Fatalf("server: got %+v, want gopher's join", s.Event)
	}

	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/?room=interop&name=chromium")); err != nil {
		t.Fatalf("loading the page: %v", err)
	}

	t.Run("connect", func(t *testing.T) {
		var info struct{ Protocol, Extensions string }
		evaluate(t, ctx, `chat.connect("interop", "chromium")`, &info)
		t.Logf("the page: protocol %q, extensions %q", info.Protocol, info.Extensions)
		if info.Protocol != chat.Subprotocol {
			t.Errorf("page: protocol %q, want %q", info.Protocol, chat.Subprotocol)
		}
		if !strings.HasPrefix(info.Extensions, "permessage-deflate") {
			t.Errorf("page: extensions %q, want permessage-deflate", info.Extensions)
		}
		s := <-seen
		t.Logf("the server: %s joined, offering %q, subprotocol %q", s.From, s.Extensions, s.Subprotocol)
		if s.Type != "join" || s.From != "chromium" || s.Subprotocol != chat.Subprotocol ||
			!strings.Contains(s.Extensions, "permessage-deflate") {
			t.Errorf("server: got %+v, want chromium's join with %q and a permessage-deflate offer", s, chat.Subprotocol)
		}
		expectEvent(t, gopher, "join", "chromium")
	})

	t.Run("text from the page", func(t *testing.T) {
		var ev chat.Event
		evaluate(t, ctx, `(async () => {
			const echo = chat.next((m) => m.type === "message" && m.from === "chromium");
			chat.send("hello from chromium ✓");
			return await echo;
		})()`, &ev)
		if ev.Text != "hello from chromium ✓" {
			t.Errorf("page: got %+v, want its message back", ev)
		}
		if got := expectEvent(t, gopher, "message", "chromium"); got.Text != "hello from chromium ✓" {
			t.Errorf("Go client: got %q", got.Text)
		}
		if s := <-seen; s.Type != "message" || s.Text != "hello from chromium ✓" {
			t.Errorf("server: got %+v", s.Event)
		}
	})

	t.Run("1 MiB text from the page", func(t *testing.T) {
		var ok bool
		evaluate(t, ctx, `(async () => {
			const text = "0123456789abcdef".repeat(65536);
			const echo = chat.next((m) => m.type === "message" && m.text.length === text.length);
			chat.send(text);
			return (await echo).text === text;
		})()`, &ok)
		if !ok {
			t.Error("page: the 1 MiB message did not come back intact")
		}
		want := strings.Repeat("0123456789abcdef", 65536)
		if got := expectEvent(t, gopher, "message", "chromium"); got.Text != want {
			t.Errorf("Go client: got %d bytes, want the 1 MiB text", len(got.Text))
		}
		if s := <-seen; len(s.Text) != 1<<20 {
			t.Errorf("server: got a message of %d bytes, want 1 MiB", len(s.Text))
		}
	})

	t.Run("1 MiB binary from the page", func(t *testing.T) {
		var got struct{ Sent, Size, Sum int }
		evaluate(t, ctx, `(async () => {
			const back = chat.next((m) => m.type === "bytes");
			const sent = chat.sendBytes(1 << 20);
			const m = await back;
			return { sent, size: m.size, sum: m.sum };
		})()`, &got)
		if got.Size != 1<<20 || got.Sum != got.Sent {
			t.Errorf("page: got %d bytes with checksum %#x back, want 1 MiB with %#x", got.Size, got.Sum, got.Sent)
		}
		if ev := expectEvent(t, gopher, "attachment", "chromium"); ev.Size != 1<<20 {
			t.Errorf("Go client: attachment of %d bytes, want 1 MiB", ev.Size)
		}
		typ, data, err := gopher.Read(ctx, nil)
		if err != nil || typ != websocket.MessageBinary {
			t.Fatalf("Go client: got %v, %v, want the attachment's bytes", typ, err)
		}
		for i, b := range data {
			if want := byte(i*31 + i>>8); b != want {
				t.Fatalf("Go client: byte %d is %#x, want %#x", i, b, want)
			}
		}
		if s := <-seen; s.Type != "attachment" || s.Size != 1<<20 {
			t.Errorf("server: got %+v, want an attachment of 1 MiB", s.Event)
		}
	})

	t.Run("text and binary to the page", func(t *testing.T) {
		evaluate(t, ctx, `window.fromGo = Promise.all([
			chat.next((m) => m.type === "message" && m.from === "gopher"),
			chat.next((m) => m.type === "bytes"),
		]); true`, nil)
		gopher.Write(ctx, websocket.MessageText, []byte("hello from Go"))
		gopher.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3, 4, 5})
		var got []struct {
			Text string
			Size int
		}
		evaluate(t, ctx, `window.fromGo`, &got)
		if len(got) != 2 || got[0].Text != "hello from Go" || got[1].Size != 5 {
			t.Errorf("page: got %+v, want the text and the 5 bytes", got)
		}
		// The Go client gets its own messages back too.
		expectEvent(t, gopher, "message", "gopher")
		expectEvent(t, gopher, "attachment", "gopher")
		if _, b, err := gopher.Read(ctx, nil); err != nil || len(b) != 5 {
			t.Fatalf("Go client: got %d bytes, %v, want its 5 bytes back", len(b), err)
		}
		<-seen
		<-seen
	})

	t.Run("close with 4001", func(t *testing.T) {
		var closed struct {
			Code     int
			Reason   string
			WasClean bool
		}
		evaluate(t, ctx, `chat.close(4001, "chromium is done")`, &closed)
		// The server answers with the same code (RFC 6455 §5.5.1).
		if closed.Code != 4001 || !closed.WasClean {
			t.Errorf("page: close event %+v, want a clean close with 4001", closed)
		}
		s := <-seen
		var ce *websocket.CloseError
		if s.Type != "leave" || !errors.As(s.Close, &ce) || ce.Code != 4001 || ce.Reason != "chromium is done" {
			t.Fatalf("server: got %+v (%v), want a leave with 4001 %q", s.Event, s.Close, "chromium is done")
		}
		// Three messages came in, two of them 1 MiB of repetitive
		// payload: Chromium compressed them.
		t.Logf("the server: the page sent %d messages, %d payload bytes on the wire", s.Stats.MessagesIn, s.Stats.BytesIn)
		if s.Stats.MessagesIn != 3 || s.Stats.BytesIn > 1<<20 {
			t.Errorf("server: %d messages, %d bytes in; want 3, compressed well under 1 MiB", s.Stats.MessagesIn, s.Stats.BytesIn)
		}
		expectEvent(t, gopher, "leave", "chromium")
	})
}

// startChromium starts a headless Chromium for t and returns a chromedp
// context for its first tab. Its profile and temporary files go to a
// directory of t's.
func startChromium(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	dir := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(dir),
		chromedp.Env("TMPDIR="+dir),
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-proxy-server", true),
	)
	var output syncBuffer
	opts = append(opts, chromedp.CombinedOutput(&output))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for Chromium to exit
		if t.Failed() {
			// Chromium complains about the missing D-Bus at length.
			var lines []string
			for l := range strings.Lines(output.String()) {
				if !strings.Contains(l, "dbus") {
					lines = append(lines, l)
				}
			}
			t.Logf("chromium output, D-Bus errors left out:\n%s", strings.Join(lines, ""))
		}
	})
	version, err := chromedp.Run(tabCtx, chromedp.Evaluate[string](`navigator.userAgent`))
	if err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	t.Logf("browser: %s", version)
	return tabCtx
}

// evaluate runs a JavaScript expression in the page, awaits it if it is a
// promise, and decodes its value into res (unless res is nil).
func evaluate(t *testing.T, ctx context.Context, expr string, res any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %.60q...: %v", expr, err)
	}
	if res != nil {
		if err := json.Unmarshal(raw, res); err != nil {
			t.Fatalf("decoding %s: %v", raw, err)
		}
	}
}

// expectEvent reads the next chat event on c and checks its type and
// sender.
func expectEvent(t *testing.T, c *websocket.Conn, typ, from string) chat.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ev chat.Event
	if err := wsjson.Read(ctx, c, &ev); err != nil {
		t.Fatalf("reading a chat event: %v", err)
	}
	if ev.Type != typ || ev.From != from {
		t.Fatalf("got a %s event from %s, want a %s event from %s", ev.Type, ev.From, typ, from)
	}
	return ev
}
