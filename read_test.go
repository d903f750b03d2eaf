package websocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

func TestReadHostileFrames(t *testing.T) {
	type hostile struct {
		name      string
		client    bool   // our Conn's role
		wire      []byte // what the peer sends (and then nothing more)
		readLimit int64
		wantCode  uint16
		wantErr   error
	}
	tests := []hostile{
		{
			name:     "unmasked client frame",
			wire:     rfcUnmaskedHello,
			wantCode: 1002,
			wantErr:  ErrProtocol,
		},
		{
			name:     "masked server frame",
			client:   true,
			wire:     rfcMaskedHello,
			wantCode: 1002,
			wantErr:  ErrProtocol,
		},
		{
			name:     "control frame of 126 bytes",
			wire:     masked(frame(true, wstest.OpPing, strings.Repeat("p", 126))),
			wantCode: 1002,
			wantErr:  ErrProtocol,
		},
		{
			name:     "close frame of 126 bytes",
			wire:     masked(wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(1000, strings.Repeat("r", 124))}),
			wantCode: 1002,
			wantErr:  ErrProtocol,
		},
		{
			name:     "fragmented ping",
			wire:     masked(frame(false, wstest.OpPing, "p")),
			wantCode: 1002,
			wantErr:  ErrProtocol,
		},
		{
			name:     "fragmented ping inside a message",
			wire:     cat(masked(frame(false, wstest.OpText, "a")), masked(frame(false, wstest.OpPing, "p"))),
			wantCode: 1002,
			wantErr:  ErrProtocol,
		},
		{
			name:     "continuation without a message",
			wire:     masked(frame(true, wstest.OpContinuation, "a")),
			wantCode: 1002,
			wantErr:  ErrProtocol,
		},
		{
			name:     "continuation after a whole message",
			wire:     cat(masked(frame(true, wstest.OpText, "a")), masked(frame(true, wstest.OpContinuation, "b"))),
			wantCode: 1002,
			wantErr:  ErrProtocol,
		},
		{
			name:     "text frame inside a fragmented message",
			wire:     cat(masked(frame(false, wstest.OpText, "a")), masked(frame(true, wstest.OpText, "b"))),
			wantCode: 1002,
			wantErr:  ErrProtocol,
		},
		{
			name:     "binary frame inside a fragmented message",
			wire:     cat(masked(frame(false, wstest.OpBinary, "a")), masked(frame(true, wstest.OpBinary, "b"))),
			wantCode: 1002,
			wantErr:  ErrProtocol,
		},
		{
			name:     "64-bit length with the MSB set",
			wire:     []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x37, 0xfa, 0x21, 0x3d},
			wantCode: 1002,
			wantErr:  ErrProtocol,
		},
		{
			name:     "64-bit length with the MSB set, client",
			client:   true,
			wire:     []byte{0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			wantCode: 1002,
			wantErr:  ErrProtocol,
		},
		{
			name:     "header claiming 2^63-1 bytes",
			wire:     []byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x37, 0xfa, 0x21, 0x3d},
			wantCode: 1009,
			wantErr:  ErrMessageTooBig,
		},
		{
			name:     "header claiming 2^63-1 bytes, client",
			client:   true,
			wire:     []byte{0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			wantCode: 1009,
			wantErr:  ErrMessageTooBig,
		},
		{
			name:      "length just above the read limit",
			wire:      masked(frame(true, wstest.OpBinary, strings.Repeat("x", 1001)))[:8], // the header only
			readLimit: 1000,
			wantCode:  1009,
			wantErr:   ErrMessageTooBig,
		},
		{
			name: "fragments adding up to just above the read limit",
			wire: cat(
				masked(frame(false, wstest.OpBinary, strings.Repeat("x", 600))),
				masked(frame(true, wstest.OpContinuation, strings.Repeat("x", 401)))[:8],
			),
			readLimit: 1000,
			wantCode:  1009,
			wantErr:   ErrMessageTooBig,
		},
		{
			name:     "default read limit",
			wire:     []byte{0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 1, 0x37, 0xfa, 0x21, 0x3d},
			wantCode: 1009,
			wantErr:  ErrMessageTooBig,
		},
		{
			// The frame announces 100 bytes, but only an invalid prefix comes:
			// the close must not wait for the rest.
			name:     "invalid UTF-8 prefix of an incomplete frame",
			wire:     masked(frame(true, wstest.OpText, "ab\xff"+strings.Repeat("c", 97)))[:2+2+4+3],
			wantCode: 1007,
			wantErr:  ErrInvalidUTF8,
		},
		{
			name:     "invalid UTF-8 in an unfinished fragmented message",
			wire:     masked(frame(false, wstest.OpText, "ab\xed\xa0")),
			wantCode: 1007,
			wantErr:  ErrInvalidUTF8,
		},
		{
			name:     "invalid UTF-8 across fragments",
			wire:     cat(masked(frame(false, wstest.OpText, "ab\xf0\x9f")), masked(frame(false, wstest.OpContinuation, "("))),
			wantCode: 1007,
			wantErr:  ErrInvalidUTF8,
		},
		{
			name:     "invalid UTF-8, client",
			client:   true,
			wire:     unmasked(frame(true, wstest.OpText, "\xc0\xaf")),
			wantCode: 1007,
			wantErr:  ErrInvalidUTF8,
		},
	}
	for _, op := range []byte{3, 4, 5, 6, 7, 11, 12, 13, 14, 15} {
		tests = append(tests, hostile{
			name:     fmt.Sprintf("reserved opcode %#x", op),
			wire:     masked(frame(true, op, "x")),
			wantCode: 1002,
			wantErr:  ErrProtocol,
		})
	}
	for _, rsv := range []byte{bitRSV1, bitRSV2, bitRSV3} {
		tests = append(tests,
			hostile{
				name:     fmt.Sprintf("RSV %#x on text", rsv),
				wire:     masked(wstest.Frame{Fin: true, RSV: rsv, Op: wstest.OpText, Payload: []byte("x")}),
				wantCode: 1002,
				wantErr:  ErrProtocol,
			},
			hostile{
				name:     fmt.Sprintf("RSV %#x on ping", rsv),
				wire:     masked(wstest.Frame{Fin: true, RSV: rsv, Op: wstest.OpPing}),
				wantCode: 1002,
				wantErr:  ErrProtocol,
			},
		)
	}
	for _, tc := range invalidUTF8Cases() {
		tests = append(tests, hostile{
			name:     "invalid UTF-8, " + tc.name,
			wire:     masked(frame(true, wstest.OpText, tc.text)),
			wantCode: 1007,
			wantErr:  ErrInvalidUTF8,
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, p := newRawPair(t, tt.client, &UpgradeOptions{ReadLimit: tt.readLimit}, nil)
			if err := p.Write(tt.wire); err != nil {
				t.Fatal(err)
			}
			// The peer reads our close frame and then ends the connection:
			// a header it sent may promise bytes that never come.
			reply := awaitClose(p, false)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var err error
			within(t, "Read", func() {
				// Valid messages before the violation come out first.
				for range 3 {
					if _, _, err = c.Read(context.Background(), nil); err != nil {
						break
					}
				}
			})
			runtime.ReadMemStats(&after)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Read: got error %v, want %v", err, tt.wantErr)
			}
			var r closeReply
			within(t, "the close frame", func() { r = <-reply })
			if r.err != nil {
				t.Errorf("peer: %v", r.err)
			}
			if r.code != tt.wantCode {
				t.Errorf("got close code %d, want %d", r.code, tt.wantCode)
			}
			// §10.4: a declared length is no reason to allocate.
			if d := after.TotalAlloc - before.TotalAlloc; d > 4<<20 {
				t.Errorf("Read allocated %d bytes, want less than 4 MiB", d)
			}
			// The error is sticky.
			if _, _, err2 := c.Read(context.Background(), nil); err2 != err {
				t.Errorf("second Read: got %v, want %v", err2, err)
			}
		})
	}
}

func TestReadValidFramesAccepted(t *testing.T) {
	// Edge cases that must not be mistaken for violations.
	tests := []struct {
		name     string
		frames   []wstest.Frame
		wantType MessageType
		want     string
	}{
		{
			name:     "ping of 125 bytes before a message",
			frames:   []wstest.Frame{frame(true, wstest.OpPing, strings.Repeat("p", 125)), frame(true, wstest.OpText, "a")},
			wantType: MessageText,
			want:     "a",
		},
		{
			name:     "unsolicited pong",
			frames:   []wstest.Frame{frame(true, wstest.OpPong, "x"), frame(true, wstest.OpBinary, "a")},
			wantType: MessageBinary,
			want:     "a",
		},
		{
			name: "empty fragments",
			frames: []wstest.Frame{
				frame(false, wstest.OpText, ""),
				frame(false, wstest.OpContinuation, ""),
				frame(false, wstest.OpContinuation, "a"),
				frame(true, wstest.OpContinuation, ""),
			},
			wantType: MessageText,
			want:     "a",
		},
		{
			name: "UTF-8 split at every byte",
			frames: []wstest.Frame{
				frame(false, wstest.OpText, "\xf0"),
				frame(false, wstest.OpContinuation, "\x9f"),
				frame(false, wstest.OpContinuation, "\x98"),
				frame(false, wstest.OpContinuation, "\x80\xe2"),
				frame(true, wstest.OpContinuation, "\x82\xac"),
			},
			wantType: MessageText,
			want:     "\U0001F600€",
		},
		{
			name: "controls between every fragment",
			frames: []wstest.Frame{
				frame(false, wstest.OpBinary, "a"),
				frame(true, wstest.OpPing, "1"),
				frame(false, wstest.OpContinuation, "b"),
				frame(true, wstest.OpPong, "2"),
				frame(true, wstest.OpPing, ""),
				frame(true, wstest.OpContinuation, "c"),
			},
			wantType: MessageBinary,
			want:     "abc",
		},
		{
			name:     "binary is not checked for UTF-8",
			frames:   []wstest.Frame{frame(true, wstest.OpBinary, "\xff\xfe")},
			wantType: MessageBinary,
			want:     "\xff\xfe",
		},
	}
	for _, tt := range tests {
		for _, client := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/client=%v", tt.name, client), func(t *testing.T) {
				c, p := newRawPair(t, client, nil, nil)
				for _, f := range tt.frames {
					if err := p.WriteFrame(f); err != nil {
						t.Fatal(err)
					}
				}
				typ, got, err := c.Read(context.Background(), nil)
				if err != nil || typ != tt.wantType || string(got) != tt.want {
					t.Errorf("got %v %q %v, want %v %q <nil>", typ, got, err, tt.wantType, tt.want)
				}
			})
		}
	}
}

func TestReadClosePayload(t *testing.T) {
	type closeCase struct {
		name     string
		payload  []byte
		wantCode uint16     // what our side sends back
		wantErr  error      // for a violation
		want     CloseError // for a valid close: what Read reports
	}
	tests := []closeCase{
		{
			name:     "empty",
			payload:  nil,
			wantCode: 1000,
			want:     CloseError{Code: StatusNoStatusRcvd},
		},
		{
			name:     "1 byte",
			payload:  []byte{0x03},
			wantCode: 1002,
			wantErr:  ErrProtocol,
		},
		{
			name:     "reason not UTF-8",
			payload:  wstest.ClosePayload(1000, "bye\xff"),
			wantCode: 1007,
			wantErr:  ErrInvalidUTF8,
		},
		{
			name:     "reason of 123 bytes",
			payload:  wstest.ClosePayload(4000, strings.Repeat("é", 61)+"!"),
			wantCode: 4000,
			want:     CloseError{Code: 4000, Reason: strings.Repeat("é", 61) + "!"},
		},
	}
	for _, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		tests = append(tests, closeCase{
			name:     fmt.Sprintf("invalid code %d", code),
			payload:  wstest.ClosePayload(code, ""),
			wantCode: 1002,
			wantErr:  ErrProtocol,
		})
	}
	for _, code := range []uint16{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		tests = append(tests, closeCase{
			name:     fmt.Sprintf("valid code %d", code),
			payload:  wstest.ClosePayload(code, "why"),
			wantCode: code,
			want:     CloseError{Code: StatusCode(code), Reason: "why"},
		})
	}
	for _, tt := range tests {
		for _, client := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/client=%v", tt.name, client), func(t *testing.T) {
				c, p := newRawPair(t, client, nil, nil)
				if err := p.WriteFrame(wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: tt.payload}); err != nil {
					t.Fatal(err)
				}
				// A server peer ends TCP once it has the reply (§7.1.1); a
				// client peer waits for the server to do so. After a
				// violation, our side waits for the peer's close.
				replies := make(chan closeReply, 1)
				go func() {
					code, reason, err := p.ReadClose()
					if err == nil && tt.wantErr != nil {
						err = p.WriteClose(code, "")
					}
					if err == nil && p.Client {
						err = p.ReadEOF()
					}
					p.Close()
					replies <- closeReply{code, reason, err}
				}()
				var err error
				within(t, "Read", func() { _, _, err = c.Read(context.Background(), nil) })
				var r closeReply
				within(t, "the close frame", func() { r = <-replies })
				if r.err != nil {
					t.Errorf("peer: %v", r.err)
				}
				if r.code != tt.wantCode || r.reason != "" {
					t.Errorf("got close frame %d %q, want %d %q", r.code, r.reason, tt.wantCode, "")
				}
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Errorf("Read: got error %v, want %v", err, tt.wantErr)
					}
					return
				}
				var ce *CloseError
				if !errors.As(err, &ce) || ce.Code != tt.want.Code || ce.Reason != tt.want.Reason {
					t.Fatalf("Read: got error %v, want *CloseError %v %q", err, tt.want.Code, tt.want.Reason)
				}
				if got := CloseStatus(err); got != tt.want.Code {
					t.Errorf("CloseStatus: got %v, want %v", got, tt.want.Code)
				}
				// Read after the close reports the same error.
				if _, _, err2 := c.Read(context.Background(), nil); err2 != err {
					t.Errorf("Read after close: got %v, want %v", err2, err)
				}
				// The close handshake is over, and it completed: Close
				// reports that, and a second Close that it was called.
				if err := c.Close(StatusNormalClosure, ""); err != nil {
					t.Errorf("Close after the peer's close: got %v, want nil", err)
				}
				if err := c.Close(StatusNormalClosure, ""); !errors.Is(err, net.ErrClosed) {
					t.Errorf("second Close: got %v, want net.ErrClosed", err)
				}
			})
		}
	}
}

func TestReadAppendsToBuf(t *testing.T) {
	c, p := newRawPair(t, false, nil, nil)
	p.WriteMessage(wstest.OpText, []byte("world"))
	p.WriteMessage(wstest.OpText, []byte("!"))
	buf := make([]byte, 0, 16)
	buf = append(buf, "hello "...)
	_, got, err := c.Read(context.Background(), buf)
	if err != nil || string(got) != "hello world" {
		t.Fatalf("got %q %v, want %q <nil>", got, err, "hello world")
	}
	if &got[0] != &buf[:1][0] {
		t.Errorf("Read reallocated a buffer with room to spare")
	}
	// A buffer exactly the size of the message is not reallocated either.
	exact := make([]byte, 0, 1)
	_, got, err = c.Read(context.Background(), exact)
	if err != nil || string(got) != "!" {
		t.Fatalf("got %q %v, want %q <nil>", got, err, "!")
	}
	if &got[0] != &exact[:1][0] {
		t.Errorf("Read reallocated a buffer exactly the size of the message")
	}
}

func TestReadFragmentedWithPing(t *testing.T) {
	// A ping between two fragments is answered at once, before the rest of
	// the message arrives, and the message comes out intact.
	for _, client := range []bool{false, true} {
		t.Run(fmt.Sprintf("client=%v", client), func(t *testing.T) {
			c, p := newRawPair(t, client, nil, nil)
			type result struct {
				typ MessageType
				msg []byte
				err error
			}
			ch := make(chan result, 1)
			go func() {
				typ, msg, err := c.Read(context.Background(), nil)
				ch <- result{typ, msg, err}
			}()
			p.WriteFrame(frame(false, wstest.OpText, "Hel"))
			p.WriteFrame(frame(true, wstest.OpPing, "are you there"))
			f, err := p.ReadFrame()
			if err != nil || f.Op != wstest.OpPong || !f.Fin || string(f.Payload) != "are you there" {
				t.Fatalf("got frame op=%#x fin=%v %q %v, want a pong %q", f.Op, f.Fin, f.Payload, err, "are you there")
			}
			p.WriteFrame(frame(true, wstest.OpContinuation, "lo"))
			r := <-ch
			if r.err != nil || r.typ != MessageText || string(r.msg) != "Hello" {
				t.Errorf("got %v %q %v, want text %q", r.typ, r.msg, r.err, "Hello")
			}
		})
	}
}

func TestReaderStreams(t *testing.T) {
	c, p := newRawPair(t, false, nil, nil)
	want := pattern(100000)
	// A message in uneven fragments, with a ping in the middle.
	go func() {
		p.WriteFrame(wstest.Frame{Op: wstest.OpBinary, Payload: want[:1]})
		p.WriteFrame(wstest.Frame{Op: wstest.OpContinuation, Payload: want[1:70000]})
		p.WriteFrame(frame(true, wstest.OpPing, "x"))
		p.WriteFrame(wstest.Frame{Fin: true, Op: wstest.OpContinuation, Payload: want[70000:]})
		p.WriteMessage(wstest.OpText, []byte("next"))
	}()
	typ, r, err := c.Reader(context.Background())
	if err != nil || typ != MessageBinary {
		t.Fatalf("Reader: got %v %v, want binary <nil>", typ, err)
	}
	var got bytes.Buffer
	if _, err := io.Copy(&got, r); err != nil {
		t.Fatalf("io.Copy: %v", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("got %d bytes, want %d bytes of the pattern", got.Len(), len(want))
	}
	// At the end of the message the reader keeps saying io.EOF.
	if n, err := r.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Errorf("Read after the end: got %d %v, want 0 io.EOF", n, err)
	}
	typ, msg, err := c.Read(context.Background(), nil)
	if err != nil || typ != MessageText || string(msg) != "next" {
		t.Errorf("next message: got %v %q %v, want text %q", typ, msg, err, "next")
	}
}

func TestReaderZeroLengthRead(t *testing.T) {
	// io.Reader allows Read with an empty slice; it must not break the Conn.
	c, p := newRawPair(t, false, nil, nil)
	p.WriteFrame(frame(false, wstest.OpText, "Hel"))
	p.WriteFrame(frame(true, wstest.OpContinuation, "lo"))
	_, r, err := c.Reader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if n, err := r.Read(nil); n != 0 || err != nil {
			t.Fatalf("Read(nil): got %d %v, want 0 <nil>", n, err)
		}
	}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "Hello" {
		t.Errorf("got %q %v, want %q <nil>", got, err, "Hello")
	}
}

func TestReaderAbandoned(t *testing.T) {
	// A message whose reader is left unfinished is skipped.
	c, p := newRawPair(t, false, nil, nil)
	p.WriteFrame(wstest.Frame{Op: wstest.OpBinary, Payload: pattern(5000)})
	p.WriteFrame(frame(true, wstest.OpPing, "x"))
	p.WriteFrame(wstest.Frame{Fin: true, Op: wstest.OpContinuation, Payload: pattern(5000)})
	p.WriteMessage(wstest.OpText, []byte("second"))
	_, r, err := c.Reader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	typ, msg, err := c.Read(context.Background(), nil)
	if err != nil || typ != MessageText || string(msg) != "second" {
		t.Errorf("got %v %q %v, want text %q", typ, msg, err, "second")
	}
	// The ping inside the skipped message was still answered.
	for {
		f, err := p.ReadFrame()
		if err != nil {
			t.Fatalf("no pong: %v", err)
		}
		if f.Op == wstest.OpPong {
			if string(f.Payload) != "x" {
				t.Errorf("got pong %q, want %q", f.Payload, "x")
			}
			break
		}
	}
}

// resumeMessage is a masked text message in four frames with a ping among
// them, a multi-byte character split over frames and a 16-bit length, so
// that a cut can fall anywhere.
func resumeMessage() (wire []byte, want string) {
	long := strings.Repeat("ü", 70) // 140 bytes
	wire = cat(
		masked(frame(false, wstest.OpText, "H€l\xf0\x9f")),
		masked(frame(true, wstest.OpPing, "ping")),
		masked(frame(false, wstest.OpContinuation, "\x98\x80"+long)),
		masked(frame(false, wstest.OpContinuation, "")),
		masked(frame(true, wstest.OpContinuation, "lo")),
	)
	return wire, "H€l\U0001F600" + long + "lo"
}

// readPart is one way to read a message that may be cut off by its context:
// it returns the bytes it got and its error.
type readPart func(ctx context.Context, c *Conn) ([]byte, error)

var readParts = []struct {
	name string
	read func() readPart
}{
	{
		name: "Read",
		read: func() readPart {
			return func(ctx context.Context, c *Conn) ([]byte, error) {
				buf := []byte("old")
				typ, got, err := c.Read(ctx, buf)
				if string(got[:min(3, len(got))]) != "old" {
					return nil, fmt.Errorf("Read lost the bytes already in buf: %q", got)
				}
				if err == nil && typ != MessageText {
					return nil, fmt.Errorf("got type %v, want text", typ)
				}
				if err != nil && len(got) != 3 {
					return nil, fmt.Errorf("interrupted Read returned %q, want buf unchanged", got)
				}
				if err == nil {
					err = io.EOF
				}
				return got[3:], err
			}
		},
	},
	{
		name: "Reader",
		read: func() readPart {
			// The reader of the message, once there is one, is kept until
			// its context ends; then the next Reader continues it.
			var r io.Reader
			return func(ctx context.Context, c *Conn) ([]byte, error) {
				if r == nil {
					typ, mr, err := c.Reader(ctx)
					if err != nil {
						return nil, err
					}
					if typ != MessageText {
						return nil, fmt.Errorf("got type %v, want text", typ)
					}
					r = mr
				}
				var out []byte
				buf := make([]byte, 7)
				for {
					n, err := r.Read(buf)
					out = append(out, buf[:n]...)
					if err != nil {
						if err != io.EOF {
							r = nil
						}
						return out, err
					}
				}
			}
		},
	},
}

func TestReadCancelResume(t *testing.T) {
	// A read cut off by its context at any point of a message, then
	// resumed, returns the message whole: nothing lost, nothing twice.
	wire, want := resumeMessage()
	for _, rp := range readParts {
		for cut := 0; cut < len(wire); cut++ {
			t.Run(fmt.Sprintf("%s/cut=%d", rp.name, cut), func(t *testing.T) {
				var sc *stallConn
				c, p := newRawPair(t, false, nil, func(nc net.Conn) net.Conn {
					sc = &stallConn{Conn: nc}
					return sc
				})
				read := rp.read()
				p.Write(wire[:cut])
				ctx, cancel := context.WithCancel(context.Background())
				sc.want, sc.onStall = cut, cancel
				got, err := read(ctx, c)
				if err != context.Canceled {
					t.Fatalf("cut read: got error %v, want context.Canceled", err)
				}
				p.Write(wire[cut:])
				rest, err := read(context.Background(), c)
				if err != io.EOF {
					t.Fatalf("resumed read: got error %v, want the end of the message", err)
				}
				if got := string(got) + string(rest); got != want {
					t.Errorf("got %q, want %q", got, want)
				}
				// The ping was answered once, and the Conn still works.
				f, err := p.ReadFrame()
				if err != nil || f.Op != wstest.OpPong || string(f.Payload) != "ping" {
					t.Errorf("got frame op=%#x %q %v, want pong %q", f.Op, f.Payload, err, "ping")
				}
				p.WriteMessage(wstest.OpBinary, []byte("after"))
				typ, msg, err := c.Read(context.Background(), nil)
				if err != nil || typ != MessageBinary || string(msg) != "after" {
					t.Errorf("next message: got %v %q %v, want binary %q", typ, msg, err, "after")
				}
			})
		}
	}
}

func TestReadCancelEveryByte(t *testing.T) {
	// The peer sends the message one byte at a time and every read is cut
	// off once it has used the byte: the pieces still add up.
	wire, want := resumeMessage()
	for _, rp := range readParts {
		t.Run(rp.name, func(t *testing.T) {
			var sc *stallConn
			c, p := newRawPair(t, false, nil, func(nc net.Conn) net.Conn {
				sc = &stallConn{Conn: nc}
				return sc
			})
			read := rp.read()
			var got []byte
			for i := range wire {
				p.Write(wire[i : i+1])
				ctx, cancel := context.WithCancel(context.Background())
				sc.want, sc.onStall = i+1, cancel
				part, err := read(ctx, c)
				cancel()
				got = append(got, part...)
				if i == len(wire)-1 {
					if err != io.EOF {
						t.Fatalf("last byte: got error %v, want the end of the message", err)
					}
					break
				}
				if err != context.Canceled {
					t.Fatalf("byte %d: got error %v, want context.Canceled", i, err)
				}
			}
			if string(got) != want {
				t.Errorf("got %q, want %q", got, want)
			}
			f, err := p.ReadFrame()
			if err != nil || f.Op != wstest.OpPong || string(f.Payload) != "ping" {
				t.Errorf("got frame op=%#x %q %v, want pong %q", f.Op, f.Payload, err, "ping")
			}
		})
	}
}

// TestAbandonedSkipInterrupted checks that a message abandoned through its
// Reader is never delivered, even when the read that skips its rest is cut
// off by its context before the rest has arrived.
func TestAbandonedSkipInterrupted(t *testing.T) {
	type readFunc func(ctx context.Context, c *Conn) (string, error)
	readWhole := func(ctx context.Context, c *Conn) (string, error) {
		_, b, err := c.Read(ctx, nil)
		return string(b), err
	}
	readStream := func(ctx context.Context, c *Conn) (string, error) {
		_, r, err := c.Reader(ctx)
		if err != nil {
			return "", err
		}
		b, err := io.ReadAll(r)
		return string(b), err
	}
	// abandonReader leaves the first message unfinished: a Reader that
	// reads 2 bytes of it.
	abandonReader := func(t *testing.T, c *Conn) {
		_, r, err := c.Reader(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r, make([]byte, 2)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		abandon func(*testing.T, *Conn)
		first   []byte // the abandoned message's first frame (not final)
		read    readFunc
	}{
		{"Reader then Read", abandonReader, []byte("abandoned head, "), readWhole},
		{"Reader then Reader", abandonReader, []byte("abandoned head, "), readStream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sc *stallConn
			c, p := newRawPair(t, false, nil, func(nc net.Conn) net.Conn {
				sc = &stallConn{Conn: nc}
				return sc
			})
			first := wstest.Frame{Op: wstest.OpText, Payload: tt.first}
			p.WriteFrame(first)
			sc.want = len(wstest.AppendFrame(nil, wstest.Frame{Op: wstest.OpText, Payload: tt.first, Masked: true}))
			tt.abandon(t, c)

			// The skip of the rest blocks: cut it off.
			ctx, cancel := context.WithCancel(context.Background())
			sc.onStall = cancel
			if got, err := tt.read(ctx, c); err != context.Canceled {
				t.Fatalf("interrupted skip: got %q, %v; want context.Canceled", got, err)
			}
			p.WriteFrame(wstest.Frame{Fin: true, Op: wstest.OpContinuation, Payload: []byte(`"the abandoned tail"`)})
			p.WriteMessage(wstest.OpText, []byte(`"next"`))
			got, err := tt.read(context.Background(), c)
			if err != nil || got != `"next"` {
				t.Fatalf("after the interrupted skip: got %q, %v; want the next message", got, err)
			}
		})
	}
}

func TestReadCancelledBeforeMessage(t *testing.T) {
	// A read cut off while nothing has arrived leaves the Conn usable, and
	// one whose context is done already fails without reading.
	c, p := newRawPair(t, false, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := c.Read(ctx, nil); err != context.DeadlineExceeded {
		t.Fatalf("got error %v, want context.DeadlineExceeded", err)
	}
	p.WriteMessage(wstest.OpText, []byte("late"))
	typ, msg, err := c.Read(context.Background(), nil)
	if err != nil || typ != MessageText || string(msg) != "late" {
		t.Errorf("got %v %q %v, want text %q", typ, msg, err, "late")
	}
}

func TestReadAbruptEnd(t *testing.T) {
	// A connection that ends without a close frame reports 1006.
	tests := []struct {
		name string
		wire []byte
	}{
		{name: "between messages"},
		{name: "inside a header", wire: masked(frame(true, wstest.OpText, strings.Repeat("x", 200)))[:3]},
		{name: "inside a payload", wire: masked(frame(true, wstest.OpText, "hello"))[:8]},
		{name: "between fragments", wire: masked(frame(false, wstest.OpText, "hel"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, p := newRawPair(t, false, nil, nil)
			p.Write(tt.wire)
			p.Close()
			_, _, err := c.Read(context.Background(), nil)
			if got := CloseStatus(err); got != StatusAbnormalClosure {
				t.Errorf("got %v (status %v), want status 1006", err, got)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("got %v, want it to wrap io.ErrUnexpectedEOF", err)
			}
		})
	}
}

func TestReadLimit(t *testing.T) {
	// SetReadLimit applies to the next message; exactly the limit passes.
	c, p := newRawPair(t, false, nil, nil)
	c.SetReadLimit(10)
	p.WriteMessage(wstest.OpBinary, pattern(10))
	if _, msg, err := c.Read(context.Background(), nil); err != nil || len(msg) != 10 {
		t.Fatalf("message at the limit: got %d bytes %v, want 10 <nil>", len(msg), err)
	}
	p.WriteFrame(wstest.Frame{Op: wstest.OpBinary, Payload: pattern(6)})
	p.WriteFrame(wstest.Frame{Fin: true, Op: wstest.OpContinuation, Payload: pattern(5)})
	reply := awaitClose(p, true)
	if _, _, err := c.Read(context.Background(), nil); !errors.Is(err, ErrMessageTooBig) {
		t.Errorf("got %v, want ErrMessageTooBig", err)
	}
	if r := <-reply; r.code != 1009 {
		t.Errorf("got close code %d, want 1009", r.code)
	}
}

func TestReadLimitHuge(t *testing.T) {
	// A limit near the int64 maximum must not overflow the size check.
	c, p := newRawPair(t, false, &UpgradeOptions{ReadLimit: math.MaxInt64}, nil)
	p.WriteMessage(wstest.OpText, []byte("ok"))
	if _, msg, err := c.Read(context.Background(), nil); err != nil || string(msg) != "ok" {
		t.Fatalf("got %q %v, want %q <nil>", msg, err, "ok")
	}
}

// TestStatsCountWhatWasRead checks that a frame refused for its declared
// length counts for nothing in Stats.
func TestStatsCountWhatWasRead(t *testing.T) {
	for _, declared := range []uint64{1 << 21, 1 << 62, math.MaxInt64} {
		c, p := newRawPair(t, false, &UpgradeOptions{CloseTimeout: time.Millisecond}, nil)
		p.WriteMessage(wstest.OpText, []byte("hello"))
		if _, _, err := c.Read(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		// A 64-bit length over the read limit, and no payload.
		hdr := []byte{0x82, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}
		for i := range 8 {
			hdr[2+i] = byte(declared >> (56 - 8*i))
		}
		p.Write(hdr)
		if _, _, err := c.Read(context.Background(), nil); !errors.Is(err, ErrMessageTooBig) {
			t.Fatalf("declared %d: got %v, want ErrMessageTooBig", declared, err)
		}
		s := c.Stats()
		if s.MessagesIn != 1 || s.BytesIn != 5 {
			t.Errorf("declared %d: got MessagesIn %d, BytesIn %d; want 1 and 5", declared, s.MessagesIn, s.BytesIn)
		}
	}
}
