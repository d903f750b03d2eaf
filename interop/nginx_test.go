package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsforge/websocket"
)

// nginxPath is Debian's nginx, which interop/setup.sh installs.
const nginxPath = "/usr/sbin/nginx"

// startNginx runs nginx on a free loopback port as a reverse proxy to
// backend (host:port), configured as its documentation says for WebSocket,
// and returns its address. readTimeout is proxy_read_timeout: how long
// nginx keeps a connection on which nothing arrives from the backend.
// Other locations use the same settings. nginx is stopped when t ends.
func startNginx(t *testing.T, backend string, readTimeout time.Duration) string {
	t.Helper()
	if _, err := os.Stat(nginxPath); err != nil {
		missing(t, "nginx not found at %s (Debian package nginx)", nginxPath)
	}
	dir := t.TempDir()
	addr := freePort(t)
	conf := fmt.Sprintf(`
pid %[1]s/nginx.pid;
worker_processes 1;
events { worker_connections 64; }
http {
	access_log %[1]s/access.log;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;

	map $http_upgrade $connection_upgrade {
		default upgrade;
		''      close;
	}
	server {
		listen %[2]s;
		location / {
			proxy_pass http://%[3]s;
			proxy_http_version 1.1;
			proxy_set_header Upgrade $http_upgrade;
			proxy_set_header Connection $connection_upgrade;
			proxy_set_header Host $http_host;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
			proxy_read_timeout %[4]dms;
			proxy_send_timeout 60s;
		}
	}
}
`, dir, addr, backend, readTimeout.Milliseconds())
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	// One process, in the foreground, logging to standard error: stopped
	// by its PID, it leaves nothing behind.
	cmd := exec.Command(nginxPath, "-p", dir, "-c", confPath, "-e", "stderr",
		"-g", "daemon off; master_process off; error_log stderr info;")
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt) // fast shutdown
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("nginx log:\n%s", stderr.String())
		}
	})
	waitListening(t, addr, exited, &stderr)
	return addr
}

// freePort returns a loopback address whose port was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitListening polls addr until a server accepts connections there, or
// the process exits, or 10 s have passed.
func waitListening(t *testing.T, addr string, exited <-chan error, log *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("the server exited (%v) before listening on %s:\n%s", err, addr, log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listening on %s after 10 s:\n%s", addr, log)
		}
	}
}

// TestNginx runs our server behind nginx, configured as a WebSocket
// reverse proxy, and checks that the upgrade, messages, pings both ways and
// the close handshake both ways survive it.
func TestNginx(t *testing.T) {
	pings := make(pingLog, 8)
	url, conns := ourServer(t, &websocket.UpgradeOptions{
		Subprotocols: []string{subprotocol},
		Compression:  &websocket.CompressionOptions{},
		ReadLimit:    8 << 20,
		OnPing:       pings.hook,
	})
	backend := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")
	proxy := startNginx(t, backend, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	clientPings := make(pingLog, 8)
	client := dialThrough(t, ctx, proxy, &websocket.DialOptions{
		Subprotocols: []string{subprotocol},
		Compression:  &websocket.CompressionOptions{},
		ReadLimit:    8 << 20,
		OnPing:       clientPings.hook,
		Header:       map[string][]string{"X-Test": {"through nginx"}},
	})
	var server *websocket.Conn
	select {
	case server = <-conns:
		defer server.CloseNow()
	case <-ctx.Done():
		t.Fatal("the backend got no connection")
	}

	t.Run("upgrade", func(t *testing.T) {
		if got := client.Subprotocol(); got != subprotocol {
			t.Errorf("client: subprotocol %q, want %q", got, subprotocol)
		}
		if got := server.Subprotocol(); got != subprotocol {
			t.Errorf("server: subprotocol %q, want %q", got, subprotocol)
		}
		if got := server.RemoteAddr().String(); !strings.HasPrefix(got, "127.0.0.1:") {
			t.Errorf("server: peer %s, want nginx on loopback", got)
		}
	})

	t.Run("messages both ways", func(t *testing.T) {
		for _, m := range []struct {
			typ  websocket.MessageType
			data []byte
		}{
			{websocket.MessageText, []byte("hello through nginx")},
			{websocket.MessageBinary, randomBytes(4 << 20)},
			{websocket.MessageText, bytes.Repeat([]byte("compressible "), 1<<16)},
			{websocket.MessageBinary, nil},
		} {
			for _, dir := range []struct {
				name     string
				from, to *websocket.Conn
			}{
				{"client to server", client, server},
				{"server to client", server, client},
			} {
				if err := dir.from.Write(ctx, m.typ, m.data); err != nil {
					t.Fatalf("%s: Write: %v", dir.name, err)
				}
				typ, got, err := dir.to.Read(ctx, nil)
				if err != nil || typ != m.typ || !bytes.Equal(got, m.data) {
					t.Fatalf("%s: got %v of %d bytes, %v; want %v of %d bytes", dir.name, typ, len(got), err, m.typ, len(m.data))
				}
			}
		}
	})

	t.Run("ping from the client", func(t *testing.T) {
		testPingThrough(t, ctx, client, server, pings)
	})
	t.Run("ping from the server", func(t *testing.T) {
		testPingThrough(t, ctx, server, client, clientPings)
	})

	t.Run("close from the client", func(t *testing.T) {
		read := make(chan error, 1)
		go func() {
			_, _, err := server.Read(ctx, nil)
			read <- err
		}()
		if err := client.Close(4003, "client leaving via nginx"); err != nil {
			t.Fatalf("client: Close: %v (the server's reply did not come back)", err)
		}
		var ce *websocket.CloseError
		if err := <-read; !errors.As(err, &ce) || ce.Code != 4003 || ce.Reason != "client leaving via nginx" {
			t.Fatalf("server: got %v, want 4003 %q", err, "client leaving via nginx")
		}
	})

	// A second connection, which the server closes.
	client = dialThrough(t, ctx, proxy, &websocket.DialOptions{Subprotocols: []string{subprotocol}})
	server = <-conns
	defer server.CloseNow()
	t.Run("close from the server", func(t *testing.T) {
		read := make(chan error, 1)
		go func() {
			_, _, err := client.Read(ctx, nil)
			read <- err
		}()
		if err := server.Close(4004, "server leaving via nginx"); err != nil {
			t.Fatalf("server: Close: %v (the client's reply did not come back)", err)
		}
		var ce *websocket.CloseError
		if err := <-read; !errors.As(err, &ce) || ce.Code != 4004 || ce.Reason != "server leaving via nginx" {
			t.Fatalf("client: got %v, want 4004 %q", err, "server leaving via nginx")
		}
	})
}

// testPingThrough pings to from from: the pong must come back, and to's
// OnPing hook (logging to pings) must see the ping.
func testPingThrough(t *testing.T, ctx context.Context, from, to *websocket.Conn, pings pingLog) {
	// Both ends need a reader: from for the pong, to for the ping. The
	// reader of to then gets a message that ends it.
	toRead := make(chan error, 1)
	go func() {
		_, _, err := to.Read(ctx, nil)
		toRead <- err
	}()
	fromRead := make(chan error, 1)
	go func() {
		_, _, err := from.Read(ctx, nil)
		fromRead <- err
	}()
	if err := from.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	select {
	case <-pings:
	default:
		t.Error("the ping was not seen at the other end")
	}
	from.Write(ctx, websocket.MessageText, []byte("end of the read"))
	to.Write(ctx, websocket.MessageText, []byte("end of the read"))
	if err := <-toRead; err != nil {
		t.Fatal(err)
	}
	if err := <-fromRead; err != nil {
		t.Fatal(err)
	}
}

// TestNginxHeartbeat checks that the heartbeat keeps a quiet connection
// open through nginx past its proxy_read_timeout, which closes the same
// connection without one.
func TestNginxHeartbeat(t *testing.T) {
	const readTimeout = 1500 * time.Millisecond
	tests := []struct {
		name         string
		pingInterval time.Duration
		wantOpen     bool
	}{
		{
			name:         "no heartbeat: nginx closes the quiet connection",
			pingInterval: 0,
			wantOpen:     false,
		},
		{
			name:         "heartbeat every 400 ms: the connection stays",
			pingInterval: 400 * time.Millisecond,
			wantOpen:     true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// PongTimeout stays at its default, PingInterval: the heartbeat
			// sends its next ping only once the last one's answer is due.
			url, conns := ourServer(t, &websocket.UpgradeOptions{PingInterval: tt.pingInterval})
			backend := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")
			proxy := startNginx(t, backend, readTimeout)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			client := dialThrough(t, ctx, proxy, nil)
			server := <-conns
			defer server.CloseNow()
			go func() { // the server reads, to get the pongs
				for {
					if _, _, err := server.Read(ctx, nil); err != nil {
						return
					}
				}
			}()

			// Nothing to read for twice the proxy's timeout.
			rctx, rcancel := context.WithTimeout(ctx, 2*readTimeout)
			defer rcancel()
			_, _, err := client.Read(rctx, nil)
			open := errors.Is(err, context.DeadlineExceeded)
			if open != tt.wantOpen {
				t.Fatalf("after %v quiet: Read returned %v; want the connection open: %v", 2*readTimeout, err, tt.wantOpen)
			}
			if open {
				roundTripServer(t, ctx, client, server)
			}
		})
	}
}

// roundTripServer sends a message from client to server, which a reader
// goroutine of server consumes: only the Write can be checked here.
func roundTripServer(t *testing.T, ctx context.Context, client, server *websocket.Conn) {
	t.Helper()
	if err := client.Write(ctx, websocket.MessageText, []byte("still there")); err != nil {
		t.Fatalf("Write after the quiet time: %v", err)
	}
	if err := client.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("Close after the quiet time: %v", err)
	}
}

// dialThrough dials the WebSocket endpoint behind the proxy at addr.
func dialThrough(t *testing.T, ctx context.Context, addr string, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.Dial(ctx, "ws://"+addr+"/", opts)
	if err != nil {
		t.Fatalf("Dial through nginx: %v", err)
	}
	if got := resp.Header.Get("Server"); !strings.HasPrefix(got, "nginx") {
		t.Errorf("Server header %q: the answer did not come through nginx", got)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}
