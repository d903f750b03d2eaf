package websocket

// The peers of the hostile-input catalogue (hostile_test.go): a raw client
// against Upgrade behind net/http, and a raw server answering Dial. Each
// sends an entry's bytes and reports what came of them.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"

	"github.com/wsforge/websocket/internal/wstest"
)

// bufferedConn reads through a bufio.Reader that may hold bytes already.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// hostileWire encodes the frames of tc as the peer sends them, then raw.
func hostileWire(tc hostileCase) []byte {
	var b []byte
	for _, f := range tc.frames {
		if !tc.client {
			f.Masked, f.Key = true, rfcKey
		}
		b = wstest.AppendFrame(b, f)
	}
	return append(b, tc.raw...)
}

// hostileOutcome is what an entry came to.
type hostileOutcome struct {
	status   int   // the HTTP status the server answered (101 for a client that connected)
	refusal  error // the error of Upgrade or Dial
	ran      bool  // Upgrade or Dial ran (net/http may refuse before)
	msgs     int
	readErr  error
	sent     StatusCode // the close code the peer received, 0 for none
	peerErr  error      // how the peer's reading ended, if not at a close frame
	allocted uint64
}

// sendAndHalfClose writes b on nc and then shuts down the writing side, so
// that a reader waiting for more sees the end of the stream.
func sendAndHalfClose(nc net.Conn, b []byte) {
	nc.Write(b)
	nc.(*net.TCPConn).CloseWrite()
}

// readOurClose reads the frames our side sends until its close frame, and
// returns its code (0 if the connection ended first).
func readOurClose(p *wstest.RawPeer) (StatusCode, error) {
	code, _, err := p.ReadClose()
	return StatusCode(code), err
}

// readAllCount reads messages until an error and counts them.
func readAllCount(c *Conn) (int, error) {
	n := 0
	for {
		if _, _, err := c.Read(context.Background(), nil); err != nil {
			return n, err
		}
		n++
	}
}

// runHostileServer plays tc's peer against a server calling Upgrade.
func runHostileServer(tc hostileCase) (hostileOutcome, error) {
	type served struct {
		ran     bool
		refusal error
		msgs    int
		readErr error
	}
	results := make(chan served, 1)
	opts := &UpgradeOptions{ReadLimit: tc.limit}
	if tc.compress || strings.Contains(tc.handshake, "permessage-deflate") {
		opts.Compression = &CompressionOptions{}
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r, opts)
		if err != nil {
			results <- served{ran: true, refusal: err}
			return
		}
		n, err := readAllCount(c)
		c.CloseNow()
		results <- served{ran: true, msgs: n, readErr: err}
	}))
	srv.Config.ReadHeaderTimeout = testTimeout
	srv.Start()
	defer srv.Close()

	req := tc.handshake
	if req == "" {
		req = request("GET /chat HTTP/1.1", "")
	}
	if tc.compress {
		req = strings.TrimSuffix(req, "\r\n") + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
	}
	wire := append([]byte(req), hostileWire(tc)...)

	var out hostileOutcome
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	nc, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		return out, err
	}
	defer nc.Close()
	go sendAndHalfClose(nc, wire)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return out, fmt.Errorf("reading the response: %w", err)
	}
	resp.Body.Close()
	out.status = resp.StatusCode
	if resp.StatusCode == http.StatusSwitchingProtocols {
		out.sent, out.peerErr = readOurClose(wstest.NewRawPeer(&bufferedConn{Conn: nc, r: br}, true))
		nc.Close()
		s := <-results
		out.ran, out.msgs, out.readErr = s.ran, s.msgs, s.readErr
	} else {
		nc.Close()
		srv.Close() // waits for the handler, if net/http called it
		select {
		case s := <-results:
			out.ran, out.refusal = s.ran, s.refusal
		default:
		}
	}
	runtime.ReadMemStats(&after)
	out.allocted = after.TotalAlloc - before.TotalAlloc
	return out, nil
}

// runHostileClient plays tc's peer as a server answering Dial.
func runHostileClient(tc hostileCase) (hostileOutcome, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return hostileOutcome{}, err
	}
	defer ln.Close()
	wire := hostileWire(tc)
	type peerResult struct {
		sent StatusCode
		err  error
	}
	peerDone := make(chan peerResult, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			peerDone <- peerResult{err: err}
			return
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		req, err := http.ReadRequest(br)
		if err != nil {
			peerDone <- peerResult{err: err}
			return
		}
		resp := tc.handshake
		if resp == "" {
			resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
			if tc.compress {
				resp += "Sec-WebSocket-Extensions: permessage-deflate\r\n"
			}
			resp += "\r\n"
		}
		resp = strings.ReplaceAll(resp, "{accept}", refAccept(req.Header.Get("Sec-WebSocket-Key")))
		go func() {
			nc.Write([]byte(resp))
			sendAndHalfClose(nc, wire)
		}()
		sent, err := readOurClose(wstest.NewRawPeer(&bufferedConn{Conn: nc, r: br}, false))
		peerDone <- peerResult{sent, err}
	}()

	opts := &DialOptions{ReadLimit: tc.limit, Proxy: noProxy}
	if tc.compress {
		opts.Compression = &CompressionOptions{}
	}
	var out hostileOutcome
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, _, err := Dial(ctx, "ws://"+ln.Addr().String()+"/chat", opts)
	out.ran = true
	if err != nil {
		out.refusal = err
	} else {
		out.status = http.StatusSwitchingProtocols
		out.msgs, out.readErr = readAllCount(c)
		c.CloseNow()
	}
	p := <-peerDone
	out.sent, out.peerErr = p.sent, p.err
	runtime.ReadMemStats(&after)
	out.allocted = after.TotalAlloc - before.TotalAlloc
	return out, nil
}
