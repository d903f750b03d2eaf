package websocket

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"golang.org/x/net/proxy"
)

// reservedConnectHeaders are the headers of a CONNECT request that Dial
// writes itself.
var reservedConnectHeaders = map[string]string{
	"Host": "it names the WebSocket server",
}

// proxyFor returns the proxy opts.Proxy chooses for the server, or nil. The
// request it is given carries the http or https form of the URL, which is
// what proxy settings are written for.
func (d *dialer) proxyFor() (*url.URL, error) {
	choose := d.opts.Proxy
	if choose == nil {
		choose = http.ProxyFromEnvironment
	}
	u := *d.u
	u.User = nil
	u.Scheme = "http"
	if d.u.Scheme == "wss" {
		u.Scheme = "https"
	}
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        &u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header),
		Host:       u.Host,
	}
	req = req.WithContext(d.ctx)
	pu, err := choose(req)
	if err != nil || pu == nil {
		return nil, err
	}
	switch pu.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return nil, fmt.Errorf("proxy %q: scheme must be http, https, socks5 or socks5h", pu.Redacted())
	}
	if pu.Hostname() == "" {
		return nil, fmt.Errorf("proxy %q: missing host", pu.Redacted())
	}
	return pu, nil
}

// netDial dials with opts.NetDialContext or a default net.Dialer.
func (d *dialer) netDial(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.opts.NetDialContext != nil {
		return d.opts.NetDialContext(ctx, network, addr)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

// dialTransport opens the TCP connection: to the server, to an HTTP proxy,
// or through a SOCKS5 proxy to the server.
func (d *dialer) dialTransport(pu *url.URL) (net.Conn, error) {
	switch {
	case pu == nil:
		d.stage = "dialing"
		return d.netDial(d.ctx, "tcp", d.addr)
	case pu.Scheme == "socks5" || pu.Scheme == "socks5h":
		d.stage = "dialing through SOCKS5 proxy " + pu.Redacted()
		return d.dialSOCKS5(pu)
	default:
		d.stage = "dialing proxy " + pu.Redacted()
		return d.netDial(d.ctx, "tcp", hostPort(pu, defaultPort(pu.Scheme)))
	}
}

// dialSOCKS5 connects to the server through a SOCKS5 proxy (RFC 1928), with
// the user name and password from the proxy URL if it has them (RFC 1929).
// The server's name is resolved by the proxy.
func (d *dialer) dialSOCKS5(pu *url.URL) (net.Conn, error) {
	var auth *proxy.Auth
	if pu.User != nil {
		auth = &proxy.Auth{User: pu.User.Username()}
		auth.Password, _ = pu.User.Password()
	}
	pd, err := proxy.SOCKS5("tcp", hostPort(pu, defaultPort(pu.Scheme)), auth, dialFunc(d.netDial))
	if err != nil {
		return nil, err
	}
	cd, ok := pd.(proxy.ContextDialer)
	if !ok {
		return nil, errors.New("SOCKS5 dialer does not support contexts")
	}
	return cd.DialContext(d.ctx, "tcp", d.addr)
}

// dialFunc adapts a dial function to proxy.Dialer and proxy.ContextDialer.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func (f dialFunc) Dial(network, addr string) (net.Conn, error) {
	return f(context.Background(), network, addr)
}

func (f dialFunc) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return f(ctx, network, addr)
}

// tunnel asks the HTTP or HTTPS proxy at the other end of nc to CONNECT to
// the server (RFC 9110 §9.3.6) and returns the tunnel. For an HTTPS proxy,
// the tunnel runs inside a TLS connection to the proxy.
func (d *dialer) tunnel(nc net.Conn, pu *url.URL) (net.Conn, error) {
	if pu.Scheme == "https" {
		d.stage = "TLS handshake with proxy " + pu.Redacted()
		// The configured TLS settings are used, but for the proxy's name.
		cfg := d.tlsConfig("")
		cfg.ServerName = pu.Hostname()
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(d.ctx); err != nil {
			return nil, err
		}
		nc = tc
	}

	d.stage = "CONNECT through proxy " + pu.Redacted()
	h := d.opts.ProxyConnectHeader // checked by request
	var b bytes.Buffer
	b.WriteString("CONNECT " + d.addr + " HTTP/1.1\r\nHost: " + d.addr + "\r\n")
	if pu.User != nil && h.Get("Proxy-Authorization") == "" {
		b.WriteString("Proxy-Authorization: Basic " + basicAuth(pu.User) + "\r\n")
	}
	h.Write(&b)
	b.WriteString("\r\n")
	if _, err := nc.Write(b.Bytes()); err != nil {
		return nil, err
	}

	br := bufio.NewReader(&handshakeReader{r: nc, n: maxResponseHeaderBytes})
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return nil, err
	}
	// Only a 2xx response opens the tunnel (RFC 9110 §15.3); the body of
	// any other is not read, since the connection is dropped.
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("proxy answered %s", resp.Status)
	}
	// Whatever followed the response already belongs to the server.
	if n := br.Buffered(); n > 0 {
		buf, _ := br.Peek(n)
		return &prefixConn{Conn: nc, buf: bytes.Clone(buf)}, nil
	}
	return nc, nil
}

// prefixConn is a connection whose first reads return buf, bytes already
// read from Conn.
type prefixConn struct {
	net.Conn
	buf []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// tlsConfig returns a copy of the configured TLS settings for serverName,
// speaking HTTP/1.1 (RFC 6455 §4.1: the handshake is an HTTP/1.1 Upgrade).
func (d *dialer) tlsConfig(serverName string) *tls.Config {
	var cfg *tls.Config
	if d.opts.TLSConfig != nil {
		cfg = d.opts.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = serverName
	}
	cfg.NextProtos = []string{"http/1.1"}
	return cfg
}

// basicAuth returns the credentials of Basic authentication (RFC 7617).
func basicAuth(u *url.Userinfo) string {
	pass, _ := u.Password()
	return base64.StdEncoding.EncodeToString([]byte(u.Username() + ":" + pass))
}
