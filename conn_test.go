package websocket

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wsforge/websocket/internal/wstest"
)

// newPair returns the two ends of a connection made by Upgrade over loopback
// TCP, with a raw client handshake so that it does not depend on Dial.
func newPair(t testing.TB, so *UpgradeOptions, co *DialOptions) (server, client *Conn) {
	t.Helper()
	wstest.CheckLeaks(t)
	accepted := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r, so)
		if err != nil {
			t.Errorf("Upgrade: %v", err)
		}
		accepted <- c
	}))
	t.Cleanup(srv.Close)
	client = rawDial(t, srv.Listener.Addr().String(), co)
	server = <-accepted
	if server == nil {
		t.FailNow()
	}
	t.Cleanup(func() {
		server.CloseNow()
		client.CloseNow()
	})
	return server, client
}

// rawDial performs a minimal client handshake against addr.
func rawDial(t testing.TB, addr string, co *DialOptions) *Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n"
	if co != nil && co.Compression != nil {
		req += "Sec-WebSocket-Extensions: " + offerDeflate(co.Compression) + "\r\n"
	}
	req += "\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	cfg := co.connConfig()
	br := bufio.NewReaderSize(nc, cfg.readBufferSize)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	accept := acceptKey(key)
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != string(accept[:]) {
		t.Fatalf("handshake: got %s %v", resp.Status, resp.Header)
	}
	var ext *CompressionOptions
	if co != nil {
		ext = co.Compression
	}
	if cfg.deflate, err = verifyDeflate(resp.Header, ext); err != nil {
		t.Fatal(err)
	}
	return newConn(nc, br, true, cfg)
}

func TestEchoSmoke(t *testing.T) {
	ctx := context.Background()
	server, client := newPair(t, nil, nil)
	go func() {
		for {
			typ, msg, err := server.Read(ctx, nil)
			if err != nil {
				return
			}
			server.Write(ctx, typ, msg)
		}
	}()
	for _, size := range []int{0, 1, 125, 126, 65535, 65536, 1 << 20} {
		msg := []byte(strings.Repeat("x", size))
		if err := client.Write(ctx, MessageText, msg); err != nil {
			t.Fatal(err)
		}
		typ, got, err := client.Read(ctx, nil)
		if err != nil || typ != MessageText || string(got) != string(msg) {
			t.Fatalf("size %d: got %v %d bytes %v", size, typ, len(got), err)
		}
	}
	if err := client.Close(StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
