package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/conntrack"
)

func TestPrometheus(t *testing.T) {
	ws := &conntrack.Tracker{}
	srv := httptest.NewServer(newHandler(ws, prometheus.NewRegistry()))
	defer srv.Close()
	ctx := context.Background()

	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"one", "two"} {
		if err := c.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.Read(ctx, nil); err != nil || string(got) != m {
			t.Fatalf("echo: got %q, %v", got, err)
		}
	}
	// A refused upgrade: a plain GET.
	if resp, err := http.Get(srv.URL + "/ws"); err == nil {
		resp.Body.Close()
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
	ws.Shutdown(ctx) // also waits until the server has seen the close

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		"websocket_connections_total 1",
		"websocket_connections_active 0",
		`websocket_handshake_failures_total{reason="bad_request"} 1`,
		`websocket_messages_total{direction="in"} 2`,
		`websocket_payload_bytes_total{direction="out"} 6`,
		`websocket_close_frames_total{code="1000",direction="received"} 1`,
		`websocket_connection_errors_total{kind="pong_timeout"} 0`,
		"websocket_connection_messages_in_count 1",
		"websocket_connection_messages_in_sum 2",
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}
}
