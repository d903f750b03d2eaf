package websocket

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

// dialFake is a raw TCP server for Dial tests. For each connection it reads
// the handshake request, records it and calls respond; then it discards what
// the client sends until the client closes.
type dialFake struct {
	addr string
	reqs chan *http.Request
}

func newDialFake(t *testing.T, network, addr string, respond func(nc net.Conn, req *http.Request)) *dialFake {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	f := &dialFake{addr: ln.Addr().String(), reqs: make(chan *http.Request, 16)}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			wg.Go(func() {
				defer nc.Close()
				br := bufio.NewReader(nc)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				f.reqs <- req
				respond(nc, req)
				io.Copy(io.Discard, br)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, nc := range conns {
			nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return f
}

// write101 answers req with a valid 101 and extra header lines and bytes.
func write101(nc net.Conn, req *http.Request, headers, after string) {
	accept := acceptKey(req.Header.Get("Sec-WebSocket-Key"))
	nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + string(accept[:]) + "\r\n" + headers + "\r\n" + after))
}

func TestDialResponseVerification(t *testing.T) {
	wstest.CheckLeaks(t)
	// Responses are written as is, with {accept} replaced by the right
	// Sec-WebSocket-Accept; valid101 lacks only the final blank line.
	const valid101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
	bigBody := strings.Repeat("0123456789abcdef", 640) // 10 KiB
	tests := []struct {
		name       string
		offer      []string
		compress   *CompressionOptions
		response   string
		wantStatus int
		wantReason string
		wantBody   string
	}{
		{
			name:       "401 with body",
			response:   "HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\n\r\nlogin please",
			wantStatus: 401,
			wantReason: "did not switch protocols",
			wantBody:   "login please",
		},
		{
			name:       "403",
			response:   "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
			wantStatus: 403,
			wantReason: "did not switch protocols",
		},
		{
			name:       "426",
			response:   "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 4\r\n\r\nv13!",
			wantStatus: 426,
			wantReason: "did not switch protocols",
			wantBody:   "v13!",
		},
		{
			name:       "200",
			response:   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			wantStatus: 200,
			wantReason: "did not switch protocols",
			wantBody:   "ok",
		},
		{
			name:       "10 KiB body is cut to 1 KiB",
			response:   "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 10240\r\n\r\n" + bigBody,
			wantStatus: 500,
			wantReason: "did not switch protocols",
			wantBody:   bigBody[:1024],
		},
		{
			name:       "chunked body",
			response:   "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nbad\r\n0\r\n\r\n",
			wantStatus: 400,
			wantReason: "did not switch protocols",
			wantBody:   "bad",
		},
		{
			name:       "missing Upgrade",
			response:   "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
			wantStatus: 101,
			wantReason: "Upgrade header",
		},
		{
			name:       "Upgrade to another protocol",
			response:   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
			wantStatus: 101,
			wantReason: "Upgrade header",
		},
		{
			name:       "missing Connection",
			response:   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
			wantStatus: 101,
			wantReason: "Connection header",
		},
		{
			name:       "Connection without upgrade",
			response:   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
			wantStatus: 101,
			wantReason: "Connection header",
		},
		{
			name:       "wrong accept",
			response:   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
			wantStatus: 101,
			wantReason: "Sec-WebSocket-Accept",
		},
		{
			name:       "missing accept",
			response:   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
			wantStatus: 101,
			wantReason: "Sec-WebSocket-Accept",
		},
		{
			name:       "two accepts",
			response:   valid101 + "Sec-WebSocket-Accept: {accept}\r\n\r\n",
			wantStatus: 101,
			wantReason: "Sec-WebSocket-Accept",
		},
		{
			name:       "subprotocol not offered",
			offer:      []string{"chat"},
			response:   valid101 + "Sec-WebSocket-Protocol: mqtt\r\n\r\n",
			wantStatus: 101,
			wantReason: `subprotocol "mqtt"`,
		},
		{
			name:       "subprotocol when none offered",
			response:   valid101 + "Sec-WebSocket-Protocol: chat\r\n\r\n",
			wantStatus: 101,
			wantReason: `subprotocol "chat"`,
		},
		{
			name:       "two subprotocols",
			offer:      []string{"chat", "mqtt"},
			response:   valid101 + "Sec-WebSocket-Protocol: chat, mqtt\r\n\r\n",
			wantStatus: 101,
			wantReason: "more than one subprotocol",
		},
		{
			name:       "extension not offered",
			response:   valid101 + "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n",
			wantStatus: 101,
			wantReason: "not offered",
		},
		{
			name:       "extension other than the one offered",
			compress:   &CompressionOptions{},
			response:   valid101 + "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n\r\n",
			wantStatus: 101,
			wantReason: "not offered",
		},
		{
			name:       "deflate parameters out of range",
			compress:   &CompressionOptions{},
			response:   valid101 + "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=20\r\n\r\n",
			wantStatus: 101,
			wantReason: "permessage-deflate response",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newDialFake(t, "tcp", "127.0.0.1:0", func(nc net.Conn, req *http.Request) {
				accept := acceptKey(req.Header.Get("Sec-WebSocket-Key"))
				nc.Write([]byte(strings.ReplaceAll(tt.response, "{accept}", string(accept[:]))))
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, resp, err := Dial(ctx, "ws://"+f.addr+"/", &DialOptions{Subprotocols: tt.offer, Compression: tt.compress, Proxy: noProxy})
			if c != nil {
				c.CloseNow()
				t.Fatal("Dial succeeded, want an error")
			}
			if !errors.Is(err, ErrBadHandshake) {
				t.Fatalf("got error %v, want one wrapping ErrBadHandshake", err)
			}
			var he *HandshakeError
			if !errors.As(err, &he) {
				t.Fatalf("got error %T, want *HandshakeError", err)
			}
			if !strings.Contains(he.Reason, tt.wantReason) {
				t.Errorf("got reason %q, want it to contain %q", he.Reason, tt.wantReason)
			}
			if resp == nil || he.Response != resp {
				t.Fatalf("got response %v (error's %v), want the same non-nil response", resp, he.Response)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("reading body: %v", err)
			}
			if string(body) != tt.wantBody {
				t.Errorf("got body of %d bytes %.40q, want %d bytes %.40q", len(body), body, len(tt.wantBody), tt.wantBody)
			}
		})
	}
}

// TestDialErrorBodyBounded checks that a refusing server that never ends
// its body holds Dial for at most maxErrorBodyWait, not until ctx ends.
func TestDialErrorBodyBounded(t *testing.T) {
	wstest.CheckLeaks(t)
	f := newDialFake(t, "tcp", "127.0.0.1:0", func(nc net.Conn, req *http.Request) {
		nc.Write([]byte("HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\nno entry"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	_, resp, err := Dial(ctx, "ws://"+f.addr, &DialOptions{Proxy: noProxy})
	if !errors.Is(err, ErrBadHandshake) || resp == nil {
		t.Fatalf("got %v, %v, want a response and ErrBadHandshake", resp, err)
	}
	if d := time.Since(start); d > maxErrorBodyWait+5*time.Second {
		t.Errorf("Dial took %v, want about %v", d, maxErrorBodyWait)
	}
	if body, _ := io.ReadAll(resp.Body); string(body) != "no entry" {
		t.Errorf("got body %q, want %q", body, "no entry")
	}
}

// TestDialHeaderTooLarge checks that a response whose headers never end is
// refused once it passes maxResponseHeaderBytes.
func TestDialHeaderTooLarge(t *testing.T) {
	wstest.CheckLeaks(t)
	f := newDialFake(t, "tcp", "127.0.0.1:0", func(nc net.Conn, req *http.Request) {
		line := []byte("X-Filler: " + strings.Repeat("f", 1000) + "\r\n")
		if _, err := nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\n")); err != nil {
			return
		}
		for {
			if _, err := nc.Write(line); err != nil {
				return // the client gave up
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp, err := Dial(ctx, "ws://"+f.addr, &DialOptions{Proxy: noProxy})
	if resp != nil || err == nil || !strings.Contains(err.Error(), errResponseTooLarge.Error()) {
		t.Fatalf("got %v, %v, want the error %q", resp, err, errResponseTooLarge)
	}
}

func TestDialRequest(t *testing.T) {
	wstest.CheckLeaks(t)
	refuse := func(nc net.Conn, req *http.Request) {
		nc.Write([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
	}
	f := newDialFake(t, "tcp", "127.0.0.1:0", refuse)
	tests := []struct {
		name     string
		url      string
		opts     DialOptions
		wantURI  string
		wantHost string
		wantHdr  map[string]string
	}{
		{
			name:     "plain",
			url:      "ws://" + f.addr,
			wantURI:  "/",
			wantHost: f.addr,
			wantHdr:  map[string]string{"Sec-WebSocket-Protocol": "", "Authorization": ""},
		},
		{
			name:     "http scheme, path and query",
			url:      "http://" + f.addr + "/chat/room%201?id=7&x=y",
			wantURI:  "/chat/room%201?id=7&x=y",
			wantHost: f.addr,
		},
		{
			name: "options",
			url:  "ws://" + f.addr + "/c",
			opts: DialOptions{
				Host:         "example.com",
				Subprotocols: []string{"v2.chat", "v1.chat"},
				Header:       http.Header{"X-Token": {"abc"}, "Origin": {"https://example.com"}},
			},
			wantURI:  "/c",
			wantHost: "example.com",
			wantHdr: map[string]string{
				"Sec-WebSocket-Protocol": "v2.chat, v1.chat",
				"X-Token":                "abc",
				"Origin":                 "https://example.com",
			},
		},
		{
			name:     "user info becomes basic auth",
			url:      "ws://alice:s3cret@" + f.addr,
			wantURI:  "/",
			wantHost: f.addr,
			wantHdr:  map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Proxy = noProxy
			keys := make(map[string]bool)
			for range 2 { // the key must differ between connections
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, _, err := Dial(ctx, tt.url, &tt.opts)
				cancel()
				if !errors.Is(err, ErrBadHandshake) {
					t.Fatalf("got error %v, want ErrBadHandshake from the 403", err)
				}
				req := <-f.reqs
				if req.Method != http.MethodGet || req.Proto != "HTTP/1.1" {
					t.Errorf("got %s %s, want GET HTTP/1.1", req.Method, req.Proto)
				}
				if req.RequestURI != tt.wantURI {
					t.Errorf("got request URI %q, want %q", req.RequestURI, tt.wantURI)
				}
				if req.Host != tt.wantHost {
					t.Errorf("got Host %q, want %q", req.Host, tt.wantHost)
				}
				want := map[string]string{
					"Upgrade":               "websocket",
					"Connection":            "Upgrade",
					"Sec-WebSocket-Version": "13",
				}
				for k, v := range tt.wantHdr {
					want[k] = v
				}
				for k, v := range want {
					if got := strings.Join(req.Header.Values(k), ","); got != v {
						t.Errorf("got %s %q, want %q", k, got, v)
					}
				}
				key := req.Header.Get("Sec-WebSocket-Key")
				if raw, err := base64.StdEncoding.Strict().DecodeString(key); err != nil || len(raw) != 16 {
					t.Errorf("got Sec-WebSocket-Key %q, want the Base64 of 16 bytes", key)
				}
				if keys[key] {
					t.Errorf("Sec-WebSocket-Key %q reused", key)
				}
				keys[key] = true
			}
		})
	}
}

// TestDialIPv6 checks that Dial takes an IPv6 literal out of the URL's
// brackets: it dials the literal with the URL's port (or the scheme's) and
// sends the bracketed host, without a zone, as Host (RFC 6455 §3, §4.1
// item 4; RFC 3986 §3.2.2; RFC 6874). It needs no IPv6 stack: the
// connection goes to an IPv4 loopback server whatever address Dial asks for.
func TestDialIPv6(t *testing.T) {
	wstest.CheckLeaks(t)
	tests := []struct {
		name     string
		url      string
		wantAddr string // what Dial dials
		wantHost string // the Host header
	}{
		{
			name:     "loopback with port",
			url:      "ws://[::1]:8080/v6",
			wantAddr: "[::1]:8080",
			wantHost: "[::1]:8080",
		},
		{
			name:     "default port",
			url:      "ws://[::1]/v6",
			wantAddr: "[::1]:80",
			wantHost: "[::1]",
		},
		{
			name:     "empty port",
			url:      "ws://[::1]:/v6",
			wantAddr: "[::1]:80",
			wantHost: "[::1]",
		},
		{
			name:     "http scheme",
			url:      "http://[2001:db8::7]:9000/v6",
			wantAddr: "[2001:db8::7]:9000",
			wantHost: "[2001:db8::7]:9000",
		},
		{
			name:     "zone",
			url:      "ws://[fe80::1%25eth0]:8080/v6",
			wantAddr: "[fe80::1%eth0]:8080",
			wantHost: "[fe80::1]:8080",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newDialFake(t, "tcp4", "127.0.0.1:0", func(nc net.Conn, req *http.Request) {
				nc.Write([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
			})
			dialled := make(chan string, 1)
			opts := &DialOptions{
				Proxy: noProxy,
				NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					dialled <- network + " " + addr
					var d net.Dialer
					return d.DialContext(ctx, "tcp4", f.addr)
				},
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _, err := Dial(ctx, tt.url, opts)
			if !errors.Is(err, ErrBadHandshake) {
				t.Fatalf("got error %v, want ErrBadHandshake from the 403", err)
			}
			if got, want := <-dialled, "tcp "+tt.wantAddr; got != want {
				t.Errorf("got dial %q, want %q", got, want)
			}
			if req := <-f.reqs; req.Host != tt.wantHost {
				t.Errorf("got Host %q, want %q", req.Host, tt.wantHost)
			}
		})
	}
}

// TestDialBadInput checks that invalid URLs and options are refused before
// anything is dialled.
func TestDialBadInput(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts DialOptions
		want string
	}{
		{name: "scheme", url: "ftp://example.com/", want: "scheme must be ws, wss, http or https"},
		{name: "no scheme", url: "example.com/chat", want: "scheme must be"},
		{name: "fragment", url: "ws://example.com/chat#top", want: "fragment"},
		{name: "empty fragment", url: "ws://example.com/chat#", want: "fragment"},
		{name: "no host", url: "ws:///chat", want: "missing host"},
		{name: "opaque", url: "ws:chat", want: "missing host"},
		{name: "unparsable", url: "ws://[::1", want: "missing ']'"},
		{name: "reserved header", url: "ws://example.com", opts: DialOptions{Header: http.Header{"Upgrade": {"h2c"}}}, want: "header Upgrade may not be set"},
		{name: "reserved header, any case", url: "ws://example.com", opts: DialOptions{Header: http.Header{"sec-websocket-key": {"x"}}}, want: "may not be set"},
		{name: "extensions header", url: "ws://example.com", opts: DialOptions{Header: http.Header{"Sec-WebSocket-Extensions": {"x"}}}, want: "Compression instead"},
		{name: "version header", url: "ws://example.com", opts: DialOptions{Header: http.Header{"Sec-WebSocket-Version": {"8"}}}, want: "may not be set"},
		{name: "connection header", url: "ws://example.com", opts: DialOptions{Header: http.Header{"Connection": {"close"}}}, want: "may not be set"},
		{name: "protocol header", url: "ws://example.com", opts: DialOptions{Header: http.Header{"Sec-WebSocket-Protocol": {"x"}}}, want: "Subprotocols instead"},
		{name: "host header", url: "ws://example.com", opts: DialOptions{Header: http.Header{"Host": {"x"}}}, want: "DialOptions.Host instead"},
		{name: "header injection", url: "ws://example.com", opts: DialOptions{Header: http.Header{"X-A": {"1\r\nX-B: 2"}}}, want: "invalid value for header X-A"},
		{name: "bad header name", url: "ws://example.com", opts: DialOptions{Header: http.Header{"X A": {"1"}}}, want: "invalid header name"},
		{name: "bad host", url: "ws://example.com", opts: DialOptions{Host: "a\r\nb"}, want: "invalid Host"},
		{name: "bad subprotocol", url: "ws://example.com", opts: DialOptions{Subprotocols: []string{"chat v1"}}, want: "DialOptions.Subprotocols"},
		{name: "empty subprotocol", url: "ws://example.com", opts: DialOptions{Subprotocols: []string{""}}, want: "DialOptions.Subprotocols"},
		{name: "repeated subprotocol", url: "ws://example.com", opts: DialOptions{Subprotocols: []string{"a", "b", "a"}}, want: "listed twice"},
		{name: "bad connect header", url: "ws://example.com", opts: DialOptions{ProxyConnectHeader: http.Header{"Host": {"x"}}}, want: "ProxyConnectHeader"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.NetDialContext = func(context.Context, string, string) (net.Conn, error) {
				t.Error("Dial dialled")
				return nil, errors.New("no dialling in this test")
			}
			tt.opts.Proxy = noProxy
			c, resp, err := Dial(context.Background(), tt.url, &tt.opts)
			if c != nil || resp != nil {
				t.Fatalf("got %v, %v, want nil, nil", c, resp)
			}
			if err == nil || !strings.HasPrefix(err.Error(), "websocket: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want websocket: ...%s", err, tt.want)
			}
		})
	}
	//lint:ignore SA1012 a nil context must be refused, not panic
	if _, _, err := Dial(nil, "ws://example.com", nil); err == nil {
		t.Error("Dial(nil ctx) succeeded, want an error")
	}
}

func TestDialContext(t *testing.T) {
	wstest.CheckLeaks(t)
	silent := newDialFake(t, "tcp", "127.0.0.1:0", func(net.Conn, *http.Request) {})

	t.Run("deadline", func(t *testing.T) {
		const timeout = 200 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		start := time.Now()
		_, _, err := Dial(ctx, "ws://"+silent.addr, &DialOptions{Proxy: noProxy})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got error %v, want one wrapping context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > timeout+5*time.Second {
			t.Errorf("Dial took %v with a %v deadline", d, timeout)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f := newDialFake(t, "tcp", "127.0.0.1:0", func(net.Conn, *http.Request) { cancel() })
		_, _, err := Dial(ctx, "ws://"+f.addr, &DialOptions{Proxy: noProxy})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got error %v, want one wrapping context.Canceled", err)
		}
		if !strings.Contains(err.Error(), "reading response") {
			t.Errorf("got error %q, want it to name the stage", err)
		}
	})

	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _, err := Dial(ctx, "ws://"+silent.addr, &DialOptions{Proxy: noProxy})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got error %v, want one wrapping context.Canceled", err)
		}
	})

	t.Run("custom dialer gets ctx", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, _, err := Dial(ctx, "ws://"+silent.addr, &DialOptions{
			Proxy: noProxy,
			NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				cancel()
				<-ctx.Done()
				return nil, ctx.Err()
			},
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got error %v, want one wrapping context.Canceled", err)
		}
	})
}

// TestDialContextEndsAfterHandshake checks that once Dial returns, the end
// of its ctx no longer affects the Conn: the handshake deadline is cleared.
func TestDialContextEndsAfterHandshake(t *testing.T) {
	wstest.CheckLeaks(t)
	proceed := make(chan struct{})
	f := newDialFake(t, "tcp", "127.0.0.1:0", func(nc net.Conn, req *http.Request) {
		write101(nc, req, "", "")
		<-proceed
		nc.Write([]byte{0x81, 0x02, 'h', 'i'})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	c, _, err := Dial(ctx, "ws://"+f.addr, &DialOptions{Proxy: noProxy})
	if err != nil {
		close(proceed)
		t.Fatal(err)
	}
	defer c.CloseNow()
	<-ctx.Done() // the handshake's deadline passes
	close(proceed)
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	typ, msg, err := c.Read(rctx, nil)
	if err != nil || typ != MessageText || string(msg) != "hi" {
		t.Fatalf("got %v %q %v, want text \"hi\"", typ, msg, err)
	}
}

// TestDialBytesAfter101 checks that a frame sent in the same segment as the
// 101 is not lost.
func TestDialBytesAfter101(t *testing.T) {
	wstest.CheckLeaks(t)
	f := newDialFake(t, "tcp", "127.0.0.1:0", func(nc net.Conn, req *http.Request) {
		write101(nc, req, "Sec-WebSocket-Protocol: chat\r\n", "\x81\x05Hello")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := Dial(ctx, "ws://"+f.addr, &DialOptions{Proxy: noProxy, Subprotocols: []string{"mqtt", "chat"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Body != http.NoBody {
		t.Errorf("got status %d body %v, want 101 and http.NoBody", resp.StatusCode, resp.Body)
	}
	if got := c.Subprotocol(); got != "chat" {
		t.Errorf("got subprotocol %q, want %q", got, "chat")
	}
	typ, msg, err := c.Read(ctx, nil)
	if err != nil || typ != MessageText || string(msg) != "Hello" {
		t.Fatalf("got %v %q %v, want text \"Hello\"", typ, msg, err)
	}
}

// TestDialLenientTokens checks that tokens are matched case-insensitively
// within comma-separated lists (RFC 6455 §4.1, RFC 9110 §5.6.1).
func TestDialLenientTokens(t *testing.T) {
	wstest.CheckLeaks(t)
	f := newDialFake(t, "tcp", "127.0.0.1:0", func(nc net.Conn, req *http.Request) {
		accept := acceptKey(req.Header.Get("Sec-WebSocket-Key"))
		nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, UPGRADE\r\n" +
			"Sec-WebSocket-Accept: " + string(accept[:]) + "\r\n\r\n"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, "ws://"+f.addr, &DialOptions{Proxy: noProxy})
	if err != nil {
		t.Fatal(err)
	}
	c.CloseNow()
}

func TestDialUpgrade(t *testing.T) {
	wstest.CheckLeaks(t)
	so := &UpgradeOptions{Subprotocols: []string{"a"}, Compression: &CompressionOptions{}}
	plain := dialEchoServer(t, false, so)
	secure := dialEchoServer(t, true, so)
	tests := []struct {
		name string
		url  string
		opts DialOptions
	}{
		{name: "ws compressed", url: "ws://" + plain.Listener.Addr().String(), opts: DialOptions{Compression: &CompressionOptions{ServerMaxWindowBits: 10}}},
		{name: "wss compressed", url: secure.URL, opts: DialOptions{TLSConfig: testTLSConfig(secure), Compression: &CompressionOptions{}}},
		{name: "ws", url: "ws://" + plain.Listener.Addr().String()},
		{name: "http", url: plain.URL},
		{name: "wss", url: "wss://" + secure.Listener.Addr().String(), opts: DialOptions{TLSConfig: testTLSConfig(secure)}},
		{name: "https", url: secure.URL, opts: DialOptions{TLSConfig: testTLSConfig(secure)}},
		{name: "wss with http2 offered", url: secure.URL, opts: DialOptions{TLSConfig: &tls.Config{
			RootCAs:    testTLSConfig(secure).RootCAs,
			NextProtos: []string{"h2", "http/1.1"},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Proxy = noProxy
			tt.opts.Subprotocols = []string{"b", "a"}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, resp, err := Dial(ctx, tt.url, &tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Errorf("got status %d, want 101", resp.StatusCode)
			}
			if got := c.Subprotocol(); got != "a" {
				t.Errorf("got subprotocol %q, want %q", got, "a")
			}
			ext := resp.Header.Get("Sec-WebSocket-Extensions")
			if compressed := c.cfg.deflate != nil; compressed != (tt.opts.Compression != nil) || compressed != (ext != "") {
				t.Errorf("got compression %v (extensions %q), want %v", compressed, ext, tt.opts.Compression != nil)
			}
			echoOnce(t, c, "hello "+tt.name+strings.Repeat("!", 64<<10))
		})
	}

	t.Run("wss with untrusted certificate", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, resp, err := Dial(ctx, secure.URL, &DialOptions{Proxy: noProxy})
		var certErr *tls.CertificateVerificationError
		if resp != nil || !errors.As(err, &certErr) || !strings.Contains(err.Error(), "TLS handshake") {
			t.Errorf("got %v, %v, want a certificate error in the TLS handshake", resp, err)
		}
	})
}
