package websocket

import (
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
)

// Compression defaults.
const (
	// DefaultCompressionLevel is flate.BestSpeed: on chat- and JSON-like
	// messages it gets most of the size reduction of higher levels at a
	// fraction of their CPU time and memory.
	DefaultCompressionLevel = flate.BestSpeed

	// DefaultCompressionThreshold is the size below which a message is
	// sent uncompressed: a deflate block has a few bytes of overhead, so
	// short messages rarely shrink, and skipping them saves CPU.
	DefaultCompressionThreshold = 128
)

// CompressionOptions turn on the permessage-deflate extension (RFC 7692).
// The zero value offers (client) or accepts (server) compression with
// context takeover and full windows in both directions.
//
// Compression trades CPU and memory for bandwidth. Context takeover lets a
// message refer back to earlier ones, which compresses small similar
// messages far better, but a connection that has sent a compressed message
// then keeps its own compressor (the standard library's holds about 1.2 MiB
// at every level: measured 1.28 MB per active server connection) and a
// window of up to 64 KiB for reading. Without context takeover, compressors
// are pooled and shared, and an active connection holds no more than an
// idle one (about 6 KB, measured). A server with many connections should
// set ServerNoContextTakeover; BenchmarkCompressionMemory measures each mode.
type CompressionOptions struct {
	// Level is the flate compression level: 1 (fastest) to 9 (smallest),
	// or flate.HuffmanOnly. Zero means DefaultCompressionLevel.
	Level int

	// Threshold is the message size, in bytes, below which Write sends a
	// message uncompressed; a Writer decides when its first frame must go
	// out. Zero means DefaultCompressionThreshold; negative compresses
	// every message.
	Threshold int

	// ServerNoContextTakeover: the server compresses each message on its
	// own. A client requests it; a server imposes it on itself.
	ServerNoContextTakeover bool

	// ClientNoContextTakeover: the client compresses each message on its
	// own. A client declares it; a server requires it of the client, which
	// saves the server the client's window.
	ClientNoContextTakeover bool

	// ServerMaxWindowBits (8 to 15) limits the server's window to
	// 2^ServerMaxWindowBits bytes: a client requests it, a server imposes
	// it on itself. Zero means 15 (32 KiB).
	ServerMaxWindowBits int

	// ClientMaxWindowBits (8 to 15) limits the client's window: a client
	// offers it, a server imposes it when the client offered to accept a
	// limit. Zero means no limit is requested.
	ClientMaxWindowBits int
}

// deflateState is a Conn's side of a negotiated permessage-deflate.
type deflateState struct {
	level     int
	threshold int
	enabled   atomic.Bool // the per-message switch of SetCompression

	// Write side, guarded by msgMu.
	writeNoContext bool          // reset the compressor for every message
	zw             *flate.Writer // kept across messages with context takeover

	// Read side, owned by the reader.
	readNoContext bool
	readWindow    int    // bytes of history the peer may refer back to
	dict          []byte // the last readWindow bytes inflated, with takeover
	inf           *inflater
}

func newDeflateState(o *CompressionOptions, writeNoContext, readNoContext bool, writeBits, readBits int) *deflateState {
	d := &deflateState{
		level:          o.Level,
		threshold:      o.Threshold,
		writeNoContext: writeNoContext,
		readNoContext:  readNoContext,
		readWindow:     1 << readBits,
	}
	if d.level == 0 {
		d.level = DefaultCompressionLevel
	}
	if d.threshold == 0 {
		d.threshold = DefaultCompressionThreshold
	}
	if writeBits < 15 {
		// The standard compressor always searches a 32 KiB window; Huffman
		// coding alone makes no back-references and so honours any window
		// the peer asked for (RFC 7692 §7.1.2). Nothing refers back, so
		// there is no context to keep either.
		d.level = flate.HuffmanOnly
		d.writeNoContext = true
	}
	d.enabled.Store(true)
	return d
}

// SetCompression switches compression of the messages written from now on
// when permessage-deflate was negotiated; it is on by default then. It has
// no effect otherwise.
func (c *Conn) SetCompression(on bool) {
	if c.cfg.deflate != nil {
		c.cfg.deflate.enabled.Store(on)
	}
}

// Negotiation (RFC 7692 §5, §7.1).

const deflateName = "permessage-deflate"

// deflateOffer holds the parameters of one permessage-deflate element.
type deflateOffer struct {
	serverNoContext, clientNoContext bool
	serverBits, clientBits           int  // 0 when absent
	clientBitsOffered                bool // client_max_window_bits, with or without value
}

// parseDeflateParams validates the parameters of a permessage-deflate
// element: each known, at most once, with a value only where one belongs
// (RFC 7692 §7). inResponse applies the rule that a server's
// client_max_window_bits carries a value (§7.1.2.2).
func parseDeflateParams(e extension, inResponse bool) (deflateOffer, error) {
	var o deflateOffer
	seen := make(map[string]bool, len(e.params))
	for _, p := range e.params {
		if seen[p.key] {
			return o, fmt.Errorf("duplicate parameter %s", p.key)
		}
		seen[p.key] = true
		switch p.key {
		case "server_no_context_takeover", "client_no_context_takeover":
			if p.hasValue {
				return o, fmt.Errorf("parameter %s takes no value", p.key)
			}
			if p.key == "server_no_context_takeover" {
				o.serverNoContext = true
			} else {
				o.clientNoContext = true
			}
		case "server_max_window_bits":
			bits, ok := parseWindowBits(p.value)
			if !ok {
				return o, fmt.Errorf("invalid server_max_window_bits %q", p.value)
			}
			o.serverBits = bits
		case "client_max_window_bits":
			o.clientBitsOffered = true
			if !p.hasValue && !inResponse {
				continue
			}
			bits, ok := parseWindowBits(p.value)
			if !ok {
				return o, fmt.Errorf("invalid client_max_window_bits %q", p.value)
			}
			o.clientBits = bits
		default:
			return o, fmt.Errorf("unknown parameter %s", p.key)
		}
	}
	return o, nil
}

// acceptDeflate picks the first acceptable permessage-deflate offer of a
// request and returns the response element and the server's state, or ""
// and nil when there is none to accept. Malformed offers are declined.
func acceptDeflate(h http.Header, o *CompressionOptions) (string, *deflateState) {
	if o == nil {
		return "", nil
	}
	exts, bad := parseExtensions(h)
	for i, e := range exts {
		if bad[i] || e.name != deflateName {
			continue
		}
		offer, err := parseDeflateParams(e, false)
		if err != nil {
			continue // §5: decline this offer, consider the next
		}
		resp := deflateName
		serverNoContext := offer.serverNoContext || o.ServerNoContextTakeover
		if serverNoContext {
			resp += "; server_no_context_takeover"
		}
		clientNoContext := offer.clientNoContext || o.ClientNoContextTakeover
		if clientNoContext {
			resp += "; client_no_context_takeover"
		}
		// §7.1.2.1: the server's window is at most what the client asked
		// for, and the server may narrow it further.
		serverBits := 15
		if offer.serverBits != 0 {
			serverBits = offer.serverBits
		}
		if b := o.ServerMaxWindowBits; b >= 8 && b < serverBits {
			serverBits = b
		}
		if offer.serverBits != 0 || serverBits < 15 {
			resp += "; server_max_window_bits=" + strconv.Itoa(serverBits)
		}
		// §7.1.2.2: the client's window may be limited only if the client
		// offered client_max_window_bits.
		clientBits := 15
		if offer.clientBits != 0 {
			clientBits = offer.clientBits
		}
		if b := o.ClientMaxWindowBits; offer.clientBitsOffered && b >= 8 && b < clientBits {
			clientBits = b
		}
		if offer.clientBitsOffered && clientBits < 15 {
			resp += "; client_max_window_bits=" + strconv.Itoa(clientBits)
		}
		return resp, newDeflateState(o, serverNoContext, clientNoContext, serverBits, clientBits)
	}
	return "", nil
}

// offerDeflate returns a client's permessage-deflate offer.
func offerDeflate(o *CompressionOptions) string {
	s := deflateName
	if o.ServerNoContextTakeover {
		s += "; server_no_context_takeover"
	}
	if o.ClientNoContextTakeover {
		s += "; client_no_context_takeover"
	}
	if b := o.ServerMaxWindowBits; b >= 8 && b < 15 {
		s += "; server_max_window_bits=" + strconv.Itoa(b)
	}
	if b := o.ClientMaxWindowBits; b >= 8 && b < 15 {
		s += "; client_max_window_bits=" + strconv.Itoa(b)
	} else {
		s += "; client_max_window_bits"
	}
	return s
}

// verifyDeflate checks a server's answer to our offer (o nil: none made)
// and returns the client's state, or nil if the server declined.
func verifyDeflate(h http.Header, o *CompressionOptions) (*deflateState, error) {
	exts, bad := parseExtensions(h)
	if len(exts) == 0 {
		return nil, nil
	}
	// RFC 6455 §9.1: the server may only answer with extensions offered.
	if o == nil || len(exts) != 1 || bad[0] || exts[0].name != deflateName {
		return nil, errors.New("server accepted an extension that was not offered")
	}
	resp, err := parseDeflateParams(exts[0], true)
	if err != nil {
		return nil, fmt.Errorf("permessage-deflate response: %w", err)
	}
	// §7.1.1.1, §7.1.2.1: what we requested of the server must be granted.
	if o.ServerNoContextTakeover && !resp.serverNoContext {
		return nil, errors.New("permessage-deflate response: server_no_context_takeover not granted")
	}
	want := 15
	if b := o.ServerMaxWindowBits; b >= 8 && b < 15 {
		want = b
	}
	serverBits := 15
	if resp.serverBits != 0 {
		serverBits = resp.serverBits
	}
	if serverBits > want {
		return nil, fmt.Errorf("permessage-deflate response: server_max_window_bits=%d exceeds the %d requested", serverBits, want)
	}
	// §7.1.2.2: client_max_window_bits only if offered, and within our offer.
	clientBits := 15
	if resp.clientBitsOffered {
		clientBits = resp.clientBits
		if b := o.ClientMaxWindowBits; b >= 8 && b < 15 && clientBits > b {
			return nil, fmt.Errorf("permessage-deflate response: client_max_window_bits=%d exceeds our offer", clientBits)
		}
	}
	clientNoContext := resp.clientNoContext || o.ClientNoContextTakeover
	return newDeflateState(o, clientNoContext, resp.serverNoContext, clientBits, serverBits), nil
}

// Compression of outgoing messages (RFC 7692 §7.2.1).

// flateWriters pools compressors by level (flate.HuffmanOnly is -2).
var flateWriters [flate.BestCompression + 3]sync.Pool

// compressor returns the compressor for a message, writing to dst.
func (d *deflateState) compressor(dst io.Writer) *flate.Writer {
	if !d.writeNoContext {
		if d.zw == nil {
			d.zw, _ = flate.NewWriter(dst, d.level)
		}
		return d.zw
	}
	if zw, ok := flateWriters[d.level+2].Get().(*flate.Writer); ok {
		zw.Reset(dst)
		return zw
	}
	zw, _ := flate.NewWriter(dst, d.level)
	return zw
}

// release returns a per-message compressor to its pool.
func (d *deflateState) release(zw *flate.Writer) {
	if d.writeNoContext {
		zw.Reset(nil)
		flateWriters[d.level+2].Put(zw)
	}
}

// deflateTail is the empty stored block that ends each flushed message;
// the sender removes it (§7.2.1) and the receiver puts it back (§7.2.2).
var deflateTail = [4]byte{0x00, 0x00, 0xff, 0xff}

// tailHolder passes compressed bytes on to a frame writer while holding
// back the last four, so that the flush marker can be dropped at the end.
type tailHolder struct {
	emit func([]byte) error
	tail [4]byte
	n    int
}

func (t *tailHolder) Write(p []byte) (int, error) {
	total := len(p)
	if t.n+len(p) <= 4 {
		t.n += copy(t.tail[t.n:], p)
		return total, nil
	}
	// Send what falls out of the 4-byte window: the held bytes first.
	if out := t.n + len(p) - 4; out > 0 {
		fromTail := min(out, t.n)
		if err := t.emit(t.tail[:fromTail]); err != nil {
			return 0, err
		}
		t.n = copy(t.tail[:], t.tail[fromTail:t.n])
		if k := out - fromTail; k > 0 {
			if err := t.emit(p[:k]); err != nil {
				return 0, err
			}
			p = p[k:]
		}
	}
	t.n += copy(t.tail[t.n:], p)
	return total, nil
}

// Decompression of incoming messages (RFC 7692 §7.2.2).

// inflater inflates one message; inflaters are pooled between messages and
// connections, since with context takeover the history lives in
// deflateState.dict.
type inflater struct {
	fr  io.ReadCloser
	src inflateSource
}

var inflaters = sync.Pool{New: func() any {
	f := &inflater{}
	f.fr = flate.NewReader(&f.src)
	return f
}}

// inflateSource feeds a message's payload to the decompressor, followed by
// the removed flush marker and an empty final block, so that the
// decompressor reports io.EOF exactly at the end of the message.
type inflateSource struct {
	c    *Conn // whose current message is read
	buf  [512]byte
	r, w int
	tail int // bytes of inflateEnd served
}

var inflateEnd = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

func (s *inflateSource) ReadByte() (byte, error) {
	if s.r == s.w {
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	b := s.buf[s.r]
	s.r++
	return b, nil
}

func (s *inflateSource) Read(p []byte) (int, error) {
	if s.r == s.w {
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.buf[s.r:s.w])
	s.r += n
	return n, nil
}

func (s *inflateSource) fill() error {
	s.r, s.w = 0, 0
	if s.tail < 0 {
		n, err := s.c.readPayload(s.c.cr.ctx, s.buf[:])
		if err != io.EOF {
			s.w = n
			return err
		}
		s.tail = 0
	}
	if s.tail == len(inflateEnd) {
		return io.EOF
	}
	s.w = copy(s.buf[:], inflateEnd[s.tail:])
	s.tail += s.w
	return nil
}

// startInflate prepares to inflate c's current message.
func (d *deflateState) startInflate(c *Conn) {
	f := inflaters.Get().(*inflater)
	f.src.c, f.src.r, f.src.w, f.src.tail = c, 0, 0, -1
	var dict []byte
	if !d.readNoContext {
		dict = d.dict[max(0, len(d.dict)-d.readWindow):]
	}
	f.fr.(flate.Resetter).Reset(&f.src, dict)
	d.inf = f
}

// inflate reads inflated bytes of the current message.
func (d *deflateState) inflate(p []byte) (int, error) {
	n, err := d.inf.fr.Read(p)
	if n > 0 && !d.readNoContext {
		d.remember(p[:n])
	}
	return n, err
}

// endInflate returns the message's inflater to the pool.
func (d *deflateState) endInflate() {
	if d.inf != nil {
		d.inf.src.c = nil
		inflaters.Put(d.inf)
		d.inf = nil
	}
}

// remember keeps the last readWindow bytes of inflated output, the history
// the peer's next message may refer to. The buffer holds two windows so that
// sliding costs a copy only once per window of output.
func (d *deflateState) remember(p []byte) {
	w := d.readWindow
	if d.dict == nil {
		d.dict = make([]byte, 0, 2*w)
	}
	if len(p) >= w {
		d.dict = append(d.dict[:0], p[len(p)-w:]...)
		return
	}
	if len(d.dict)+len(p) > cap(d.dict) {
		keep := w - len(p)
		d.dict = d.dict[:copy(d.dict, d.dict[len(d.dict)-keep:])]
	}
	d.dict = append(d.dict, p...)
}
