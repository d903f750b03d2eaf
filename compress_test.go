package websocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

func TestCompressionRoundTrip(t *testing.T) {
	jsonish := func(n int) []byte {
		var b bytes.Buffer
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, `{"id":%d,"name":"user-%d","tags":["a","b"]},`, i, i%7)
		}
		return b.Bytes()[:n]
	}
	tests := []struct {
		name   string
		server *CompressionOptions
		client *CompressionOptions
	}{
		{name: "context takeover", server: &CompressionOptions{}, client: &CompressionOptions{}},
		{name: "no context takeover", server: &CompressionOptions{ServerNoContextTakeover: true, ClientNoContextTakeover: true}, client: &CompressionOptions{}},
		{name: "client asks no takeover", server: &CompressionOptions{}, client: &CompressionOptions{ServerNoContextTakeover: true, ClientNoContextTakeover: true}},
		{name: "small windows", server: &CompressionOptions{ClientMaxWindowBits: 9}, client: &CompressionOptions{ServerMaxWindowBits: 10}},
		{name: "window 8 huffman", server: &CompressionOptions{}, client: &CompressionOptions{ServerMaxWindowBits: 8, ClientMaxWindowBits: 8}},
		{name: "server declines", server: nil, client: &CompressionOptions{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := newPair(t, &UpgradeOptions{Compression: tt.server, ReadLimit: 16 << 20}, &DialOptions{Compression: tt.client, ReadLimit: 16 << 20})
			if (tt.server == nil) != (client.cfg.deflate == nil) {
				t.Fatalf("got deflate %v, want negotiated %v", client.cfg.deflate != nil, tt.server != nil)
			}
			startEcho(server)
			ctx := context.Background()
			for _, size := range []int{0, 10, 127, 128, 1000, 4096, 5000, 70000, 1 << 20} {
				for _, msg := range [][]byte{jsonish(size), bytes.Repeat([]byte{'z'}, size)} {
					if err := client.Write(ctx, MessageText, msg); err != nil {
						t.Fatal(err)
					}
					typ, got, err := client.Read(ctx, nil)
					if err != nil || typ != MessageText || !bytes.Equal(got, msg) {
						t.Fatalf("size %d: got %v %d bytes %v, want text %d bytes", size, typ, len(got), err, len(msg))
					}
				}
				// The streaming writer, in uneven pieces.
				msg := jsonish(size)
				w, err := client.Writer(ctx, MessageBinary)
				if err != nil {
					t.Fatal(err)
				}
				for rest := msg; len(rest) > 0; {
					k := min(len(rest), 333)
					w.Write(rest[:k])
					rest = rest[k:]
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				typ, r, err := client.Reader(ctx)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				if err != nil || typ != MessageBinary || !bytes.Equal(got, msg) {
					t.Fatalf("writer size %d: got %v %d bytes %v", size, typ, len(got), err)
				}
			}
			if err := client.Close(StatusNormalClosure, ""); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDecompressionBomb(t *testing.T) {
	server, client := newPair(t, &UpgradeOptions{Compression: &CompressionOptions{}, ReadLimit: 64 << 10}, &DialOptions{Compression: &CompressionOptions{}})
	ctx := context.Background()
	bomb := []byte(strings.Repeat("a", 10<<20)) // deflates to about 10 KiB
	// The client reads as a real peer would, so that it answers the
	// server's close while its own write may still be going on.
	clientErr := make(chan error, 1)
	go func() {
		_, _, err := client.Read(ctx, nil)
		clientErr <- err
	}()
	go client.Write(ctx, MessageText, bomb)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := server.Read(ctx, nil)
	runtime.ReadMemStats(&after)
	if CloseStatus(err) != 0 || err != ErrMessageTooBig {
		t.Fatalf("server Read: got %v, want ErrMessageTooBig", err)
	}
	if err := <-clientErr; CloseStatus(err) != StatusMessageTooBig {
		t.Fatalf("client saw close %v (%v), want 1009", CloseStatus(err), err)
	}
	// The reader may allocate up to about twice the limit while growing its
	// buffer, never anything near the 10 MiB the bomb inflates to.
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 4<<20 {
		t.Errorf("allocated %d bytes while refusing the bomb, want < 4 MiB", grown)
	}
}

// TestCompressedWriteCancelled checks that a write whose context ends
// before its first frame goes out leaves no trace: every message written
// afterwards arrives byte for byte, whatever the compression mode, role,
// API and moment of the cancellation.
func TestCompressedWriteCancelled(t *testing.T) {
	type writeFunc func(ctx context.Context, c *Conn, msg []byte, cancel func()) error
	write := func(ctx context.Context, c *Conn, msg []byte, cancel func()) error {
		cancel()
		return c.Write(ctx, MessageText, msg)
	}
	writer := func(ctx context.Context, c *Conn, msg []byte, cancel func()) error {
		w, err := c.Writer(ctx, MessageText)
		if err != nil {
			return err
		}
		if _, err := w.Write(msg); err != nil {
			w.Close()
			return err
		}
		cancel() // between the last Write and Close
		return w.Close()
	}
	// lockHeld cancels ctx while another frame holds the frame lock, as
	// a pong to a slow reader would.
	lockHeld := func(w writeFunc) writeFunc {
		return func(ctx context.Context, c *Conn, msg []byte, cancel func()) error {
			c.frameMu.lock(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- w(ctx, c, msg, func() {}) }()
			for c.frameMu.waiters.Load() == 0 {
				runtime.Gosched()
			}
			cancel()
			err := <-errc
			c.frameMu.unlock()
			return err
		}
	}
	cancels := []struct {
		name  string
		write writeFunc
	}{
		{"Write/ctx done", write},
		{"Writer/ctx ends before Close", writer},
		{"Write/ctx ends while the frame lock is held", lockHeld(func(ctx context.Context, c *Conn, msg []byte, _ func()) error {
			return c.Write(ctx, MessageText, msg)
		})},
		{"Writer/ctx ends while the frame lock is held", lockHeld(func(ctx context.Context, c *Conn, msg []byte, _ func()) error {
			w, err := c.Writer(ctx, MessageText)
			if err != nil {
				return err
			}
			w.Write(msg)
			return w.Close()
		})},
	}
	const messages = 24
	for _, mode := range deflateModes {
		for _, role := range []string{"client writes", "server writes"} {
			for _, cc := range cancels {
				t.Run(mode.name+"/"+role+"/"+cc.name, func(t *testing.T) {
					server, client := newPair(t, &UpgradeOptions{Compression: mode.opts}, &DialOptions{Compression: mode.opts})
					w, r := client, server
					if role == "server writes" {
						w, r = server, client
					}
					var want [][]byte
					for i := range messages {
						msg := similarMessage(i)
						ctx, cancel := context.WithCancel(context.Background())
						if i%3 == 1 {
							if err := cc.write(ctx, w, msg, cancel); err != context.Canceled {
								t.Fatalf("message %d: cancelled write returned %v, want context.Canceled", i, err)
							}
							continue
						}
						if err := w.Write(ctx, MessageText, msg); err != nil {
							t.Fatalf("message %d: %v", i, err)
						}
						cancel()
						want = append(want, msg)
					}
					for i, msg := range want {
						_, got, err := r.Read(context.Background(), nil)
						if err != nil {
							t.Fatalf("reading message %d: %v", i, err)
						}
						if string(got) != string(msg) {
							t.Fatalf("message %d arrived as\n%q\nwant\n%q", i, got, msg)
						}
					}
					if n := r.Stats().MessagesIn; n != uint64(len(want)) {
						t.Errorf("Stats: %d messages in, want %d", n, len(want))
					}
				})
			}
		}
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
				o := &UpgradeOptions{CloseTimeout: time.Hour}
				f := wstest.Frame{Fin: true, Op: wstest.OpText, Payload: msg}
				if mode != "off" {
					noTakeover := mode == "no-takeover"
					o.Compression = &CompressionOptions{ServerNoContextTakeover: noTakeover, ClientNoContextTakeover: noTakeover}
					f = compressed(wstest.OpText, msg)
				}
				var sc *stallConn
				c, p := newRawPair(t, client, o, func(nc net.Conn) net.Conn {
					sc = &stallConn{Conn: nc}
					return sc
				})
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
