package websocket_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/wsforge/websocket"
)

// A server that refuses the handshake: its response tells why.
func ExampleDial_refused() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "missing token", http.StatusUnauthorized)
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, srv.URL, nil)
	var he *websocket.HandshakeError
	if errors.As(err, &he) {
		body, _ := io.ReadAll(resp.Body) // at most the first KiB
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
		fmt.Println(he.Reason)
	}
	// Output:
	// 401 missing token
	// server did not switch protocols
}

// A client behind an HTTP proxy that authenticates with a bearer token,
// offers a subprotocol and compression, and requires TLS 1.3.
func ExampleDialOptions() {
	proxyURL, err := url.Parse("http://user:secret@proxy.internal:3128")
	if err != nil {
		log.Fatal(err)
	}
	opts := &websocket.DialOptions{
		Proxy:        http.ProxyURL(proxyURL),
		TLSConfig:    &tls.Config{MinVersion: tls.VersionTLS13},
		Header:       http.Header{"Authorization": {"Bearer my-token"}},
		Subprotocols: []string{"chat.v2", "chat.v1"},
		Compression:  &websocket.CompressionOptions{},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "wss://chat.example.com/room/42", opts)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	fmt.Println("speaking", c.Subprotocol())
	c.Close(websocket.StatusNormalClosure, "")
}
