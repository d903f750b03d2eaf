package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsforge/websocket"
)

// The peers (node/peer.js, python/peer.py) echo every message and obey
// commands sent as text messages starting with "cmd:"; they report what
// happens to them as JSON lines on standard output.

// subprotocol is the one both sides offer.
const subprotocol = "interop.v1"

// opTimeout bounds each step of an exchange; a 16 MiB echo through a
// Python peer takes about a second.
const opTimeout = 60 * time.Second

// missing skips t for want of a peer, or fails it on CI, where
// interop/setup.sh has installed every peer.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...) + " (run interop/setup.sh, or make interop)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// lookPath returns the path of a program the test needs.
func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, "%s not found", name)
	}
	return p
}

// event is one line a peer reported.
type event map[string]any

func (e event) str(key string) string {
	s, _ := e[key].(string)
	return s
}

func (e event) num(key string) int {
	f, _ := e[key].(float64)
	return int(f)
}

// peerProcess is a running peer program.
type peerProcess struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan event
	stderr *syncBuffer
	exited chan struct{}
}

// startPeer starts a peer program and collects its reports. The process is
// stopped, its input closed then killed, when t ends.
func startPeer(t *testing.T, name string, argv ...string) *peerProcess {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &peerProcess{
		name:   name,
		cmd:    cmd,
		stdin:  stdin,
		events: make(chan event, 64),
		stderr: &syncBuffer{},
		exited: make(chan struct{}),
	}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		defer close(p.events)
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			var e event
			if err := json.Unmarshal(lines.Bytes(), &e); err != nil {
				e = event{"event": "output", "line": lines.Text()}
			}
			p.events <- e
		}
	}()
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() && p.stderr.Len() > 0 {
			t.Logf("%s stderr:\n%s", name, p.stderr)
		}
	})
	return p
}

// await returns the next report of the given kind, skipping others.
func (p *peerProcess) await(t *testing.T, kind string) event {
	t.Helper()
	timeout := time.After(opTimeout)
	for {
		select {
		case e, ok := <-p.events:
			if !ok {
				t.Fatalf("%s exited before reporting %q; stderr:\n%s", p.name, kind, p.stderr)
			}
			if e.str("event") == "error" {
				t.Errorf("%s reported an error: %s", p.name, e.str("message"))
			}
			if e.str("event") == kind {
				return e
			}
		case <-timeout:
			t.Fatalf("%s did not report %q within %v; stderr:\n%s", p.name, kind, opTimeout, p.stderr)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Len()
}

// pingLog records the payloads of the pings a Conn received.
type pingLog chan string

func (l pingLog) hook(p []byte) {
	select {
	case l <- string(p):
	default:
	}
}

// serverOptions and dialOptions are our side's options against a peer;
// copts nil means no compression.
func serverOptions(copts *websocket.CompressionOptions, pings pingLog) *websocket.UpgradeOptions {
	return &websocket.UpgradeOptions{
		Subprotocols: []string{subprotocol},
		ReadLimit:    64 << 20,
		OnPing:       pings.hook,
		Compression:  copts,
	}
}

func dialOptions(copts *websocket.CompressionOptions, pings pingLog) *websocket.DialOptions {
	return &websocket.DialOptions{
		Subprotocols: []string{subprotocol},
		ReadLimit:    64 << 20,
		OnPing:       pings.hook,
		Compression:  copts,
	}
}

// compressionModes are the ways the matrix runs: without compression, and
// with permessage-deflate with context takeover and without it (our side
// requires server_no_context_takeover and client_no_context_takeover, which
// the peer then honours in both directions).
var compressionModes = []struct {
	name  string
	copts *websocket.CompressionOptions
}{
	{name: "uncompressed"},
	{name: "permessage-deflate", copts: &websocket.CompressionOptions{}},
	{name: "permessage-deflate no context takeover", copts: &websocket.CompressionOptions{
		ServerNoContextTakeover: true,
		ClientNoContextTakeover: true,
	}},
}

// ourServer serves WebSocket connections with opts and hands them over on
// the returned channel.
func ourServer(t *testing.T, opts *websocket.UpgradeOptions) (string, <-chan *websocket.Conn) {
	t.Helper()
	conns := make(chan *websocket.Conn, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, opts)
		if err != nil {
			t.Errorf("Upgrade: %v", err)
			return
		}
		conns <- c
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/", conns
}

// acceptOne waits for the next connection to ourServer.
func acceptOne(t *testing.T, conns <-chan *websocket.Conn, peer *peerProcess) *websocket.Conn {
	t.Helper()
	select {
	case c := <-conns:
		t.Cleanup(func() { c.CloseNow() })
		return c
	case <-peer.exited:
		t.Fatalf("%s exited without connecting; stderr:\n%s", peer.name, peer.stderr)
	case <-time.After(opTimeout):
		t.Fatalf("%s did not connect within %v", peer.name, opTimeout)
	}
	return nil
}

// dialPeer connects to a peer's server.
func dialPeer(t *testing.T, url string, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("Dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// randomBytes returns n bytes that do not compress.
func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// echoCases are the messages exchange sends, each echoed by the peer.
var echoCases = []struct {
	name string
	typ  websocket.MessageType
	data []byte
}{
	{
		name: "text",
		typ:  websocket.MessageText,
		data: []byte("hello, peer"),
	},
	{
		name: "utf-8 text",
		typ:  websocket.MessageText,
		data: []byte("héllo wörld ✓ 🎉 日本語"),
	},
	{
		name: "binary, every byte value",
		typ:  websocket.MessageBinary,
		data: func() []byte {
			b := make([]byte, 256)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}(),
	},
	{
		name: "empty text",
		typ:  websocket.MessageText,
		data: []byte{},
	},
	{
		name: "empty binary",
		typ:  websocket.MessageBinary,
		data: []byte{},
	},
	{
		name: "126 bytes: 16-bit length",
		typ:  websocket.MessageBinary,
		data: randomBytes(126),
	},
	{
		name: "64 KiB: 64-bit length",
		typ:  websocket.MessageBinary,
		data: randomBytes(64 << 10),
	},
	{
		name: "16 MiB binary",
		typ:  websocket.MessageBinary,
		data: randomBytes(16 << 20),
	},
	{
		name: "16 MiB text",
		typ:  websocket.MessageText,
		data: bytes.Repeat([]byte("sixteen mebibytes of text; "), (16<<20)/27+1)[:16<<20],
	},
}

// roundTrip writes a message and reads the peer's echo.
func roundTrip(t *testing.T, c *websocket.Conn, typ websocket.MessageType, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := c.Write(ctx, typ, data); err != nil {
		t.Fatalf("Write: %v", err)
	}
	gotTyp, got, err := c.Read(ctx, nil)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if gotTyp != typ || !bytes.Equal(got, data) {
		t.Fatalf("echo: got %v of %d bytes, want %v of %d bytes (equal: %v)", gotTyp, len(got), typ, len(data), bytes.Equal(got, data))
	}
}

// command sends a command to the peer.
func command(t *testing.T, c *websocket.Conn, cmd string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte("cmd:"+cmd)); err != nil {
		t.Fatalf("sending %q: %v", cmd, err)
	}
}

// readText reads one text message.
func readText(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	typ, msg, err := c.Read(ctx, nil)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("got a %v message, want text", typ)
	}
	return string(msg)
}

// exchange runs the matrix over c, connected to a peer: every echo case,
// fragmented messages both ways, pings both ways, the subprotocol and the
// extension negotiated, then closes with 4002 and checks that the peer saw
// it. peer.await reports the peer's side of the close.
func exchange(t *testing.T, c *websocket.Conn, peer *peerProcess, deflate bool, pings pingLog) {
	for _, tt := range echoCases {
		t.Run("echo "+tt.name, func(t *testing.T) {
			before := c.Stats()
			roundTrip(t, c, tt.typ, tt.data)
			in := c.Stats().BytesIn - before.BytesIn
			// A compressible message must arrive compressed when
			// permessage-deflate was negotiated, whoever compressed it.
			if deflate && tt.name == "16 MiB text" && in > uint64(len(tt.data))/10 {
				t.Errorf("%d bytes on the wire for %d of repetitive text: not compressed", in, len(tt.data))
			}
			if !deflate && in != uint64(len(tt.data)) {
				t.Errorf("%d payload bytes on the wire, want %d", in, len(tt.data))
			}
		})
	}
	t.Run("fragmented by us", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		// The Writer sends a frame each time its 4 KiB buffer fills.
		want := bytes.Repeat([]byte("fragment "), 30000)
		w, err := c.Writer(ctx, websocket.MessageText)
		if err != nil {
			t.Fatal(err)
		}
		for chunk := range slices.Chunk(want, 7000) {
			if _, err := w.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := readText(t, c); got != string(want) {
			t.Fatalf("echo: got %d bytes, want %d", len(got), len(want))
		}
	})
	t.Run("fragmented by the peer", func(t *testing.T) {
		command(t, c, "fragment:alpha,,beta,gamma ✓")
		if got, want := readText(t, c), "alphabetagamma ✓"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("ping from us", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		// Ping needs a reader for the pong: read the echo of a message
		// sent after the ping.
		read := make(chan string, 1)
		go func() {
			_, msg, err := c.Read(ctx, nil)
			if err != nil {
				read <- err.Error()
			}
			read <- string(msg)
		}()
		if err := c.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		c.Write(ctx, websocket.MessageText, []byte("after the pong"))
		if got := <-read; got != "after the pong" {
			t.Fatalf("got %q, want the echo", got)
		}
	})
	t.Run("ping from the peer", func(t *testing.T) {
		command(t, c, "ping:are you there?")
		if got, want := readText(t, c), "pong:are you there?"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
		select {
		case got := <-pings:
			if got != "are you there?" {
				t.Fatalf("OnPing: got %q, want %q", got, "are you there?")
			}
		default:
			t.Fatal("OnPing was not called")
		}
	})
	t.Run("subprotocol and extensions", func(t *testing.T) {
		if got := c.Subprotocol(); got != subprotocol {
			t.Errorf("our side: subprotocol %q, want %q", got, subprotocol)
		}
		command(t, c, "info")
		var info struct{ Protocol, Extensions string }
		if err := json.Unmarshal([]byte(readText(t, c)), &info); err != nil {
			t.Fatal(err)
		}
		if info.Protocol != subprotocol {
			t.Errorf("peer: subprotocol %q, want %q", info.Protocol, subprotocol)
		}
		if got := strings.Contains(info.Extensions, "permessage-deflate"); got != deflate {
			t.Errorf("peer: extensions %q, want permessage-deflate: %v", info.Extensions, deflate)
		}
	})
	t.Run("close from us", func(t *testing.T) {
		if err := c.Close(4002, "bye from wsforge"); err != nil {
			t.Fatalf("Close: %v", err)
		}
		e := peer.await(t, "close")
		if e.num("code") != 4002 || e.str("reason") != "bye from wsforge" {
			t.Fatalf("peer saw the close as %d %q, want 4002 %q", e.num("code"), e.str("reason"), "bye from wsforge")
		}
	})
}

// closeFromPeer asks the peer to close c with 4001 and checks that both
// sides saw the code.
func closeFromPeer(t *testing.T, c *websocket.Conn, peer *peerProcess) {
	t.Run("close from the peer", func(t *testing.T) {
		roundTrip(t, c, websocket.MessageText, []byte("before the close"))
		command(t, c, "close:4001:bye from the peer")
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		_, _, err := c.Read(ctx, nil)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "bye from the peer" {
			t.Fatalf("Read: got %v, want a CloseError with 4001 %q", err, "bye from the peer")
		}
		// The peer hears our reply, which repeats the code.
		if e := peer.await(t, "close"); e.num("code") != 4001 {
			t.Fatalf("peer: got close code %d, want our reply with 4001", e.num("code"))
		}
	})
}

// peerKind describes how to run one implementation's peer program.
type peerKind struct {
	name   string
	server func(deflate bool) []string             // argv of its server
	client func(url string, deflate bool) []string // argv of its client
}

// testPeer runs the matrix with pk in both roles, with and without
// permessage-deflate.
func testPeer(t *testing.T, pk peerKind) {
	for _, cm := range compressionModes {
		mode, deflate := cm.name, cm.copts != nil
		t.Run("their client, our server, "+mode, func(t *testing.T) {
			pings := make(pingLog, 8)
			url, conns := ourServer(t, serverOptions(cm.copts, pings))
			p := startPeer(t, pk.name+" client", pk.client(url, deflate)...)
			c := acceptOne(t, conns, p)
			open := p.await(t, "open")
			t.Logf("%s %s client connected: subprotocol %q, extensions %q",
				pk.name, open.str("version"), open.str("protocol"), open.str("extensions"))
			exchange(t, c, p, deflate, pings)

			p = startPeer(t, pk.name+" client", pk.client(url, deflate)...)
			closeFromPeer(t, acceptOne(t, conns, p), p)
		})
		t.Run("our client, their server, "+mode, func(t *testing.T) {
			p := startPeer(t, pk.name+" server", pk.server(deflate)...)
			listening := p.await(t, "listening")
			url := fmt.Sprintf("ws://127.0.0.1:%d/", listening.num("port"))
			pings := make(pingLog, 8)
			c := dialPeer(t, url, dialOptions(cm.copts, pings))
			open := p.await(t, "open")
			t.Logf("%s %s server accepted: subprotocol %q, extensions %q",
				pk.name, listening.str("version"), open.str("protocol"), open.str("extensions"))
			exchange(t, c, p, deflate, pings)

			c = dialPeer(t, url, dialOptions(cm.copts, nil))
			p.await(t, "open")
			closeFromPeer(t, c, p)
		})
	}
}
