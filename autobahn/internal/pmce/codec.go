package pmce

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"sync"
)

// syncTail ends every sync-flushed deflate stream; RFC 7692 §7.2.1 has the
// sender remove it from each message and §7.2.2 the receiver put it back.
var syncTail = []byte{0x00, 0x00, 0xff, 0xff}

// Level is the compression level of the runner, the default level like the
// reference suite's zlib: it makes back-references into earlier messages
// whenever context takeover allows, which the testee must resolve.
const Level = flate.DefaultCompression

// writers pools compressors by kind: creating one allocates about 1 MiB.
var writers [2]sync.Pool

// Deflater compresses the messages the runner sends.
type Deflater struct {
	w         *flate.Writer
	kind      int // 0: Level, 1: Huffman only
	out       bytes.Buffer
	noContext bool
	started   bool
}

// NewDeflater returns a compressor for the runner's side of p. A window
// smaller than 2^15 octets is honoured by Huffman coding alone, which makes
// no back-references at all (and so needs no context either); the standard
// compressor always searches a 32 KiB window.
func NewDeflater(p Params) *Deflater {
	d := &Deflater{noContext: p.SendNoContextTakeover}
	level := Level
	if p.SendWindowBits < 15 {
		d.kind, level = 1, flate.HuffmanOnly
	}
	if w, ok := writers[d.kind].Get().(*flate.Writer); ok {
		d.w = w
		d.w.Reset(&d.out)
	} else {
		d.w, _ = flate.NewWriter(&d.out, level)
	}
	return d
}

// Release returns the compressor to the pool; d must not be used after.
func (d *Deflater) Release() {
	if d.w != nil {
		d.w.Reset(io.Discard)
		writers[d.kind].Put(d.w)
		d.w = nil
	}
}

// NoContextTakeover reports whether each message is compressed on its own.
func (d *Deflater) NoContextTakeover() bool { return d.noContext || d.kind == 1 }

// Compress returns msg compressed as one message payload (without the sync
// tail). The result is valid until the next call.
func (d *Deflater) Compress(msg []byte) []byte {
	d.out.Reset()
	if d.noContext && d.started {
		d.w.Reset(&d.out)
	}
	d.started = true
	_, _ = d.w.Write(msg) // writes to a bytes.Buffer cannot fail
	_ = d.w.Flush()
	b := d.out.Bytes()
	if !bytes.HasSuffix(b, syncTail) {
		panic("pmce: flushed deflate output does not end with the sync marker")
	}
	return b[:len(b)-len(syncTail)]
}

// Inflater decompresses the messages the testee sends.
type Inflater struct {
	fr        io.ReadCloser
	src       source
	noContext bool
	window    int
	hist      []byte // the last window octets of output, with context takeover
	out       []byte
	memo      memo
}

// NewInflater returns a decompressor for the testee's side of p. Without
// context takeover every message starts with an empty history; with it the
// history is the last 2^RecvWindowBits octets of earlier messages, so that a
// back-reference further back fails.
func NewInflater(p Params) *Inflater {
	f := &Inflater{noContext: p.RecvNoContextTakeover, window: 1 << p.RecvWindowBits}
	f.fr = flate.NewReader(&f.src)
	f.memo.index = map[uint64][]int{}
	return f
}

// ErrTooLarge is returned when a message inflates beyond the given limit.
var ErrTooLarge = errors.New("pmce: message inflates beyond the limit")

// finalBlock is appended after the restored sync tail: an empty final stored
// block, so that the decompressor reports the end of the message.
var finalBlock = []byte{0x01, 0x00, 0x00, 0xff, 0xff}

// Inflate decompresses one message payload. The result is valid until the
// next call. limit > 0 bounds the size of the output.
func (f *Inflater) Inflate(payload []byte, limit int) ([]byte, error) {
	if out := f.memo.recall(payload, f.history()); out != nil && (limit <= 0 || len(out) <= limit) {
		f.Remember(out)
		return out, nil
	}
	f.src.reset(payload)
	if err := f.fr.(flate.Resetter).Reset(&f.src, f.history()); err != nil {
		return nil, err
	}
	out := f.out[:0]
	for {
		if len(out) == cap(out) {
			if limit > 0 && len(out) >= limit {
				return nil, ErrTooLarge
			}
			out = append(out, 0)[:len(out)]
		}
		n, err := f.fr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("invalid compressed data: %w", err)
		}
	}
	if limit > 0 && len(out) > limit {
		return nil, ErrTooLarge
	}
	if !f.src.done() {
		return nil, errors.New("invalid compressed data: octets after the end of the deflate data")
	}
	f.out = out
	f.memo.store(payload, f.history(), out)
	f.Remember(out)
	return out, nil
}

// history is what the next message may refer back to.
func (f *Inflater) history() []byte {
	if f.noContext {
		return nil
	}
	return f.hist
}

// Remember appends octets to the history as if they had been inflated: a
// caller that knows what a message decompresses to may skip Inflate.
func (f *Inflater) Remember(p []byte) {
	if f.noContext {
		return
	}
	w := f.window
	if len(p) >= w {
		f.hist = append(f.hist[:0], p[len(p)-w:]...)
		return
	}
	if keep := w - len(p); len(f.hist) > keep {
		f.hist = f.hist[:copy(f.hist, f.hist[len(f.hist)-keep:])]
	}
	f.hist = append(f.hist, p...)
}

// source serves a payload followed by the sync tail and the final block,
// copied into one buffer.
type source struct {
	buf  []byte
	i, n int // read position, length of the payload
}

func (s *source) reset(payload []byte) {
	s.buf = append(append(append(s.buf[:0], payload...), syncTail...), finalBlock...)
	s.i, s.n = 0, len(payload)
}

// done reports whether the decompressor consumed the whole payload; the
// appended octets may stay unread when the payload ended with a final block.
func (s *source) done() bool { return s.i >= s.n }

func (s *source) Read(p []byte) (int, error) {
	if s.i == len(s.buf) {
		return 0, io.EOF
	}
	n := copy(p, s.buf[s.i:])
	s.i += n
	return n, nil
}

func (s *source) ReadByte() (byte, error) {
	if s.i == len(s.buf) {
		return 0, io.EOF
	}
	b := s.buf[s.i]
	s.i++
	return b, nil
}

// memo remembers what messages inflated to. Decompression is a function of
// the payload and the history, so a payload seen before with the same
// history inflates to the same octets: the runner, which sends the same
// messages again and again, skips most of its decompression work that way.
type memo struct {
	seed    maphash.Seed
	index   map[uint64][]int // hash of the payload -> entries
	entries []memoEntry
	size    int
	off     bool
}

type memoEntry struct {
	payload, hist, out []byte
}

const (
	memoMin   = 4 << 10  // smaller messages inflate fast enough
	memoLimit = 24 << 20 // octets kept at most
)

func (m *memo) recall(payload, hist []byte) []byte {
	if len(m.entries) == 0 {
		return nil
	}
	for _, i := range m.index[maphash.Bytes(m.seed, payload)] {
		e := &m.entries[i]
		if bytes.Equal(e.payload, payload) && bytes.Equal(e.hist, hist) {
			return e.out
		}
	}
	return nil
}

func (m *memo) store(payload, hist, out []byte) {
	if m.off || len(out) < memoMin {
		return
	}
	if m.size += len(payload) + len(hist) + len(out); m.size > memoLimit {
		m.off = true
		return
	}
	if len(m.entries) == 0 {
		m.seed = maphash.MakeSeed()
	}
	h := maphash.Bytes(m.seed, payload)
	m.index[h] = append(m.index[h], len(m.entries))
	m.entries = append(m.entries, memoEntry{bytes.Clone(payload), bytes.Clone(hist), bytes.Clone(out)})
}
