package websocket

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"testing"
	"testing/iotest"

	"github.com/wsforge/websocket/internal/wstest"
)

// chunkers wrap a reader so that it returns data in small pieces, to find
// code that assumes a header or payload arrives in one read.
var chunkers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{
		name: "whole",
		wrap: func(r io.Reader) io.Reader { return r },
	},
	{
		name: "OneByteReader",
		wrap: iotest.OneByteReader,
	},
	{
		name: "HalfReader",
		wrap: iotest.HalfReader,
	},
}

func TestHeaderRoundTrip(t *testing.T) {
	lengths := []int64{0, 1, 125, 126, 127, 65535, 65536, 1 << 32, math.MaxInt64}
	firsts := []struct {
		name string
		fin  bool
		rsv  byte
		op   opcode
	}{
		{name: "text fin", fin: true, op: opText},
		{name: "binary", op: opBinary},
		{name: "continuation fin", fin: true, op: opContinuation},
		{name: "continuation", op: opContinuation},
		{name: "close", fin: true, op: opClose},
		{name: "ping", fin: true, op: opPing},
		{name: "pong", fin: true, op: opPong},
		{name: "reserved 0x3", fin: true, op: 0x3},
		{name: "reserved 0xF", op: 0xF},
		{name: "RSV1", fin: true, rsv: bitRSV1, op: opText},
		{name: "RSV2", rsv: bitRSV2, op: opBinary},
		{name: "RSV3", fin: true, rsv: bitRSV3, op: opPing},
		{name: "RSV all", fin: true, rsv: bitRSV1 | bitRSV2 | bitRSV3, op: opClose},
	}
	for _, first := range firsts {
		for _, length := range lengths {
			for _, masked := range []bool{false, true} {
				want := header{
					fin:    first.fin,
					rsv:    first.rsv,
					op:     first.op,
					masked: masked,
					length: length,
				}
				if masked {
					want.key = 0x3d21fa37
				}
				var b [maxHeaderSize]byte
				n := putHeader(b[:], want)
				if hs := headerSize(length, masked); n != hs {
					t.Fatalf("%s len %d masked %v: putHeader size %d, headerSize %d", first.name, length, masked, n, hs)
				}
				// A payload byte after the header must stay unread.
				wire := append(b[:n:n], 0xAB)
				for _, ch := range chunkers {
					name := fmt.Sprintf("%s/len=%d/masked=%v/%s", first.name, length, masked, ch.name)
					br := bufio.NewReaderSize(ch.wrap(bytes.NewReader(wire)), 16)
					got, size, err := peekHeader(br)
					if err != nil {
						t.Fatalf("%s: peekHeader: %v", name, err)
					}
					if got != want || size != n {
						t.Fatalf("%s: got %+v size %d, want %+v size %d", name, got, size, want, n)
					}
					// peekHeader must not consume the header.
					rest, _ := io.ReadAll(br)
					if !bytes.Equal(rest, wire) {
						t.Fatalf("%s: after peekHeader got stream % x, want % x", name, rest, wire)
					}
				}
			}
		}
	}
}

func TestPutHeaderMinimalLength(t *testing.T) {
	tests := []struct {
		name   string
		length int64
		masked bool
		want   []byte // the encoding without the masking key
	}{
		{name: "0", length: 0, want: []byte{0x82, 0x00}},
		{name: "125", length: 125, want: []byte{0x82, 0x7d}},
		{name: "126", length: 126, want: []byte{0x82, 0x7e, 0x00, 0x7e}},
		{name: "127", length: 127, want: []byte{0x82, 0x7e, 0x00, 0x7f}},
		{name: "65535", length: 65535, want: []byte{0x82, 0x7e, 0xff, 0xff}},
		{name: "65536", length: 65536, want: []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}},
		{name: "2^32", length: 1 << 32, want: []byte{0x82, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0}},
		{name: "2^63-1", length: math.MaxInt64, want: []byte{0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{name: "0 masked", length: 0, masked: true, want: []byte{0x82, 0x80}},
		{name: "125 masked", length: 125, masked: true, want: []byte{0x82, 0xfd}},
		{name: "126 masked", length: 126, masked: true, want: []byte{0x82, 0xfe, 0x00, 0x7e}},
		{name: "65536 masked", length: 65536, masked: true, want: []byte{0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b [maxHeaderSize]byte
			h := header{fin: true, op: opBinary, masked: tt.masked, length: tt.length, key: 0x3d21fa37}
			n := putHeader(b[:], h)
			want := tt.want
			if tt.masked {
				want = append(want, 0x37, 0xfa, 0x21, 0x3d)
			}
			if !bytes.Equal(b[:n], want) {
				t.Errorf("got % x, want % x", b[:n], want)
			}
		})
	}
}

func TestPeekHeaderErrors(t *testing.T) {
	tests := []struct {
		name    string
		wire    []byte
		wantErr error
	}{
		{
			name:    "64-bit length with the MSB set",
			wire:    []byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0},
			wantErr: ErrProtocol,
		},
		{
			name:    "64-bit length all ones",
			wire:    []byte{0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			wantErr: ErrProtocol,
		},
		{
			name:    "empty",
			wire:    nil,
			wantErr: io.EOF,
		},
		{
			name:    "one byte",
			wire:    []byte{0x81},
			wantErr: io.EOF,
		},
		{
			name:    "16-bit length cut",
			wire:    []byte{0x81, 0x7e, 0x01},
			wantErr: io.EOF,
		},
		{
			name:    "64-bit length cut",
			wire:    []byte{0x81, 0x7f, 0, 0, 0, 0, 0, 1, 0},
			wantErr: io.EOF,
		},
		{
			name:    "masking key cut",
			wire:    []byte{0x81, 0x85, 0x37, 0xfa, 0x21},
			wantErr: io.EOF,
		},
	}
	for _, tt := range tests {
		for _, ch := range chunkers {
			t.Run(tt.name+"/"+ch.name, func(t *testing.T) {
				br := bufio.NewReader(ch.wrap(bytes.NewReader(tt.wire)))
				_, _, err := peekHeader(br)
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("got error %v, want %v", err, tt.wantErr)
				}
			})
		}
	}
}

func TestMaskRFCVectors(t *testing.T) {
	tests := []struct {
		name  string
		plain string
		want  []byte
	}{
		{name: "Hello", plain: "Hello", want: []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}},
		// Derived from the RFC's key: 'H'^0x37 = 0x7f, 'i'^0xfa = 0x93
		// (not 7b 9b as one of our source documents claims).
		{name: "Hi", plain: "Hi", want: []byte{0x7f, 0x93}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.plain)
			mask(rfcKeyWord, b)
			if !bytes.Equal(b, tt.want) {
				t.Errorf("got % x, want % x", b, tt.want)
			}
		})
	}
}

func TestReadRFCExamples(t *testing.T) {
	bin256 := pattern(256)
	bin64Ki := pattern(65536)
	tests := []struct {
		name     string
		client   bool // the role of the Conn that reads the bytes
		wire     []byte
		wantType MessageType
		want     []byte
		wantPing string // payload OnPing must see
		wantPong string // payload OnPong must see
	}{
		{
			name:     "unmasked Hello",
			client:   true,
			wire:     rfcUnmaskedHello,
			wantType: MessageText,
			want:     []byte("Hello"),
		},
		{
			name:     "masked Hello",
			wire:     rfcMaskedHello,
			wantType: MessageText,
			want:     []byte("Hello"),
		},
		{
			name:     "fragmented unmasked Hello",
			client:   true,
			wire:     cat(rfcFragmentedHel, rfcFragmentedLo),
			wantType: MessageText,
			want:     []byte("Hello"),
		},
		{
			name:     "unmasked ping then Hello",
			client:   true,
			wire:     cat(rfcUnmaskedPing, rfcUnmaskedHello),
			wantType: MessageText,
			want:     []byte("Hello"),
			wantPing: "Hello",
		},
		{
			name:     "ping between fragments",
			client:   true,
			wire:     cat(rfcFragmentedHel, rfcUnmaskedPing, rfcFragmentedLo),
			wantType: MessageText,
			want:     []byte("Hello"),
			wantPing: "Hello",
		},
		{
			name:     "masked pong then Hello",
			wire:     cat(rfcMaskedPong, rfcMaskedHello),
			wantType: MessageText,
			want:     []byte("Hello"),
			wantPong: "Hello",
		},
		{
			name:     "256-byte binary",
			client:   true,
			wire:     cat(rfcBinary256Head, bin256),
			wantType: MessageBinary,
			want:     bin256,
		},
		{
			name:     "64 KiB binary",
			client:   true,
			wire:     cat(rfcBinary64KiHead, bin64Ki),
			wantType: MessageBinary,
			want:     bin64Ki,
		},
	}
	for _, tt := range tests {
		for _, ch := range chunkers {
			t.Run(tt.name+"/"+ch.name, func(t *testing.T) {
				var gotPing, gotPong []string
				o := &UpgradeOptions{
					OnPing: func(p []byte) { gotPing = append(gotPing, string(p)) },
					OnPong: func(p []byte) { gotPong = append(gotPong, string(p)) },
				}
				c := newFakeConn(tt.client, ch.wrap(bytes.NewReader(tt.wire)), nil, o)
				typ, got, err := c.Read(context.Background(), nil)
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				if typ != tt.wantType || !bytes.Equal(got, tt.want) {
					t.Errorf("got %v %q, want %v %q", typ, trunc(got), tt.wantType, trunc(tt.want))
				}
				if tt.wantPing != "" && (len(gotPing) != 1 || gotPing[0] != tt.wantPing) {
					t.Errorf("OnPing got %q, want [%q]", gotPing, tt.wantPing)
				}
				if tt.wantPong != "" && (len(gotPong) != 1 || gotPong[0] != tt.wantPong) {
					t.Errorf("OnPong got %q, want [%q]", gotPong, tt.wantPong)
				}
				// The stream ends here: the next Read sees an abnormal closure.
				if _, _, err := c.Read(context.Background(), nil); CloseStatus(err) != StatusAbnormalClosure {
					t.Errorf("Read at the end of the stream: got %v, want status 1006", err)
				}
			})
		}
	}
}

func TestWriteRFCExamples(t *testing.T) {
	bin256 := pattern(256)
	bin64Ki := pattern(65536)
	tests := []struct {
		name string
		typ  MessageType
		p    []byte
		want []byte
	}{
		{
			name: "unmasked Hello",
			typ:  MessageText,
			p:    []byte("Hello"),
			want: rfcUnmaskedHello,
		},
		{
			name: "256-byte binary",
			typ:  MessageBinary,
			p:    bin256,
			want: cat(rfcBinary256Head, bin256),
		},
		{
			name: "64 KiB binary",
			typ:  MessageBinary,
			p:    bin64Ki,
			want: cat(rfcBinary64KiHead, bin64Ki),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/Write", func(t *testing.T) {
			var out bytes.Buffer
			c := newFakeConn(false, nil, &out, nil)
			orig := bytes.Clone(tt.p)
			if err := c.Write(context.Background(), tt.typ, tt.p); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if !bytes.Equal(out.Bytes(), tt.want) {
				t.Errorf("got % x..., want % x...", trunc(out.Bytes()), trunc(tt.want))
			}
			if !bytes.Equal(tt.p, orig) {
				t.Errorf("Write modified its argument")
			}
		})
		t.Run(tt.name+"/client", func(t *testing.T) {
			// A client's frame is the same but masked with a key of its own.
			var out bytes.Buffer
			c := newFakeConn(true, nil, &out, nil)
			orig := bytes.Clone(tt.p)
			if err := c.Write(context.Background(), tt.typ, tt.p); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if !bytes.Equal(tt.p, orig) {
				t.Errorf("Write modified its argument")
			}
			f, err := wstest.NewRawPeer(&wstest.FakeConn{R: &out}, false).ReadFrame()
			if err != nil {
				t.Fatalf("decoding the frame written: %v", err)
			}
			got := wstest.AppendFrame(nil, wstest.Frame{Fin: f.Fin, RSV: f.RSV, Op: f.Op, Payload: f.Payload})
			if !bytes.Equal(got, tt.want) {
				t.Errorf("unmasked, got % x..., want % x...", trunc(got), trunc(tt.want))
			}
		})
	}
}

func TestPongRFCExample(t *testing.T) {
	t.Run("server", func(t *testing.T) {
		// A server answering the client's masked ping "Hello" sends the
		// unmasked pong 8a 05 "Hello".
		maskedPing := cat([]byte{0x89}, rfcMaskedPong[1:])
		var out bytes.Buffer
		c := newFakeConn(false, bytes.NewReader(cat(maskedPing, rfcMaskedHello)), &out, nil)
		if _, _, err := c.Read(context.Background(), nil); err != nil {
			t.Fatalf("Read: %v", err)
		}
		want := []byte{0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("got % x, want % x", out.Bytes(), want)
		}
	})
	t.Run("client", func(t *testing.T) {
		var out bytes.Buffer
		c := newFakeConn(true, bytes.NewReader(cat(rfcUnmaskedPing, rfcUnmaskedHello)), &out, nil)
		if _, _, err := c.Read(context.Background(), nil); err != nil {
			t.Fatalf("Read: %v", err)
		}
		f, err := wstest.NewRawPeer(&wstest.FakeConn{R: &out}, false).ReadFrame()
		if err != nil {
			t.Fatalf("decoding the frame written: %v", err)
		}
		if !f.Fin || f.Op != wstest.OpPong || string(f.Payload) != "Hello" {
			t.Errorf("got fin=%v op=%#x %q, want a final pong %q", f.Fin, f.Op, f.Payload, "Hello")
		}
	})
}
