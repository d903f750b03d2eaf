// Package websockettest provides utilities for testing code that uses
// package websocket: pairs of connected [*websocket.Conn] made with a real
// opening handshake and real framing, over loopback TCP or in memory, and
// a test server with a ws:// URL, in the manner of net/http/httptest.
package websockettest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wsforge/websocket"
)

// HandshakeTimeout bounds the opening handshake of Pair and Pipe.
const HandshakeTimeout = 10 * time.Second

// Server is an HTTP test server whose URL is a ws:// URL.
type Server struct {
	// URL is the server's base URL, of the form ws://127.0.0.1:port.
	URL string
	// HTTP is the underlying test server.
	HTTP *httptest.Server
}

// NewServer starts a test server on a loopback port serving h, which
// typically calls [websocket.Upgrade]. Close it when done.
func NewServer(h http.Handler) *Server {
	hs := httptest.NewServer(h)
	return &Server{URL: "ws" + strings.TrimPrefix(hs.URL, "http"), HTTP: hs}
}

// Close shuts the server down. Connections already upgraded are not
// closed: they belong to the code that upgraded them.
func (s *Server) Close() { s.HTTP.Close() }

// Pair returns the two ends of a WebSocket connection over loopback TCP:
// server made by [websocket.Upgrade] with so, client by [websocket.Dial]
// with co. The caller closes both.
func Pair(so *websocket.UpgradeOptions, co *websocket.DialOptions) (server, client *websocket.Conn, err error) {
	var ln net.Listener
	if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, nil, err
	}
	return pair(ln, "ws://"+ln.Addr().String()+"/", so, co)
}

// Pipe is [Pair] in memory, over [net.Pipe]: no port, no descriptor. As
// with net.Pipe, nothing is buffered between the ends: a write returns once
// the other end has read it, so keep a goroutine reading each end that
// the other writes to.
func Pipe(so *websocket.UpgradeOptions, co *websocket.DialOptions) (server, client *websocket.Conn, err error) {
	theirs, ours := net.Pipe()
	var o websocket.DialOptions
	if co != nil {
		o = *co
	}
	o.NetDialContext = func(context.Context, string, string) (net.Conn, error) { return ours, nil }
	o.Proxy = noProxy
	server, client, err = pair(newOneConnListener(theirs), "ws://pipe/", so, &o)
	if err != nil {
		theirs.Close()
		ours.Close()
	}
	return server, client, err
}

func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

// pair serves ln until one connection has been upgraded and dials it.
func pair(ln net.Listener, u string, so *websocket.UpgradeOptions, co *websocket.DialOptions) (server, client *websocket.Conn, err error) {
	type upgraded struct {
		c   *websocket.Conn
		err error
	}
	accepted := make(chan upgraded, 1)
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, so)
		accepted <- upgraded{c, err}
	})}
	go hs.Serve(ln)
	defer hs.Close()

	ctx, cancel := context.WithTimeout(context.Background(), HandshakeTimeout)
	defer cancel()
	client, _, err = websocket.Dial(ctx, u, co)
	if err != nil {
		return nil, nil, err
	}
	select {
	case up := <-accepted:
		if up.err != nil {
			client.CloseNow()
			return nil, nil, up.err
		}
		return up.c, client, nil
	case <-ctx.Done():
		client.CloseNow()
		return nil, nil, errors.New("websockettest: the server did not upgrade")
	}
}

// oneConnListener hands out one connection, then blocks until closed.
type oneConnListener struct {
	mu     sync.Mutex
	nc     net.Conn
	closed chan struct{}
	once   sync.Once
}

func newOneConnListener(nc net.Conn) *oneConnListener {
	return &oneConnListener{nc: nc, closed: make(chan struct{})}
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	nc := l.nc
	l.nc = nil
	l.mu.Unlock()
	if nc != nil {
		return nc, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
