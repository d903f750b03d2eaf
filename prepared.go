package websocket

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"sync"
)

// PreparedMessage is a message encoded once to be sent on many connections,
// for example by sendqueue.Broadcast. It holds the complete frame a server
// sends, header included, so that each connection writes the same bytes
// with no copying or encoding of its own.
//
// When a connection compresses without context takeover (the server's side
// of a permessage-deflate negotiated with server_no_context_takeover), the
// message is compressed once per compression level, on first use, and the
// result is shared too. Connections that compress with context takeover
// compress it themselves, since their output depends on what they sent
// before; client connections mask each frame with their own key and so
// copy the (possibly shared, compressed) payload as [Conn.Write] does.
//
// A PreparedMessage is immutable and safe for concurrent use.
type PreparedMessage struct {
	typ     MessageType
	frame   []byte // header and payload, unmasked and uncompressed
	payload []byte // frame's payload

	// Compressed frames by flate level (index level+2, as flateWriters).
	zonce  [flate.BestCompression + 3]sync.Once
	zframe [flate.BestCompression + 3]encodedFrame
}

// encodedFrame is a frame's wire bytes and the size of its header.
type encodedFrame struct {
	b    []byte
	hlen int
}

// NewPreparedMessage encodes a message of type typ with payload p. It
// copies p, which the caller may then reuse. It returns an error if typ is
// neither MessageText nor MessageBinary.
func NewPreparedMessage(typ MessageType, p []byte) (*PreparedMessage, error) {
	if typ != MessageText && typ != MessageBinary {
		return nil, errMessageType
	}
	h := header{fin: true, op: opcode(typ), length: int64(len(p))}
	n := headerSize(h.length, false)
	frame := make([]byte, n+len(p))
	putHeader(frame, h)
	copy(frame[n:], p)
	return &PreparedMessage{typ: typ, frame: frame, payload: frame[n:]}, nil
}

var errNilPrepared = errors.New("websocket: nil PreparedMessage")

// WritePrepared sends pm as one message, as [Conn.Write] would send its
// payload: the peer cannot tell the difference. A server connection writes
// pm's shared frame directly; see [PreparedMessage] for when a connection
// must encode it itself. Errors, and the effect of ctx, are those of Write.
func (c *Conn) WritePrepared(ctx context.Context, pm *PreparedMessage) error {
	if pm == nil {
		return errNilPrepared
	}
	d := c.cfg.deflate
	compress := d != nil && d.enabled.Load() && len(pm.payload) >= d.threshold
	switch {
	case compress && !d.writeNoContext:
		// The compressor's output depends on the connection's history.
		return c.Write(ctx, pm.typ, pm.payload)
	case compress:
		frame, hlen := pm.compressed(d.level)
		if frame == nil {
			break // compression would not shrink it: send it as it is
		}
		h := header{fin: true, rsv: bitRSV1, op: opcode(pm.typ), length: int64(len(frame) - hlen)}
		if !c.client {
			return c.writeEncoded(ctx, h, frame)
		}
		// A client masks each frame with a fresh key (RFC 6455 §5.3), so
		// writeFrame copies the shared compressed payload as it masks it.
		if err := c.msgMu.lock(ctx); err != nil {
			return err
		}
		defer func() { c.msgMu.unlock() }()
		return c.writeFrame(ctx, h, frame[hlen:])
	}
	if c.client {
		return c.Write(ctx, pm.typ, pm.payload)
	}
	return c.writeEncoded(ctx, header{fin: true, op: opcode(pm.typ), length: int64(len(pm.payload))}, pm.frame)
}

// compressed returns the message's frame compressed at level
// (RFC 7692 §7.2.1) and the size of its header, or nil if compression does
// not make it smaller. It compresses at most once per level.
func (pm *PreparedMessage) compressed(level int) ([]byte, int) {
	i := level + 2
	if i < 0 || i >= len(pm.zframe) {
		return nil, 0
	}
	pm.zonce[i].Do(func() { pm.zframe[i] = pm.compress(level) })
	return pm.zframe[i].b, pm.zframe[i].hlen
}

// compress deflates the payload with a pooled compressor, drops the flush
// marker, and frames the result with RSV1 set (RFC 7692 §6) in a buffer
// trimmed so that the header ends exactly where the payload starts.
func (pm *PreparedMessage) compress(level int) encodedFrame {
	var out bytes.Buffer
	out.Grow(maxHeaderSize + len(pm.payload)/2)
	out.Write(make([]byte, maxHeaderSize)) // room for the header
	d := &deflateState{level: level, writeNoContext: true}
	t := &tailHolder{emit: func(p []byte) error { out.Write(p); return nil }}
	zw := d.compressor(t)
	_, err := zw.Write(pm.payload)
	if err == nil {
		err = zw.Flush()
	}
	d.release(zw)
	if err != nil || t.n != len(deflateTail) || t.tail != deflateTail {
		return encodedFrame{}
	}
	b := out.Bytes()
	zlen := len(b) - maxHeaderSize
	if zlen >= len(pm.payload) {
		return encodedFrame{}
	}
	h := header{fin: true, rsv: bitRSV1, op: opcode(pm.typ), length: int64(zlen)}
	hlen := headerSize(h.length, false)
	putHeader(b[maxHeaderSize-hlen:], h)
	return encodedFrame{b: b[maxHeaderSize-hlen:], hlen: hlen}
}
