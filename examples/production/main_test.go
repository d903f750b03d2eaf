package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/conntrack"
	"github.com/wsforge/websocket/internal/wstest"
)

// metrics fetches the server's /metrics.
func metrics(t *testing.T, addr string) conntrack.Metrics {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m conntrack.Metrics
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// eventually polls cond every few milliseconds for up to ten seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// dialSilent opens a WebSocket connection by hand and then never reads or
// writes again: a client whose machine vanished.
func dialSilent(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("silent client: %v %v", resp, err)
	}
	return nc
}

// syncBuilder is a strings.Builder that several goroutines may write to.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncBuilder) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuilder) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestProduction(t *testing.T) {
	wstest.CheckLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	var log syncBuilder
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, ln, config{maxConns: 3, pingInterval: 100 * time.Millisecond, grace: 5 * time.Second, log: &log})
	}()
	defer func() {
		cancel()
		<-done
	}()

	// Two clients that echo, one that goes silent.
	var clients []*websocket.Conn
	for range 2 {
		c, _, err := websocket.Dial(context.Background(), "ws://"+addr+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if err := c.Write(context.Background(), websocket.MessageText, []byte("hello")); err != nil {
			t.Fatal(err)
		}
		if _, msg, err := c.Read(context.Background(), nil); err != nil || string(msg) != "hello" {
			t.Fatalf("echo: got %q, %v", msg, err)
		}
		clients = append(clients, c)
	}
	silent := dialSilent(t, addr)
	defer silent.Close()

	// The cap: a fourth client is turned away with 503 and Retry-After.
	_, resp, err := websocket.Dial(context.Background(), "ws://"+addr+"/ws", nil)
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil ||
		resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the cap: got %v, %v; want 503 with Retry-After", resp, err)
	}

	// The heartbeat: the silent client is found dead and its place freed,
	// while the two live ones, whose reads are below, answer the pings.
	ended := make(chan error, len(clients))
	for _, c := range clients {
		go func() {
			for {
				if _, _, err := c.Read(context.Background(), nil); err != nil {
					ended <- err
					return
				}
			}
		}()
	}
	eventually(t, "the pong timeout", func() bool {
		m := metrics(t, addr)
		return m.PongTimeouts == 1 && m.ConnsActive == 2 // forgotten a moment after it closed
	})
	m := metrics(t, addr)
	if m.ConnsActive != 2 || m.ConnsTotal != 3 || m.HandshakeFailures[conntrack.FailureOverCapacity] != 1 {
		t.Errorf("metrics: got %+v", m)
	}

	// The graceful shutdown: both clients get 1001 and run() returns.
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	done <- nil // for the deferred receive
	for range clients {
		if err := <-ended; websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("client: got %v, want 1001", err)
		}
	}
	if !strings.Contains(log.String(), "shut down: 3 connections served") {
		t.Errorf("log: %s", log.String())
	}
}
