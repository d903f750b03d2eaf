package websocket

// Fuzz targets for everything a peer controls: frame headers, whole frame
// streams in both roles, close payloads and compressed payloads here; both
// sides of the opening handshake and extension headers in
// fuzz_handshake_test.go. Each target checks the code against a reference
// written independently of the code under test, or against the standard
// library, not only for panics. FuzzMask (mask_test.go) and FuzzUTF8
// (utf8_test.go) live beside their code. scripts/fuzz.sh runs them all; a
// plain `go test` replays the seeds in f.Add and testdata/fuzz/<Target>/.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
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

// FuzzMaskSplits complements FuzzMask (mask_test.go): the payload starts at
// a random offset of its buffer, so that words are unaligned, and is masked
// in random chunks threading the returned key, against maskNaive.
func FuzzMaskSplits(f *testing.F) {
	f.Add(pattern(300), uint32(0xdeadbeef), uint64(1))
	f.Add([]byte("Hello"), rfcKeyWord, uint64(7))
	f.Fuzz(func(t *testing.T, data []byte, key uint32, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, seed>>17))
		want := bytes.Clone(data)
		wantKey := maskNaive(key, want)
		off := rng.IntN(8)
		buf := make([]byte, off+len(data))
		got := buf[off:]
		copy(got, data)
		k := key
		for _, n := range randomChunks(rng, len(got)) {
			k = mask(k, got[:n])
			got = got[n:]
		}
		if got := buf[off:]; !bytes.Equal(got, want) || k != wantKey {
			t.Fatalf("offset %d, seed %d: got % x key %#08x, want % x key %#08x", off, seed, got, k, want, wantKey)
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
	c := newFakeConn(client, &chunkReader{r: bytes.NewReader(wire), size: int(mode&0x1f) + 1}, &out, &UpgradeOptions{ReadLimit: readLimit})
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
		c := newFakeConn(false, nil, &out, nil)
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

// inflateTail is what RFC 7692 §7.2.2 has the receiver append to a
// compressed message, followed by an empty final block.
var inflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// refInflate inflates a message payload with compress/flate directly, up
// to limit+1 bytes, with dict as the window of earlier messages.
func refInflate(payload, dict []byte, limit int64) ([]byte, error) {
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(payload), bytes.NewReader(inflateTail)), dict)
	return io.ReadAll(io.LimitReader(r, limit+1))
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
		o := &UpgradeOptions{ReadLimit: limit, Compression: &CompressionOptions{ServerNoContextTakeover: true, ClientNoContextTakeover: !takeover}}
		c := newFakeConn(false, bytes.NewReader(wire), &out, o)
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
				codes = []StatusCode{StatusProtocolError}
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
