package websocket

// Fuzz targets for the opening handshake: the request a server reads, the
// response a client reads, and the Sec-WebSocket-Extensions header both
// negotiate with. See fuzz_test.go for the frame-level targets.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/wsforge/websocket/internal/wstest"
)

// hijackWriter is a ResponseWriter whose Hijack hands over an in-memory
// connection, as net/http's does with a socket.
type hijackWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
	nc     net.Conn
	br     *bufio.Reader
}

func (w *hijackWriter) Header() http.Header { return w.header }

func (w *hijackWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *hijackWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.nc, bufio.NewReadWriter(w.br, bufio.NewWriter(w.nc)), nil
}

// refTokens returns the comma-separated elements of the values of a header.
func refTokens(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, t := range strings.Split(v, ",") {
			if t = strings.Trim(t, " \t"); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// refHasToken reports whether the values of a header contain token, which
// is ASCII, compared without regard to ASCII case only (RFC 9110 §5.6.2,
// §7.8: tokens are ASCII).
func refHasToken(vs []string, token string) bool {
	for _, t := range refTokens(vs) {
		if len(t) != len(token) {
			continue
		}
		same := true
		for i := range len(t) {
			a, b := t[i], token[i]
			if 'A' <= a && a <= 'Z' {
				a += 'a' - 'A'
			}
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			same = same && a == b
		}
		if same {
			return true
		}
	}
	return false
}

// fuzzUpgradeOptions are the server options FuzzServerHandshake upgrades with.
func fuzzUpgradeOptions() *UpgradeOptions {
	return &UpgradeOptions{
		Subprotocols:   []string{"chat", "v2.example"},
		OriginPatterns: []string{"*.example.com"},
		Compression:    &CompressionOptions{},
	}
}

// refUpgradeStatus is the status RFC 6455 §4.2.1-2 calls for in answer to
// r, given fuzzUpgradeOptions: 101 when the handshake is acceptable.
func refUpgradeStatus(r *http.Request) int {
	h := r.Header
	switch {
	case r.Method != "GET":
		return http.StatusMethodNotAllowed
	case r.ProtoMajor != 1 || r.ProtoMinor < 1:
		return http.StatusBadRequest
	case !refHasToken(h["Upgrade"], "websocket"):
		return http.StatusUpgradeRequired
	case !refHasToken(h["Connection"], "upgrade"):
		return http.StatusBadRequest
	case len(h["Sec-Websocket-Version"]) != 1 || h["Sec-Websocket-Version"][0] != "13":
		return http.StatusUpgradeRequired
	}
	keys := h["Sec-Websocket-Key"]
	if len(keys) != 1 || len(keys[0]) != 24 {
		return http.StatusBadRequest
	}
	if raw, err := base64.StdEncoding.Strict().DecodeString(keys[0]); err != nil || len(raw) != 16 {
		return http.StatusBadRequest
	}
	if origins := h["Origin"]; len(origins) > 0 && origins[0] != "" {
		u, err := url.Parse(origins[0])
		if err != nil || u.Host == "" {
			return http.StatusForbidden
		}
		host := strings.ToLower(u.Host)
		if !strings.EqualFold(u.Host, r.Host) && (!strings.HasSuffix(host, ".example.com") || strings.Contains(host, "/")) {
			return http.StatusForbidden
		}
	}
	return http.StatusSwitchingProtocols
}

func FuzzServerHandshake(f *testing.F) {
	const std = "Host: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	for _, seed := range []string{
		"GET /chat HTTP/1.1\r\n" + std + "\r\n",
		"GET /chat HTTP/1.1\r\n" + std + "Origin: https://app.example.com\r\nSec-WebSocket-Protocol: v2.example, chat\r\n\r\n",
		"GET /chat HTTP/1.1\r\n" + std + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, permessage-deflate\r\n\r\n",
		"GET /chat HTTP/1.1\r\n" + std + "Origin: https://evil.example\r\n\r\n",
		"GET /chat HTTP/1.1\r\n" + std + "\r\n" + string(rfcMaskedHello),
		"GET /chat HTTP/1.0\r\n" + std + "\r\n",
		"POST /chat HTTP/1.1\r\n" + std + "\r\n",
		"GET /chat HTTP/1.1\r\n" + std + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n",
		"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: WebSocket, h2c\r\nConnection: keep-alive, Upgrade\r\n" +
			"Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		// Tokens are ASCII: a Kelvin sign (U+212A) does not fold to k.
		"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websoc\u212aet\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 13\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// As in net/http, the hijacked connection reads what the request's
		// buffered reader has not taken yet.
		rest := bytes.NewReader(data)
		br := bufio.NewReaderSize(rest, DefaultReadBufferSize)
		r, err := http.ReadRequest(br)
		if err != nil {
			return // net/http answers 400 before any handler runs
		}
		var out bytes.Buffer
		w := &hijackWriter{
			header: make(http.Header),
			nc:     &wstest.FakeConn{R: rest, W: &out},
			br:     br,
		}
		c, err := Upgrade(w, r, fuzzUpgradeOptions())
		want := refUpgradeStatus(r)
		if c == nil {
			if !errors.Is(err, ErrBadHandshake) || w.status != want {
				t.Fatalf("%q: got status %d, error %v, want status %d", data, w.status, err, want)
			}
			if body := w.body.String(); !strings.HasPrefix(body, "websocket: ") || len(body) > 200 {
				t.Fatalf("%q: got body %q, want a short reason", data, body)
			}
			return
		}
		defer c.CloseNow()
		if want != http.StatusSwitchingProtocols {
			t.Fatalf("%q: Upgrade accepted the handshake, want status %d", data, want)
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out.Bytes())), r)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("%q: got response %q (%v), want 101", data, out.Bytes(), err)
		}
		if got, want := resp.Header.Values("Sec-WebSocket-Accept"), refAccept(r.Header.Get("Sec-WebSocket-Key")); len(got) != 1 || got[0] != want {
			t.Fatalf("%q: got Sec-WebSocket-Accept %q, want %q", data, got, want)
		}
		offered := refTokens(r.Header["Sec-Websocket-Protocol"])
		wantProto := ""
		for _, p := range fuzzUpgradeOptions().Subprotocols {
			if slices.Contains(offered, p) {
				wantProto = p
				break
			}
		}
		if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != wantProto || c.Subprotocol() != wantProto {
			t.Fatalf("%q: got subprotocol %q (Conn %q), want %q", data, got, c.Subprotocol(), wantProto)
		}
		if ext := resp.Header.Values("Sec-WebSocket-Extensions"); len(ext) > 0 {
			exts, bad := parseExtensions(resp.Header)
			if len(ext) != 1 || len(exts) != 1 || bad[0] || exts[0].name != deflateName {
				t.Fatalf("%q: got Sec-WebSocket-Extensions %q, want one permessage-deflate", data, ext)
			}
			if _, err := parseDeflateParams(exts[0], true); err != nil {
				t.Fatalf("%q: got Sec-WebSocket-Extensions %q: %v", data, ext, err)
			}
		}
		// Bytes pipelined after the request are the first frames.
		c.Read(context.Background(), nil)
	})
}

func FuzzClientHandshake(f *testing.F) {
	const ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + sampleAccept + "\r\n"
	for _, seed := range []string{
		ok + "\r\n",
		ok + "Sec-WebSocket-Protocol: chat\r\n\r\n" + string(rfcUnmaskedHello),
		ok + "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=10\r\n\r\n",
		ok + "Sec-WebSocket-Protocol: chat, v2\r\n\r\n",
		ok + "Sec-WebSocket-Accept: " + sampleAccept + "\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.0 101 Switching Protocols\r\n\r\n",
	} {
		f.Add([]byte(seed), uint8(0))
		f.Add([]byte(seed), uint8(1))
	}
	u, _ := url.Parse("ws://example.com/chat")
	f.Fuzz(func(t *testing.T, data []byte, opts uint8) {
		o := &DialOptions{Subprotocols: []string{"chat", "v2"}}
		if opts&1 != 0 {
			o.Compression = &CompressionOptions{ClientMaxWindowBits: 12}
		}
		d := &dialer{ctx: context.Background(), opts: o, u: u, addr: "example.com:80"}
		nc := &wstest.FakeConn{R: bytes.NewReader(data)}
		hs, resp, err := d.handshake(nc, nil, []byte("GET /chat HTTP/1.1\r\n\r\n"), sampleKey, o.connConfig())
		if err != nil {
			var he *HandshakeError
			if errors.As(err, &he) {
				body, _ := io.ReadAll(he.Response.Body)
				if len(body) > maxErrorBodyBytes || resp != he.Response {
					t.Fatalf("%q: HandshakeError with %d bytes of body, want at most %d", data, len(body), maxErrorBodyBytes)
				}
			}
			return
		}
		// The reference: RFC 6455 §4.1, the client's checks of the response.
		h := resp.Header
		switch {
		case resp.StatusCode != http.StatusSwitchingProtocols,
			!refHasToken(h["Upgrade"], "websocket"),
			!refHasToken(h["Connection"], "upgrade"),
			len(h["Sec-Websocket-Accept"]) != 1 || h["Sec-Websocket-Accept"][0] != sampleAccept,
			len(refTokens(h["Sec-Websocket-Protocol"])) > 1,
			len(refTokens(h["Sec-Websocket-Extensions"])) > 0 && o.Compression == nil:
			t.Fatalf("%q: the handshake succeeded, want it refused", data)
		}
		if p := refTokens(h["Sec-Websocket-Protocol"]); len(p) == 1 && !slices.Contains(o.Subprotocols, p[0]) {
			t.Fatalf("%q: accepted subprotocol %q, which was not offered", data, p[0])
		}
		if d := hs.cfg.deflate; d != nil && (d.readWindow < 1<<8 || d.readWindow > 1<<15) {
			t.Fatalf("%q: read window %d", data, d.readWindow)
		}
		c := newConn(hs.nc, hs.br, true, hs.cfg)
		defer c.CloseNow()
		c.Read(context.Background(), nil)
	})
}

// compressionOptions turns the bits of b into options.
func compressionOptions(b uint8) *CompressionOptions {
	if b&1 == 0 {
		return nil
	}
	return &CompressionOptions{
		ServerNoContextTakeover: b&2 != 0,
		ClientNoContextTakeover: b&4 != 0,
		ServerMaxWindowBits:     []int{0, 8, 10, 15}[b>>3&3],
		ClientMaxWindowBits:     []int{0, 9, 12, 15}[b>>5&3],
	}
}

// formatExtension writes e back in the syntax of RFC 6455 §9.1.
func formatExtension(e extension) string {
	s := e.name
	for _, p := range e.params {
		s += "; " + p.key
		if p.hasValue {
			s += "=" + p.value
		}
	}
	return s
}

func FuzzExtensions(f *testing.F) {
	for _, seed := range []string{
		"permessage-deflate",
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; server_max_window_bits=10; client_no_context_takeover, permessage-deflate",
		`permessage-deflate; client_max_window_bits="10"`,
		"permessage-deflate; server_max_window_bits=08",
		"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
		"x-webkit-deflate-frame, permessage-deflate; unknown=1, permessage-deflate; server_no_context_takeover",
		`foo; bar="a\"b", baz`,
		";;,,",
		`permessage-deflate; client_max_window_bits="1\0"`,
		strings.Repeat("permessage-deflate; x=1, ", maxExtensionElements) + "permessage-deflate",
		"permessage-deflate" + strings.Repeat("; server_no_context_takeover", maxExtensionParams+1),
	} {
		f.Add(seed, uint8(0xff))
		f.Add(seed, uint8(0x01))
	}
	f.Fuzz(func(t *testing.T, value string, opts uint8) {
		h := http.Header{"Sec-Websocket-Extensions": {value}}
		exts, bad := parseExtensions(h)
		if len(exts) != len(bad) {
			t.Fatalf("%q: %d extensions, %d flags", value, len(exts), len(bad))
		}
		for i, e := range exts {
			if bad[i] {
				continue
			}
			// A well-formed element has tokens everywhere and survives
			// being written back and parsed again.
			ok := isToken(e.name)
			for _, p := range e.params {
				ok = ok && isToken(p.key) && (!p.hasValue || isToken(p.value))
			}
			again, err := parseExtension(formatExtension(e))
			if !ok || err != nil || again.name != e.name || !slices.Equal(again.params, e.params) {
				t.Fatalf("%q: element %d %+v does not round-trip: %+v %v", value, i, e, again, err)
			}
		}

		// The server accepts a well-formed offer or none, and answers with
		// one well-formed element that matches the state it keeps.
		so := compressionOptions(opts)
		resp, st := acceptDeflate(h, so)
		if (resp == "") != (st == nil) {
			t.Fatalf("%q: got response %q and state %v", value, resp, st)
		}
		acceptable := false
		for i, e := range exts {
			if _, err := parseDeflateParams(e, false); !bad[i] && e.name == deflateName && err == nil {
				acceptable = true
			}
		}
		if so == nil && resp != "" || so != nil && acceptable != (resp != "") {
			t.Fatalf("%q: got response %q, want one iff an offer is acceptable (%v)", value, resp, acceptable)
		}
		if resp != "" {
			rexts, rbad := parseExtensions(http.Header{"Sec-Websocket-Extensions": {resp}})
			if len(rexts) != 1 || rbad[0] || rexts[0].name != deflateName {
				t.Fatalf("%q: got response %q, want one permessage-deflate", value, resp)
			}
			ro, err := parseDeflateParams(rexts[0], true)
			if err != nil {
				t.Fatalf("%q: got response %q: %v", value, resp, err)
			}
			clientBits := 15
			if ro.clientBits != 0 {
				clientBits = ro.clientBits
			}
			if st.readWindow != 1<<clientBits || st.readNoContext != ro.clientNoContext || (so.ServerNoContextTakeover && !ro.serverNoContext) {
				t.Fatalf("%q: response %q does not match the state %+v", value, resp, st)
			}
		}

		// The same value as a server's response to a client.
		co := compressionOptions(opts >> 1)
		cst, err := verifyDeflate(h, co)
		if err == nil && cst != nil {
			if co == nil || len(exts) != 1 || bad[0] || exts[0].name != deflateName {
				t.Fatalf("%q: client accepted a response to an offer it did not make", value)
			}
			if want := co.ServerMaxWindowBits; want >= 8 && want < 15 && cst.readWindow > 1<<want {
				t.Fatalf("%q: window %d, more than the 2^%d requested", value, cst.readWindow, want)
			}
		}
	})
}
