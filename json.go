package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ReadJSON reads the next message and decodes it, as one JSON value, into v
// with encoding/json. The message is decoded as it arrives, without being
// buffered whole first. Text and binary messages are both accepted.
//
// A message that is not a single JSON value, or whose value does not fit v,
// is reported as an error and skipped; the Conn remains usable. So is one
// whose read is cut off by ctx: ReadJSON returns ctx's error and the next
// read starts with the following message. Errors from the connection, such
// as a [*CloseError], are returned as Read returns them.
func ReadJSON(ctx context.Context, c *Conn, v any) error {
	_, r, err := c.Reader(ctx)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(r)
	err = dec.Decode(v)
	if err == nil {
		// The message must end after the value: only whitespace may follow.
		switch _, err = dec.Token(); {
		case err == io.EOF:
			return nil
		case err == nil:
			err = errJSONTrailing
		}
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var inv *json.InvalidUnmarshalError
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF: // the message ended early
		return fmt.Errorf("websocket: read JSON: %w", io.ErrUnexpectedEOF)
	case errors.As(err, &syntax), errors.As(err, &typ), errors.As(err, &inv), err == errJSONTrailing:
		return fmt.Errorf("websocket: read JSON: %w", err)
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		c.abandonMessage()
	}
	return err // from the Conn, as Read would report it
}

// errJSONTrailing reports a message with more after its JSON value.
var errJSONTrailing = errors.New("more than one value in the message")

// abandonMessage makes the next Read or Reader skip the rest of the current
// message instead of continuing it after a read cut off by its context.
func (c *Conn) abandonMessage() {
	if c.readMu.lock(context.Background()) != nil {
		return
	}
	c.interrupted = false
	c.pending = c.pending[:0]
	c.readMu.unlock()
}

// WriteJSON encodes v with encoding/json and sends it as one text message.
// The encoding goes straight into the message's frames, with no copy of it
// made on the way; unlike [json.Encoder.Encode], no newline follows it. If v
// cannot be encoded, WriteJSON returns the error and sends nothing.
func WriteJSON(ctx context.Context, c *Conn, v any) error {
	w := &jsonWriter{ctx: ctx, c: c}
	err := json.NewEncoder(w).Encode(v)
	if err != nil && w.err == nil {
		// v could not be encoded, which json.Encoder finds out before it
		// writes anything: no message was started.
		return fmt.Errorf("websocket: write JSON: %w", err)
	}
	if w.w != nil {
		// A Writer must be closed even after a failed write.
		if cerr := w.w.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// jsonWriter opens the message writer on the first Write, so that a value
// that fails to encode sends no message, and holds back the newline that
// json.Encoder ends its output with.
type jsonWriter struct {
	ctx     context.Context
	c       *Conn
	w       io.WriteCloser
	err     error // the first error from the Conn
	newline bool  // a held-back '\n', written if more bytes follow it
}

func (j *jsonWriter) Write(p []byte) (int, error) {
	if j.err == nil {
		j.err = j.write(p)
	}
	if j.err != nil {
		return 0, j.err
	}
	return len(p), nil
}

func (j *jsonWriter) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if j.w == nil {
		w, err := j.c.Writer(j.ctx, MessageText)
		if err != nil {
			return err
		}
		j.w = w
	}
	if j.newline {
		if _, err := j.w.Write([]byte{'\n'}); err != nil {
			return err
		}
		j.newline = false
	}
	if p[len(p)-1] == '\n' {
		j.newline = true
		p = p[:len(p)-1]
	}
	_, err := j.w.Write(p)
	return err
}
