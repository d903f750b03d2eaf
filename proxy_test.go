package websocket

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

// tunnelConns tracks the connections a test proxy holds, so that cleanup
// can end them and wait for their goroutines.
type tunnelConns struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func (tc *tunnelConns) add(nc net.Conn) {
	tc.mu.Lock()
	tc.conns = append(tc.conns, nc)
	tc.mu.Unlock()
}

func (tc *tunnelConns) closeAll() {
	tc.mu.Lock()
	for _, nc := range tc.conns {
		nc.Close()
	}
	tc.mu.Unlock()
	tc.wg.Wait()
}

// pipe copies between a (read through ar, which may hold bytes already
// buffered) and b until either side ends, then closes both.
func pipe(a net.Conn, ar io.Reader, b net.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(b, ar)
		b.Close()
		a.Close()
	}()
	io.Copy(a, b)
	a.Close()
	b.Close()
	<-done
}

// dialLoopback dials 127.0.0.1 at addr's port: the test proxies send every
// name there, so that tests can use names that need no DNS.
func dialLoopback(addr string) (net.Conn, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	return net.Dial("tcp", "127.0.0.1:"+port)
}

// connectProxy is an HTTP CONNECT proxy for tests.
type connectProxy struct {
	auth   string // Proxy-Authorization required, if not empty
	header string // X-Proxy-Test value required, if not empty
	after  string // if set, sent right after the 200 instead of tunnelling
	reqs   chan *http.Request
	tunnelConns
}

func newConnectProxy(t *testing.T, secure bool, p *connectProxy) *httptest.Server {
	t.Helper()
	p.reqs = make(chan *http.Request, 16)
	srv := httptest.NewUnstartedServer(p)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if secure {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(func() {
		srv.Close()
		p.closeAll()
	})
	return srv
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.reqs <- r
	switch {
	case r.Method != http.MethodConnect:
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	case p.auth != "" && r.Header.Get("Proxy-Authorization") != p.auth:
		w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
		http.Error(w, "who are you?", http.StatusProxyAuthRequired)
		return
	case p.header != "" && r.Header.Get("X-Proxy-Test") != p.header:
		http.Error(w, "missing X-Proxy-Test", http.StatusBadRequest)
		return
	}
	var target net.Conn
	if p.after == "" {
		var err error
		if target, err = dialLoopback(r.Host); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		if target != nil {
			target.Close()
		}
		return
	}
	p.wg.Add(1)
	defer p.wg.Done()
	p.add(nc)
	nc.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n" + p.after))
	if target == nil {
		io.Copy(io.Discard, nc)
		nc.Close()
		return
	}
	p.add(target)
	pipe(nc, brw.Reader, target)
}

// socksProxy is a SOCKS5 proxy for tests (RFC 1928), requiring user name
// and password authentication (RFC 1929) when user is set.
type socksProxy struct {
	user, pass string
	addr       string
	targets    chan string // each request's DST.ADDR:DST.PORT
	tunnelConns
}

func newSOCKSProxy(t *testing.T, user, pass string) *socksProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &socksProxy{user: user, pass: pass, addr: ln.Addr().String(), targets: make(chan string, 16)}
	p.wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			p.add(nc)
			p.wg.Go(func() { p.serve(nc) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		p.closeAll()
	})
	return p
}

func (p *socksProxy) serve(nc net.Conn) {
	defer nc.Close()
	br := bufio.NewReader(nc)
	read := func(n int) []byte {
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil
		}
		return b
	}
	// RFC 1928 §3: VER NMETHODS METHODS.
	hello := read(2)
	if hello == nil || hello[0] != 5 {
		return
	}
	methods := read(int(hello[1]))
	method := byte(0x00) // no authentication
	if p.user != "" {
		method = 0x02 // user name and password
	}
	if !bytes.Contains(methods, []byte{method}) {
		nc.Write([]byte{5, 0xff}) // no acceptable methods
		return
	}
	nc.Write([]byte{5, method})
	if method == 0x02 {
		// RFC 1929 §2: VER ULEN UNAME PLEN PASSWD, answered by VER STATUS.
		v := read(2)
		if v == nil || v[0] != 1 {
			return
		}
		user := read(int(v[1]))
		plen := read(1)
		if plen == nil {
			return
		}
		pass := read(int(plen[0]))
		if string(user) != p.user || string(pass) != p.pass {
			nc.Write([]byte{1, 1})
			return
		}
		nc.Write([]byte{1, 0})
	}
	// RFC 1928 §4: VER CMD RSV ATYP DST.ADDR DST.PORT.
	req := read(4)
	if req == nil || req[0] != 5 || req[1] != 1 {
		nc.Write([]byte{5, 7, 0, 1, 0, 0, 0, 0, 0, 0}) // command not supported
		return
	}
	var host string
	switch req[3] {
	case 1:
		host = net.IP(read(4)).String()
	case 3:
		n := read(1)
		if n == nil {
			return
		}
		host = string(read(int(n[0])))
	case 4:
		host = net.IP(read(16)).String()
	default:
		nc.Write([]byte{5, 8, 0, 1, 0, 0, 0, 0, 0, 0}) // address type not supported
		return
	}
	port := read(2)
	if port == nil {
		return
	}
	addr := net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port))))
	p.targets <- addr
	target, err := dialLoopback(addr)
	if err != nil {
		nc.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // connection refused
		return
	}
	p.add(target)
	// RFC 1928 §6: VER REP RSV ATYP BND.ADDR BND.PORT.
	nc.Write(append([]byte{5, 0, 0, 1, 127, 0, 0, 1}, port...))
	pipe(nc, br, target)
}

func TestDialProxy(t *testing.T) {
	wstest.CheckLeaks(t)
	plain := dialEchoServer(t, false, nil)
	secure := dialEchoServer(t, true, nil)
	_, plainPort, _ := net.SplitHostPort(plain.Listener.Addr().String())
	_, securePort, _ := net.SplitHostPort(secure.Listener.Addr().String())
	// Names the proxies resolve to loopback; example.com is in the test
	// certificate.
	wsURL := "ws://example.com:" + plainPort + "/echo"
	wssURL := "wss://example.com:" + securePort + "/echo"

	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:pa:ss"))
	httpProxy := &connectProxy{auth: auth, header: "yes"}
	httpSrv := newConnectProxy(t, false, httpProxy)
	httpsProxy := &connectProxy{auth: auth, header: "yes"}
	httpsSrv := newConnectProxy(t, true, httpsProxy)
	openProxy := &connectProxy{}
	openSrv := newConnectProxy(t, false, openProxy)
	socks := newSOCKSProxy(t, "", "")
	socksAuth := newSOCKSProxy(t, "carol", "s3cret")

	withUser := func(rawURL, user, pass string) string {
		u, _ := url.Parse(rawURL)
		u.User = url.UserPassword(user, pass)
		return u.String()
	}
	connectHeader := http.Header{"X-Proxy-Test": {"yes"}}
	tests := []struct {
		name      string
		url       string
		proxy     string
		connect   http.Header
		proxyAddr string
		targets   func() string // the target the proxy was asked for
	}{
		{
			name:      "http proxy, ws",
			url:       wsURL,
			proxy:     withUser(httpSrv.URL, "bob", "pa:ss"),
			connect:   connectHeader,
			proxyAddr: httpSrv.Listener.Addr().String(),
			targets:   func() string { return (<-httpProxy.reqs).Host },
		},
		{
			name:      "http proxy, wss",
			url:       wssURL,
			proxy:     withUser(httpSrv.URL, "bob", "pa:ss"),
			connect:   connectHeader,
			proxyAddr: httpSrv.Listener.Addr().String(),
			targets:   func() string { return (<-httpProxy.reqs).Host },
		},
		{
			name:      "https proxy, ws",
			url:       wsURL,
			proxy:     withUser(httpsSrv.URL, "bob", "pa:ss"),
			connect:   connectHeader,
			proxyAddr: httpsSrv.Listener.Addr().String(),
			targets:   func() string { return (<-httpsProxy.reqs).Host },
		},
		{
			name:      "https proxy, wss",
			url:       wssURL,
			proxy:     withUser(httpsSrv.URL, "bob", "pa:ss"),
			connect:   connectHeader,
			proxyAddr: httpsSrv.Listener.Addr().String(),
			targets:   func() string { return (<-httpsProxy.reqs).Host },
		},
		{
			name:      "ProxyConnectHeader credentials win",
			url:       wsURL,
			proxy:     withUser(httpSrv.URL, "mallory", "wrong"),
			connect:   http.Header{"X-Proxy-Test": {"yes"}, "Proxy-Authorization": {auth}},
			proxyAddr: httpSrv.Listener.Addr().String(),
			targets:   func() string { return (<-httpProxy.reqs).Host },
		},
		{
			name:      "http proxy without credentials",
			url:       wsURL,
			proxy:     openSrv.URL,
			proxyAddr: openSrv.Listener.Addr().String(),
			targets:   func() string { return (<-openProxy.reqs).Host },
		},
		{
			name:      "socks5, ws",
			url:       wsURL,
			proxy:     "socks5://" + socks.addr,
			proxyAddr: socks.addr,
			targets:   func() string { return <-socks.targets },
		},
		{
			name:      "socks5h with user and password, wss",
			url:       wssURL,
			proxy:     "socks5h://carol:s3cret@" + socksAuth.addr,
			proxyAddr: socksAuth.addr,
			targets:   func() string { return <-socksAuth.targets },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pu, err := url.Parse(tt.proxy)
			if err != nil {
				t.Fatal(err)
			}
			var dialed []string
			opts := &DialOptions{
				Proxy:              http.ProxyURL(pu),
				ProxyConnectHeader: tt.connect,
				TLSConfig:          testTLSConfig(secure),
				NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					dialed = append(dialed, addr)
					var d net.Dialer
					return d.DialContext(ctx, network, addr)
				},
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, _, err := Dial(ctx, tt.url, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			echoOnce(t, c, "via "+tt.name+strings.Repeat(".", 64<<10))
			u, _ := url.Parse(tt.url)
			if got := tt.targets(); got != u.Host {
				t.Errorf("proxy was asked for %q, want %q", got, u.Host)
			}
			if len(dialed) != 1 || dialed[0] != tt.proxyAddr {
				t.Errorf("NetDialContext dialled %q, want only the proxy %q", dialed, tt.proxyAddr)
			}
		})
	}
}

func TestDialProxyRefused(t *testing.T) {
	wstest.CheckLeaks(t)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:right"))
	strict := newConnectProxy(t, false, &connectProxy{auth: auth})
	socks := newSOCKSProxy(t, "carol", "s3cret")
	tests := []struct {
		name  string
		proxy string
		want  string
	}{
		{name: "407", proxy: "http://bob:wrong@" + strict.Listener.Addr().String(), want: "proxy answered 407 Proxy Authentication Required"},
		{name: "no credentials", proxy: strict.URL, want: "407"},
		{name: "socks5 wrong password", proxy: "socks5://carol:nope@" + socks.addr, want: "SOCKS5"},
		{name: "socks5 no credentials", proxy: "socks5://" + socks.addr, want: "SOCKS5"},
		{name: "unsupported scheme", proxy: "ftp://" + socks.addr, want: "scheme must be http, https, socks5 or socks5h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pu, err := url.Parse(tt.proxy)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, resp, err := Dial(ctx, "ws://example.com:1/", &DialOptions{Proxy: http.ProxyURL(pu)})
			if c != nil || resp != nil {
				t.Fatalf("got %v, %v, want nil, nil", c, resp)
			}
			if err == nil || !strings.HasPrefix(err.Error(), "websocket: dial ws://example.com:1/: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want websocket: dial ws://example.com:1/: ...%s", err, tt.want)
			}
			if errors.Is(err, ErrBadHandshake) {
				t.Errorf("got %v, want an error that is not ErrBadHandshake", err)
			}
			if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), "nope") {
				t.Errorf("error %q shows the proxy password", err)
			}
		})
	}
}

// TestDialProxyKeepsBytes checks that bytes the proxy sent right after its
// 200 are read as the server's.
func TestDialProxyKeepsBytes(t *testing.T) {
	wstest.CheckLeaks(t)
	p := newConnectProxy(t, false, &connectProxy{after: "HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!"})
	pu, _ := url.Parse(p.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp, err := Dial(ctx, "ws://example.com/", &DialOptions{Proxy: http.ProxyURL(pu)})
	var he *HandshakeError
	if !errors.As(err, &he) || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("got %v, %v, want the 403 the proxy sent after its 200", resp, err)
	}
	if body, _ := io.ReadAll(resp.Body); string(body) != "nope!" {
		t.Errorf("got body %q, want %q", body, "nope!")
	}
}

// TestDialProxyRequest checks what the Proxy function is asked about and
// that its errors are reported.
func TestDialProxyRequest(t *testing.T) {
	tests := []struct {
		url  string
		want string
	}{
		{url: "ws://example.com/a?b=c", want: "http://example.com/a?b=c"},
		{url: "wss://example.com:8443/", want: "https://example.com:8443/"},
		{url: "https://u:p@example.com", want: "https://example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			var got string
			errNoProxy := errors.New("no proxy today")
			_, _, err := Dial(context.Background(), tt.url, &DialOptions{Proxy: func(r *http.Request) (*url.URL, error) {
				got = r.URL.String()
				return nil, errNoProxy
			}})
			if got != tt.want {
				t.Errorf("Proxy got %q, want %q", got, tt.want)
			}
			if !errors.Is(err, errNoProxy) {
				t.Errorf("got error %v, want one wrapping the Proxy function's", err)
			}
		})
	}
}
