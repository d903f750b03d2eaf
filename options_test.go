package websocket

// The options of Upgrade and Dial: values they cannot take are refused up
// front, and the extremes they can take work.

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
