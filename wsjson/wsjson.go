// Package wsjson reads and writes JSON values over WebSocket connections,
// one value per message, with encoding/json.
//
// It is built only on the exported API of package websocket.
package wsjson

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/wsforge/websocket"
)

// maxPooledBuffer is the largest read buffer kept for reuse; larger ones,
// grown for a large message, are left to the garbage collector so that the
// pool never pins much memory.
const maxPooledBuffer = 64 << 10

// readBuffers holds *[]byte buffers of zero length for Read.
var readBuffers = sync.Pool{New: func() any { return new([]byte) }}

// Read reads the next message and decodes it, as one JSON value, into v
// with [json.Unmarshal]. Text and binary messages are both accepted. The
// message is read whole, within the Conn's read limit, before it is
// decoded. Read must not be called concurrently with another read of c.
//
// A message that is not a single JSON value (whitespace may surround it),
// or whose value does not fit v, is an error wrapping the one from
// json.Unmarshal, such as a [*json.SyntaxError] or a
// [*json.UnmarshalTypeError]; the message is consumed and the Conn remains
// usable. As with json.Unmarshal, v is left unchanged by a syntax error but
// may be partly set by a value that does not fit it.
//
// A read cut off by ctx returns ctx's error and consumes nothing: the next
// Read, or [websocket.Conn.Read], gets the whole message. (A compressed
// message is the exception [websocket.Conn.Read] describes: the Conn closes
// the connection.) Errors from the connection, such as a
// [*websocket.CloseError], are returned as websocket.Conn.Read returns
// them.
func Read(ctx context.Context, c *websocket.Conn, v any) error {
	if c == nil {
		return errors.New("wsjson: read: nil Conn")
	}
	bp := readBuffers.Get().(*[]byte)
	defer putReadBuffer(bp)
	_, msg, err := c.Read(ctx, (*bp)[:0])
	*bp = msg // keep what Read grew, even for a failed read
	if err != nil {
		return err // from the Conn, as Read reports it
	}
	if err := json.Unmarshal(msg, v); err != nil {
		return fmt.Errorf("wsjson: read: %w", err)
	}
	return nil
}

// putReadBuffer returns *bp to the pool, emptied, unless it has grown past
// maxPooledBuffer.
func putReadBuffer(bp *[]byte) {
	if cap(*bp) > maxPooledBuffer {
		return
	}
	*bp = (*bp)[:0]
	readBuffers.Put(bp)
}

// Write encodes v with encoding/json and sends it as one text message:
// a [json.Encoder] writes the encoding into a [websocket.Conn.Writer],
// which sends it in frames as its buffer fills. Unlike
// [json.Encoder.Encode], no newline follows it. If v cannot be encoded,
// Write returns an error wrapping the one from encoding/json and sends
// nothing. Errors from the connection are returned as the Writer reports
// them. Write may be called concurrently with other writes of c; each
// message goes out whole.
func Write(ctx context.Context, c *websocket.Conn, v any) error {
	if c == nil {
		return errors.New("wsjson: write: nil Conn")
	}
	w := &messageWriter{ctx: ctx, c: c}
	err := json.NewEncoder(w).Encode(v)
	if err != nil && w.err == nil {
		// v could not be encoded, which json.Encoder finds out before it
		// writes anything: no message was started.
		return fmt.Errorf("wsjson: write: %w", err)
	}
	if w.w != nil {
		// A Writer must be closed even after a failed write.
		if cerr := w.w.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// messageWriter opens the message's Writer on the first Write, so that a
// value that fails to encode sends no message, and holds back the newline
// that json.Encoder ends its output with.
type messageWriter struct {
	ctx     context.Context
	c       *websocket.Conn
	w       io.WriteCloser // the message's, once opened
	err     error          // the first error from the Conn
	newline bool           // a held-back '\n', written if more bytes follow it
}

func (m *messageWriter) Write(p []byte) (int, error) {
	if m.err == nil {
		m.err = m.write(p)
	}
	if m.err != nil {
		return 0, m.err
	}
	return len(p), nil
}

func (m *messageWriter) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if m.w == nil {
		w, err := m.c.Writer(m.ctx, websocket.MessageText)
		if err != nil {
			return err
		}
		m.w = w
	}
	if m.newline {
		if _, err := m.w.Write([]byte{'\n'}); err != nil {
			return err
		}
		m.newline = false
	}
	if p[len(p)-1] == '\n' {
		m.newline = true
		p = p[:len(p)-1]
	}
	_, err := m.w.Write(p)
	return err
}
