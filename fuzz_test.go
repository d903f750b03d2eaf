package websocket

// Fuzz targets for everything a peer controls: frame headers, whole frame
// streams in both roles, close payloads, both sides of the opening
// handshake, extension headers and compressed payloads. Each target checks
// the code against a reference written here, independently of the code
// under test, or against the standard library, not only for panics.
// FuzzMask (mask_test.go) and FuzzUTF8 (utf8_test.go) live beside their
// code. scripts/fuzz.sh runs them all; a plain `go test` replays the seeds
// in f.Add and testdata/fuzz/<Target>/.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wsforge/websocket/internal/wstest"
)

// chunkReader returns at most size bytes per Read, so that headers and
// payloads arrive split at every possible point.
type chunkReader struct {
	r    io.Reader
	size int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.size {
		p = p[:c.size]
	}
	return c.r.Read(p)
}

// refValidCode is RFC 6455 §7.4.1-2 for a code received in a close frame.
func refValidCode(c uint16) bool {
	return 1000 <= c && c <= 1003 || 1007 <= c && c <= 1014 || 3000 <= c && c <= 4999
}

// refUnmask returns p XORed with key (nil for none), octet i with key[i%4].
func refUnmask(p, key []byte) []byte {
	out := bytes.Clone(p)
	if key != nil {
		for i := range out {
			out[i] ^= key[i%4]
		}
	}
	return out
}

// refHeader decodes a frame header the way RFC 6455 §5.2 draws it, octet by
// octet. A header cut short reports io.ErrUnexpectedEOF.
func refHeader(b []byte) (header, int, error) {
	if len(b) < 2 {
		return header{}, 0, io.ErrUnexpectedEOF
	}
	h := header{
		fin:    b[0]>>7 == 1,
		rsv:    b[0] & 0x70,
		op:     opcode(b[0] & 0x0f),
		masked: b[1]>>7 == 1,
	}
	n := 2
	length := uint64(b[1] & 0x7f)
	switch length {
	case 126:
		n = 4
	case 127:
		n = 10
	}
	if h.masked {
		n += 4
	}
	if len(b) < n {
		return header{}, 0, io.ErrUnexpectedEOF
	}
	if length >= 126 {
		length = 0
		for _, c := range b[2 : n-btoi(h.masked)*4] {
			length = length<<8 | uint64(c)
		}
	}
	if h.masked {
		k := b[n-4 : n]
		h.key = uint32(k[0]) | uint32(k[1])<<8 | uint32(k[2])<<16 | uint32(k[3])<<24
	}
	if length>>63 != 0 {
		return header{}, 0, errHeaderLength
	}
	h.length = int64(length)
	return h, n, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func FuzzFrameHeader(f *testing.F) {
	for _, seed := range [][]byte{
		rfcUnmaskedHello,
		rfcMaskedHello,
		rfcBinary256Head,
		rfcBinary64KiHead,
		{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x37, 0xfa, 0x21, 0x3d},
		{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0},
		{0x82, 0xfe, 0x00, 0x05, 0x37, 0xfa},
		{0xf3, 0x00},
		{0x89},
		{},
	} {
		f.Add(seed, uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		want, wantSize, wantErr := refHeader(data)
		br := bufio.NewReaderSize(&chunkReader{r: bytes.NewReader(data), size: int(chunk%16) + 1}, 16)
		h, size, err := peekHeader(br)
		switch {
		case wantErr == errHeaderLength:
			if err != errHeaderLength {
				t.Fatalf("% x: got %+v %v, want errHeaderLength", data, h, err)
			}
		case wantErr != nil:
			if err == nil || err == errHeaderLength {
				t.Fatalf("% x: got %+v %v, want an error for a short header", data, h, err)
			}
		case err != nil || h != want || size != wantSize:
			t.Fatalf("% x: got %+v size %d %v, want %+v size %d", data, h, size, err, want, wantSize)
		}
		// Peeking consumes nothing.
		if rest, _ := io.ReadAll(br); !bytes.Equal(rest, data) {
			t.Fatalf("% x: peekHeader consumed bytes: % x left", data, rest)
		}
		if err != nil {
			return
		}
		// Encoding the header back uses the shortest form and decodes to
		// the same header.
		var b [maxHeaderSize]byte
		n := putHeader(b[:], h)
		if n != headerSize(h.length, h.masked) || n > size {
			t.Fatalf("%+v: putHeader wrote %d bytes, headerSize says %d, the input had %d", h, n, headerSize(h.length, h.masked), size)
		}
		h2, n2, err := refHeader(b[:n])
		if err != nil || h2 != h || n2 != n {
			t.Fatalf("%+v: encoded as % x, which decodes to %+v size %d %v", h, b[:n], h2, n2, err)
		}
	})
}

// refMessage is a data message as the reference reads it.
type refMessage struct {
	typ  MessageType
	data []byte
}

// refStream is what RFC 6455 prescribes for an endpoint reading a byte
// stream from its peer.
type refStream struct {
	msgs  []refMessage // the whole messages delivered, in order
	pongs [][]byte     // the payloads of the pongs owed, one per ping
	err   error        // ErrProtocol, ErrInvalidUTF8 or ErrMessageTooBig for a violation
	close *CloseError  // the peer's close frame, when it ended the stream
	sent  StatusCode   // the code of the close frame the endpoint sends, 0 for none
}

// refReadStream computes the refStream of wire for an endpoint in the given
// role with the given read limit, frame by frame from the RFC's rules:
// §5.1 masking, §5.2 reserved bits, opcodes and lengths, §5.4
// fragmentation, §5.5 control frames, §5.5.1 close payloads, §8.1 UTF-8
// (failing at the first byte after which the text cannot be valid), §10.4
// the size limit judged on the header. A stream that ends early ends with
// neither err nor close.
func refReadStream(wire []byte, client bool, limit int64) refStream {
	var out refStream
	var msg *refMessage
	violation := func(code StatusCode, err error) refStream {
		out.err, out.sent = err, code
		return out
	}
	for {
		h, n, err := refHeader(wire)
		if err == io.ErrUnexpectedEOF {
			return out
		}
		var key []byte
		if h.masked {
			key = wire[n-4 : n]
		}
		control := h.op >= 8
		switch {
		case err != nil, // a length with the most significant bit set
			h.rsv != 0,
			h.op > 2 && h.op < 8 || h.op > 10,
			client == h.masked,
			control && !h.fin,
			control && h.length > 125,
			h.op == 0 && msg == nil,
			(h.op == 1 || h.op == 2) && msg != nil:
			return violation(StatusProtocolError, ErrProtocol)
		}
		rest := wire[n:]
		if control {
			if int64(len(rest)) < h.length {
				return out
			}
			payload := refUnmask(rest[:h.length], key)
			wire = rest[h.length:]
			switch h.op {
			case 8:
				switch {
				case len(payload) == 0:
					out.close, out.sent = &CloseError{Code: StatusNoStatusRcvd}, StatusNormalClosure
				case len(payload) == 1 || !refValidCode(binary.BigEndian.Uint16(payload)):
					return violation(StatusProtocolError, ErrProtocol)
				case !utf8.Valid(payload[2:]):
					return violation(StatusInvalidFramePayloadData, ErrInvalidUTF8)
				default:
					code := StatusCode(binary.BigEndian.Uint16(payload))
					out.close, out.sent = &CloseError{Code: code, Reason: string(payload[2:])}, code
				}
				return out
			case 9:
				out.pongs = append(out.pongs, payload)
			}
			continue
		}
		if h.op != 0 {
			msg = &refMessage{typ: MessageType(h.op), data: []byte{}}
		}
		if h.length > limit-int64(len(msg.data)) {
			return violation(StatusMessageTooBig, ErrMessageTooBig)
		}
		avail := min(h.length, int64(len(rest)))
		msg.data = append(msg.data, refUnmask(rest[:avail], key)...)
		if msg.typ == MessageText && firstInvalid(msg.data) >= 0 {
			return violation(StatusInvalidFramePayloadData, ErrInvalidUTF8)
		}
		if avail < h.length {
			return out
		}
		wire = rest[avail:]
		if h.fin {
			if msg.typ == MessageText && !utf8.Valid(msg.data) {
				return violation(StatusInvalidFramePayloadData, ErrInvalidUTF8)
			}
			out.msgs = append(out.msgs, *msg)
			msg = nil
		}
	}
}

// readAllMessages reads messages from c until an error, with Read, or with
// Reader and short reads when streaming is set.
func readAllMessages(c *Conn, streaming bool, max int) ([]refMessage, error) {
	ctx := context.Background()
	var got []refMessage
	for len(got) <= max {
		if !streaming {
			typ, data, err := c.Read(ctx, nil)
			if err != nil {
				return got, err
			}
			got = append(got, refMessage{typ, data})
			continue
		}
		typ, r, err := c.Reader(ctx)
		if err != nil {
			return got, err
		}
		data := []byte{}
		var buf [7]byte
		for {
			n, err := r.Read(buf[:])
			data = append(data, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				return got, err
			}
		}
		got = append(got, refMessage{typ, data})
	}
	return got, errors.New("more messages than the reference delivers")
}

// checkSent checks what a Conn wrote to its peer: a pong for each ping, in
// order, then the close frame with code sent, if any, and nothing else.
func checkSent(t *testing.T, out []byte, client bool, pongs [][]byte, sent StatusCode) {
	t.Helper()
	peer := wstest.NewRawPeer(&wstest.FakeConn{R: bytes.NewReader(out)}, !client)
	for i, p := range pongs {
		f, err := peer.ReadFrame()
		if err != nil || f.Op != wstest.OpPong || !f.Fin || !bytes.Equal(f.Payload, p) {
			t.Fatalf("pong %d: got op %#x %q %v, want a pong %q", i, f.Op, f.Payload, err, p)
		}
	}
	if sent != 0 {
		f, err := peer.ReadFrame()
		if err != nil || f.Op != wstest.OpClose || len(f.Payload) != 2 || binary.BigEndian.Uint16(f.Payload) != uint16(sent) {
			t.Fatalf("got op %#x %q %v, want a close frame with code %d", f.Op, f.Payload, err, sent)
		}
	}
	if f, err := peer.ReadFrame(); err != io.EOF {
		t.Fatalf("got an extra frame op %#x %q (%v), want nothing more", f.Op, f.Payload, err)
	}
}

// fuzzReadFrames reads wire with a Conn in the given role and compares every
// message, the final error and every frame the Conn sent with
// refReadStream. limit 0 means DefaultReadLimit; mode picks the read size
// (low 5 bits) and the Read or Reader API (top bit).
func fuzzReadFrames(t *testing.T, client bool, wire []byte, limit uint16, mode uint8) {
	readLimit := int64(limit)
	if readLimit == 0 {
		readLimit = DefaultReadLimit
	}
	want := refReadStream(wire, client, readLimit)
	var out bytes.Buffer
	nc := &wstest.FakeConn{R: &chunkReader{r: bytes.NewReader(wire), size: int(mode&0x1f) + 1}, W: &out}
	c := newConn(nc, nil, client, (&UpgradeOptions{ReadLimit: readLimit}).connConfig())
	defer c.CloseNow()
	got, err := readAllMessages(c, mode&0x80 != 0, len(want.msgs))
	if len(got) != len(want.msgs) {
		t.Fatalf("got %d messages (then %v), want %d", len(got), err, len(want.msgs))
	}
	for i, m := range got {
		if w := want.msgs[i]; m.typ != w.typ || !bytes.Equal(m.data, w.data) {
			t.Fatalf("message %d: got %v %q, want %v %q", i, m.typ, m.data, w.typ, w.data)
		}
	}
	var ce *CloseError
	switch {
	case want.err != nil:
		if !errors.Is(err, want.err) {
			t.Fatalf("got error %v, want %v", err, want.err)
		}
	case want.close != nil:
		if !errors.As(err, &ce) || ce.Code != want.close.Code || ce.Reason != want.close.Reason {
			t.Fatalf("got error %v, want the peer's close %v %q", err, want.close.Code, want.close.Reason)
		}
	default:
		if CloseStatus(err) != StatusAbnormalClosure || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("got error %v, want 1006 with io.ErrUnexpectedEOF for a stream cut short", err)
		}
	}
	checkSent(t, out.Bytes(), client, want.pongs, want.sent)
}

// frameSeeds are streams for FuzzReadFrames*, written as a client sends
// them (masked) when masked is set, else as a server does.
func frameSeeds(masked bool) [][]byte {
	enc := func(fs ...wstest.Frame) []byte {
		var b []byte
		for _, f := range fs {
			if masked {
				f.Masked, f.Key = true, rfcKey
			}
			b = wstest.AppendFrame(b, f)
		}
		return b
	}
	return [][]byte{
		enc(frame(true, wstest.OpText, "Hello")),
		enc(frame(false, wstest.OpText, "Hel"), frame(true, wstest.OpPing, "p"), frame(true, wstest.OpContinuation, "lo")),
		enc(frame(true, wstest.OpBinary, string(pattern(300))), frame(true, wstest.OpClose, "\x03\xe8bye")),
		enc(frame(false, wstest.OpText, "\xf0\x9f"), frame(true, wstest.OpContinuation, "\x98\x80")),
		enc(frame(true, wstest.OpText, "ok \xf0\x9f\x98\x28")),
		enc(frame(true, wstest.OpClose, "\x03")),
		enc(frame(true, wstest.OpClose, "\x03\xed")),
		enc(frame(true, wstest.OpPong, "x"), frame(true, wstest.OpClose, "")),
		enc(frame(true, 0x3, "reserved")),
		enc(wstest.Frame{Fin: true, RSV: 0x40, Op: wstest.OpText, Payload: []byte("x")}),
		enc(frame(true, wstest.OpContinuation, "stray")),
		enc(frame(false, wstest.OpPing, "fragmented")),
		enc(frame(true, wstest.OpPing, strings.Repeat("p", 126))),
		{0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x37, 0xfa, 0x21, 0x3d},
		rfcMaskedHello,
		rfcUnmaskedHello,
		{},
	}
}

func FuzzReadFramesServer(f *testing.F) {
	for i, seed := range frameSeeds(true) {
		f.Add(seed, uint16(0), uint8(i*37))
	}
	f.Add(frameSeeds(true)[2], uint16(100), uint8(0x81))
	f.Fuzz(func(t *testing.T, wire []byte, limit uint16, mode uint8) {
		fuzzReadFrames(t, false, wire, limit, mode)
	})
}

func FuzzReadFramesClient(f *testing.F) {
	for i, seed := range frameSeeds(false) {
		f.Add(seed, uint16(0), uint8(i*37))
	}
	f.Add(frameSeeds(false)[2], uint16(100), uint8(0x81))
	f.Fuzz(func(t *testing.T, wire []byte, limit uint16, mode uint8) {
		fuzzReadFrames(t, true, wire, limit, mode)
	})
}

func FuzzClosePayload(f *testing.F) {
	for _, seed := range [][]byte{
		nil,
		{0x03},
		{0x03, 0xe8},
		[]byte("\x03\xe8bye"),
		{0x03, 0xed},
		{0x0b, 0xb8},
		{0x13, 0x88},
		[]byte("\x0f\xa0\xff"),
		wstest.ClosePayload(4000, strings.Repeat("é", 61)+"!"),
		wstest.ClosePayload(1000, strings.Repeat("r", 124)),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		ce, code, err := parseClose(p)
		switch {
		case len(p) == 0:
			if err != nil || ce == nil || ce.Code != StatusNoStatusRcvd {
				t.Fatalf("empty: got %v %v %v, want 1005", ce, code, err)
			}
		case len(p) == 1 || !refValidCode(binary.BigEndian.Uint16(p)):
			if err == nil || !errors.Is(err, ErrProtocol) || code != StatusProtocolError {
				t.Fatalf("% x: got %v %v %v, want a protocol error (1002)", p, ce, code, err)
			}
		case !utf8.Valid(p[2:]):
			if err == nil || !errors.Is(err, ErrInvalidUTF8) || code != StatusInvalidFramePayloadData {
				t.Fatalf("% x: got %v %v %v, want invalid UTF-8 (1007)", p, ce, code, err)
			}
		default:
			if err != nil || ce == nil || uint16(ce.Code) != binary.BigEndian.Uint16(p) || ce.Reason != string(p[2:]) {
				t.Fatalf("% x: got %v %v %v, want the code and reason", p, ce, code, err)
			}
		}
		if len(p) < 2 {
			return
		}
		// Close accepts exactly the codes and reasons a close frame may
		// carry, and sends them as they are.
		wantOK := refValidCode(binary.BigEndian.Uint16(p)) && utf8.Valid(p[2:]) && len(p) <= 125
		var out bytes.Buffer
		c := newConn(&wstest.FakeConn{W: &out}, nil, false, (*UpgradeOptions)(nil).connConfig())
		defer c.CloseNow()
		c.Close(StatusCode(binary.BigEndian.Uint16(p)), string(p[2:]))
		if !wantOK {
			if out.Len() != 0 {
				t.Fatalf("% x: Close sent % x, want nothing for an invalid code or reason", p, out.Bytes())
			}
			return
		}
		if want := append([]byte{0x88, byte(len(p))}, p...); !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("% x: Close sent % x, want % x", p, out.Bytes(), want)
		}
	})
}

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

// inflateTail is what RFC 7692 §7.2.2 has the receiver append to a
// compressed message, followed by an empty final block.
var inflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// refInflate inflates a message payload with compress/flate directly, up
// to limit+1 bytes, with dict as the window of earlier messages.
func refInflate(payload, dict []byte, limit int64) ([]byte, error) {
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(payload), bytes.NewReader(inflateTail)), dict)
	return io.ReadAll(io.LimitReader(r, limit+1))
}

// deflateSeed compresses msg as permessage-deflate sends it.
func deflateSeed(msg string) []byte {
	var b bytes.Buffer
	zw, _ := flate.NewWriter(&b, flate.BestSpeed)
	zw.Write([]byte(msg))
	zw.Flush()
	return bytes.TrimSuffix(b.Bytes(), deflateTail[:])
}

func FuzzInflate(f *testing.F) {
	seeds := [][]byte{
		{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00},                         // RFC 7692 §7.2.3.1 "Hello"
		{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00},                   // §7.2.3.4 with BFINAL set
		{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}, // §7.2.3.3 stored
		{0xf2, 0x00, 0x11, 0x00, 0x00},                                     // §7.2.3.2 "Hello" again, with takeover
		deflateSeed(strings.Repeat("a", 1<<20)),                            // a bomb
		deflateSeed("\xf0\x9f\x98\x80 ok \xed\xa0\x80"),
		{0xff, 0xff, 0xff},
		{},
	}
	for i, s := range seeds {
		f.Add(s, seeds[(i+1)%len(seeds)], uint16(i*3), uint8(i*41))
	}
	f.Fuzz(func(t *testing.T, first, second []byte, split uint16, opts uint8) {
		typ := MessageBinary
		if opts&1 != 0 {
			typ = MessageText
		}
		takeover := opts&2 != 0
		limit := 64 + int64(opts>>2)<<10
		// The first message in two frames with a ping between them, the
		// second in one, then an uncompressed message that must come out
		// intact: compressed payloads must not disturb the framing.
		s := int(split) % (len(first) + 1)
		wire := cat(
			masked(wstest.Frame{RSV: 0x40, Op: byte(typ), Payload: first[:s]}),
			masked(frame(true, wstest.OpPing, "p")),
			masked(wstest.Frame{Fin: true, Op: wstest.OpContinuation, Payload: first[s:]}),
			masked(wstest.Frame{Fin: true, RSV: 0x40, Op: byte(typ), Payload: second}),
			masked(frame(true, wstest.OpText, "end")),
		)
		var out bytes.Buffer
		cfg := (&UpgradeOptions{ReadLimit: limit}).connConfig()
		cfg.deflate = newDeflateState(&CompressionOptions{}, true, !takeover, 15, 15)
		c := newConn(&wstest.FakeConn{R: bytes.NewReader(wire), W: &out}, nil, false, cfg)
		defer c.CloseNow()

		var history []byte
		for i, payload := range [][]byte{first, second, nil} {
			gotType, got, err := c.Read(context.Background(), nil)
			if payload == nil {
				if err != nil || gotType != MessageText || string(got) != "end" {
					t.Fatalf("last message: got %v %q %v, want text %q", gotType, got, err, "end")
				}
				return
			}
			var dict []byte
			if takeover {
				dict = history[max(0, len(history)-1<<15):]
			}
			want, werr := refInflate(payload, dict, limit)
			history = append(history, want...)
			var corrupt flate.CorruptInputError
			tooBig := int64(len(want)) > limit
			// The payload on the wire may be held to a limit of its own,
			// somewhat above the read limit.
			wireBig := int64(len(payload)) > limit
			badText := typ == MessageText && firstInvalid(want[:min(int64(len(want)), limit)]) >= 0
			broken := errors.As(werr, &corrupt) || werr == io.ErrUnexpectedEOF
			if !tooBig && !badText && werr == nil && typ == MessageText && !utf8.Valid(want) {
				badText = true // valid so far, but cut in the middle of a code point
			}
			if err == nil {
				if tooBig || badText || werr != nil || gotType != typ || !bytes.Equal(got, want) {
					t.Fatalf("message %d: got %v %q, want %v %q (too big %v, invalid text %v, corrupt %v)", i, gotType, got, typ, want, tooBig, badText, werr)
				}
				continue
			}
			// Where the message breaks several rules, which one is seen
			// first depends on how the output is cut into reads.
			var codes []StatusCode
			switch {
			case (tooBig || wireBig) && errors.Is(err, ErrMessageTooBig):
				codes = []StatusCode{StatusMessageTooBig}
			case badText && errors.Is(err, ErrInvalidUTF8):
				codes = []StatusCode{StatusInvalidFramePayloadData}
			case broken && !tooBig && errors.Is(err, ErrProtocol):
				codes = []StatusCode{StatusInvalidFramePayloadData}
			case werr != nil && !broken && !tooBig:
				codes = []StatusCode{StatusInternalError}
			default:
				t.Fatalf("message %d: got %v %d bytes %v, want %v %q (too big %v, invalid text %v, corrupt %v)", i, gotType, len(got), err, typ, want, tooBig, badText, werr)
			}
			// The peer is the client: the Conn sends unmasked frames.
			peer := wstest.NewRawPeer(&wstest.FakeConn{R: &out}, true)
			for {
				fr, err := peer.ReadFrame()
				if err != nil {
					t.Fatalf("message %d: no close frame sent: %v", i, err)
				}
				if fr.Op == wstest.OpClose {
					if len(fr.Payload) < 2 || !slices.Contains(codes, StatusCode(binary.BigEndian.Uint16(fr.Payload))) {
						t.Fatalf("message %d: got close % x, want code %v", i, fr.Payload, codes)
					}
					return
				}
			}
		}
	})
}
