package websocket

import (
	"compress/flate"
	"fmt"
	"path"
	"slices"
	"time"

	"golang.org/x/net/http/httpguts"
)

// maxBufferSize bounds ReadBufferSize and WriteBufferSize: a buffer is
// held (read) or borrowed (write) by every connection, and a larger one
// buys no speed.
const maxBufferSize = 64 << 20

// optionError reports an option field set to a value it cannot take.
func optionError(field, format string, args ...any) error {
	return fmt.Errorf("websocket: option %s: %s", field, fmt.Sprintf(format, args...))
}

// check reports the first field of o set to a value it cannot take.
func (o *UpgradeOptions) check() error {
	if o == nil {
		return nil
	}
	const s = "UpgradeOptions."
	if err := checkSubprotocols(s+"Subprotocols", o.Subprotocols); err != nil {
		return err
	}
	for _, p := range o.OriginPatterns {
		if _, err := path.Match(p, ""); err != nil {
			return optionError(s+"OriginPatterns", "malformed pattern %q", p)
		}
	}
	if err := checkCommon(s, o.ReadLimit, o.ReadBufferSize, o.WriteBufferSize, o.Compression); err != nil {
		return err
	}
	return checkDurations(s, []durationField{
		{"CloseTimeout", o.CloseTimeout}, {"HandshakeTimeout", o.HandshakeTimeout},
		{"PingInterval", o.PingInterval}, {"PongTimeout", o.PongTimeout},
		{"IdleTimeout", o.IdleTimeout}, {"WriteTimeout", o.WriteTimeout},
	})
}

// check reports the first field of o set to a value it cannot take.
func (o *DialOptions) check() error {
	if o == nil {
		return nil
	}
	const s = "DialOptions."
	if err := checkSubprotocols(s+"Subprotocols", o.Subprotocols); err != nil {
		return err
	}
	if err := checkCommon(s, o.ReadLimit, o.ReadBufferSize, o.WriteBufferSize, o.Compression); err != nil {
		return err
	}
	return checkDurations(s, []durationField{
		{"CloseTimeout", o.CloseTimeout}, {"PingInterval", o.PingInterval},
		{"PongTimeout", o.PongTimeout}, {"IdleTimeout", o.IdleTimeout},
		{"WriteTimeout", o.WriteTimeout},
	})
}

// checkSubprotocols requires each subprotocol to be an HTTP token, named
// once (RFC 6455 §4.1, RFC 7230 §3.2.6), so that it can be sent in a header.
func checkSubprotocols(field string, protocols []string) error {
	for i, p := range protocols {
		if !httpguts.ValidHeaderFieldName(p) { // a token, as a field name is
			return optionError(field, "%q is not an HTTP token", p)
		}
		if slices.Contains(protocols[:i], p) {
			return optionError(field, "%q is listed twice", p)
		}
	}
	return nil
}

// checkCommon checks the fields UpgradeOptions and DialOptions share.
func checkCommon(prefix string, readLimit int64, readBuf, writeBuf int, c *CompressionOptions) error {
	switch {
	case readLimit < 0:
		return optionError(prefix+"ReadLimit", "%d is negative (zero means DefaultReadLimit)", readLimit)
	case readBuf < 0 || readBuf > maxBufferSize:
		return optionError(prefix+"ReadBufferSize", "%d is not between 0 (DefaultReadBufferSize) and %d", readBuf, maxBufferSize)
	case writeBuf < 0 || writeBuf > maxBufferSize:
		return optionError(prefix+"WriteBufferSize", "%d is not between 0 (DefaultWriteBufferSize) and %d", writeBuf, maxBufferSize)
	}
	if c == nil {
		return nil
	}
	prefix += "Compression."
	if l := c.Level; l < flate.HuffmanOnly || l > flate.BestCompression {
		return optionError(prefix+"Level", "%d is not 1 to 9, flate.HuffmanOnly (-2), flate.DefaultCompression (-1) or 0 (DefaultCompressionLevel)", l)
	}
	for _, f := range []struct {
		name string
		bits int
	}{{"ServerMaxWindowBits", c.ServerMaxWindowBits}, {"ClientMaxWindowBits", c.ClientMaxWindowBits}} {
		if f.bits != 0 && (f.bits < 8 || f.bits > 15) {
			return optionError(prefix+f.name, "%d is not 8 to 15, or 0 for none", f.bits)
		}
	}
	return nil
}

type durationField struct {
	name string
	d    time.Duration
}

// checkDurations refuses negative durations: zero is how an option says
// "the default" or "off".
func checkDurations(prefix string, fields []durationField) error {
	for _, f := range fields {
		if f.d < 0 {
			return optionError(prefix+f.name, "%v is negative", f.d)
		}
	}
	return nil
}
