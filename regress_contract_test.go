package websocket

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

// TestOptionsChecked checks that an option set to a value it cannot take
// is an error naming the field, from Upgrade (with a 500) and from Dial
// (before it connects), never a panic later.
func TestOptionsChecked(t *testing.T) {
	tests := []struct {
		field string
		set   func(*UpgradeOptions, *DialOptions)
	}{
		{"Compression.Level", func(u *UpgradeOptions, d *DialOptions) {
			u.Compression, d.Compression = &CompressionOptions{Level: 10}, &CompressionOptions{Level: 10}
		}},
		{"Compression.Level", func(u *UpgradeOptions, d *DialOptions) {
			u.Compression, d.Compression = &CompressionOptions{Level: -3}, &CompressionOptions{Level: math.MinInt}
		}},
		{"Compression.ServerMaxWindowBits", func(u *UpgradeOptions, d *DialOptions) {
			u.Compression, d.Compression = &CompressionOptions{ServerMaxWindowBits: 16}, &CompressionOptions{ServerMaxWindowBits: 7}
		}},
		{"Compression.ClientMaxWindowBits", func(u *UpgradeOptions, d *DialOptions) {
			u.Compression, d.Compression = &CompressionOptions{ClientMaxWindowBits: -1}, &CompressionOptions{ClientMaxWindowBits: math.MaxInt}
		}},
		{"ReadLimit", func(u *UpgradeOptions, d *DialOptions) { u.ReadLimit, d.ReadLimit = -1, math.MinInt64 }},
		{"ReadBufferSize", func(u *UpgradeOptions, d *DialOptions) { u.ReadBufferSize, d.ReadBufferSize = -1, math.MaxInt }},
		{"WriteBufferSize", func(u *UpgradeOptions, d *DialOptions) { u.WriteBufferSize, d.WriteBufferSize = math.MaxInt, -1 }},
		{"CloseTimeout", func(u *UpgradeOptions, d *DialOptions) { u.CloseTimeout, d.CloseTimeout = -1, math.MinInt64 }},
		{"PingInterval", func(u *UpgradeOptions, d *DialOptions) { u.PingInterval, d.PingInterval = -time.Second, -1 }},
		{"PongTimeout", func(u *UpgradeOptions, d *DialOptions) { u.PongTimeout, d.PongTimeout = -1, -1 }},
		{"IdleTimeout", func(u *UpgradeOptions, d *DialOptions) { u.IdleTimeout, d.IdleTimeout = -1, -1 }},
		{"WriteTimeout", func(u *UpgradeOptions, d *DialOptions) { u.WriteTimeout, d.WriteTimeout = -1, -1 }},
		{"Subprotocols", func(u *UpgradeOptions, d *DialOptions) {
			u.Subprotocols, d.Subprotocols = []string{"chat, v2"}, []string{""}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			var uo UpgradeOptions
			var do DialOptions
			tt.set(&uo, &do)

			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			for k, v := range map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="} {
				req.Header.Set(k, v)
			}
			c, err := Upgrade(rec, req, &uo)
			if c != nil || err == nil || !strings.Contains(err.Error(), "UpgradeOptions."+tt.field) {
				t.Errorf("Upgrade: got %v, %v; want an error naming UpgradeOptions.%s", c, err, tt.field)
			}
			if rec.Code != http.StatusInternalServerError {
				t.Errorf("Upgrade answered %d, want 500", rec.Code)
			}

			dialed := false
			do.NetDialContext = func(context.Context, string, string) (net.Conn, error) {
				dialed = true
				return nil, errors.New("not dialing")
			}
			c, _, err = Dial(context.Background(), "ws://127.0.0.1:1/", &do)
			if c != nil || err == nil || !strings.Contains(err.Error(), "DialOptions."+tt.field) || dialed {
				t.Errorf("Dial: got %v, %v (dialed %v); want an error naming DialOptions.%s before dialing", c, err, dialed, tt.field)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error text spans lines: %q", err)
			}
		})
	}
}

// TestOptionExtremes checks that the largest and smallest valid values of
// the numeric options give a working connection, compressed messages
// included: limits saturate rather than overflow.
func TestOptionExtremes(t *testing.T) {
	const forever = time.Duration(math.MaxInt64)
	tests := []struct {
		name string
		up   UpgradeOptions
		dial DialOptions
	}{
		{"largest", UpgradeOptions{
			ReadLimit: math.MaxInt64, ReadBufferSize: maxBufferSize, WriteBufferSize: maxBufferSize,
			CloseTimeout: forever, HandshakeTimeout: forever, PingInterval: forever, PongTimeout: forever,
			IdleTimeout: forever, WriteTimeout: forever,
			Compression: &CompressionOptions{Level: 9, Threshold: math.MinInt, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15},
		}, DialOptions{
			ReadLimit: math.MaxInt64, ReadBufferSize: maxBufferSize, WriteBufferSize: maxBufferSize,
			CloseTimeout: forever, PingInterval: forever, PongTimeout: forever, IdleTimeout: forever, WriteTimeout: forever,
			Compression: &CompressionOptions{Level: 9, Threshold: math.MinInt, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15},
		}},
		{"smallest", UpgradeOptions{
			ReadLimit: 1 << 10, ReadBufferSize: 1, WriteBufferSize: 1, CloseTimeout: 1 << 40,
			Compression: &CompressionOptions{Level: -2, Threshold: math.MaxInt, ServerMaxWindowBits: 8, ClientMaxWindowBits: 8},
		}, DialOptions{
			ReadLimit: 1 << 10, ReadBufferSize: 1, WriteBufferSize: 1, CloseTimeout: 1 << 40,
			Compression: &CompressionOptions{Level: -1, Threshold: -1, ServerMaxWindowBits: 8, ClientMaxWindowBits: 8},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := newPair(t, &tt.up, &tt.dial)
			ctx := context.Background()
			msg := []byte(strings.Repeat("a compressible message. ", 40))
			for _, pair := range [][2]*Conn{{client, server}, {server, client}} {
				w, r := pair[0], pair[1]
				if err := w.Write(ctx, MessageText, msg); err != nil {
					t.Fatal(err)
				}
				_, got, err := r.Read(ctx, nil)
				if err != nil || string(got) != string(msg) {
					t.Fatalf("got %d bytes, %v; want the %d bytes sent", len(got), err, len(msg))
				}
			}
			client.SetReadLimit(math.MaxInt64)
			if err := server.Write(ctx, MessageText, msg); err != nil {
				t.Fatal(err)
			}
			if _, got, err := client.Read(ctx, nil); err != nil || string(got) != string(msg) {
				t.Fatalf("after SetReadLimit(MaxInt64): got %d bytes, %v", len(got), err)
			}
		})
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

// TestCloseResult checks what Close returns: nil when a closing handshake
// completed, whichever side began it, and an error otherwise.
func TestCloseResult(t *testing.T) {
	tests := []struct {
		name    string
		before  func(t *testing.T, c *Conn, p *wstest.RawPeer) // runs before Close
		during  func(p *wstest.RawPeer)                        // the peer's part while Close runs
		wantNil bool
	}{
		{"we close first, the peer answers", nil, func(p *wstest.RawPeer) {
			p.ReadClose()
			p.WriteClose(1000, "")
		}, true},
		{"the peer closed first, the reader answered", func(t *testing.T, c *Conn, p *wstest.RawPeer) {
			p.WriteClose(1001, "bye")
			if _, _, err := c.Read(context.Background(), nil); CloseStatus(err) != StatusGoingAway {
				t.Fatalf("Read: got %v, want the peer's close", err)
			}
		}, nil, true},
		{"the peer dropped TCP without a close frame", func(t *testing.T, c *Conn, p *wstest.RawPeer) {
			p.Close()
			if _, _, err := c.Read(context.Background(), nil); CloseStatus(err) != StatusAbnormalClosure {
				t.Fatalf("Read: got %v, want an abnormal closure", err)
			}
		}, nil, false},
		{"the peer drops TCP instead of answering", nil, func(p *wstest.RawPeer) {
			p.ReadClose()
			p.Close()
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, p := newRawPair(t, false, &UpgradeOptions{CloseTimeout: time.Hour}, nil)
			if tt.before != nil {
				tt.before(t, c, p)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				if tt.during != nil {
					tt.during(p)
				}
			}()
			var err error
			within(t, "Close", func() { err = c.Close(StatusNormalClosure, "") })
			<-done
			if (err == nil) != tt.wantNil {
				t.Errorf("Close returned %v, want nil: %v", err, tt.wantNil)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error text spans lines: %q", err)
			}
			if err := c.Close(StatusNormalClosure, ""); !errors.Is(err, net.ErrClosed) {
				t.Errorf("second Close: got %v, want net.ErrClosed", err)
			}
		})
	}
}

// TestCompressedReadCut checks what a read cut off by its context does in
// each compression mode and role: an uncompressed message resumes byte for
// byte; a compressed one ends the connection at once with 1001, as
// documented, and later reads report net.ErrClosed.
func TestCompressedReadCut(t *testing.T) {
	msg := []byte(strings.Repeat("the same words again and again, ", 64))
	for _, mode := range []string{"off", "no-takeover", "takeover"} {
		for _, client := range []bool{false, true} {
			name := mode + "/server"
			if client {
				name = mode + "/client"
			}
			t.Run(name, func(t *testing.T) {
				ours, theirs := wstest.TCPPair(t)
				wstest.CheckLeaks(t)
				sc := &stallConn{Conn: ours}
				cfg := (&UpgradeOptions{CloseTimeout: time.Hour}).connConfig()
				f := wstest.Frame{Fin: true, Op: wstest.OpText, Payload: msg}
				if mode != "off" {
					cfg.deflate = newDeflateState(&CompressionOptions{}, mode == "no-takeover", mode == "no-takeover", 15, 15)
					f = compressed(wstest.OpText, msg)
				}
				c := newConn(sc, nil, client, cfg)
				t.Cleanup(func() { c.CloseNow() })
				p := wstest.NewRawPeer(theirs, !client)
				wire := wstest.AppendFrame(nil, wstest.Frame{Fin: f.Fin, RSV: f.RSV, Op: f.Op, Payload: f.Payload, Masked: !client})
				cut := len(wire) / 2
				p.WriteFrame(wstest.Frame{Op: f.Op, RSV: f.RSV, Payload: f.Payload[:cut/2]})
				ctx, cancel := context.WithCancel(context.Background())
				sc.want, sc.onStall = 1, cancel
				var err error
				within(t, "the cut read", func() { _, _, err = c.Read(ctx, nil) })
				if err != context.Canceled {
					t.Fatalf("cut read: got %v, want context.Canceled", err)
				}
				p.WriteFrame(wstest.Frame{Fin: true, Op: wstest.OpContinuation, Payload: f.Payload[cut/2:]})
				_, got, err := c.Read(context.Background(), nil)
				if mode == "off" {
					if err != nil || string(got) != string(msg) {
						t.Fatalf("resumed read: got %d bytes, %v; want the message", len(got), err)
					}
					return
				}
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("read after the cut: got %v, want net.ErrClosed", err)
				}
				if code, _, err := p.ReadClose(); code != uint16(StatusGoingAway) {
					t.Errorf("peer got close code %d (%v), want 1001", code, err)
				}
			})
		}
	}
}
