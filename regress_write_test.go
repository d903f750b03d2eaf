package websocket

import (
	"context"
	"fmt"
	"runtime"
	"testing"
)

// deflateModes are the permessage-deflate settings the cancellation
// tests run under: off, without context takeover and with it.
var deflateModes = []struct {
	name string
	opts *CompressionOptions
}{
	{"off", nil},
	{"no-takeover", &CompressionOptions{Threshold: -1, ServerNoContextTakeover: true, ClientNoContextTakeover: true}},
	{"takeover", &CompressionOptions{Threshold: -1}},
}

// similarMessage returns message i of a stream of similar JSON-like texts,
// so that with context takeover each refers back to the ones before it.
func similarMessage(i int) []byte {
	// Over 128 bytes: the standard library's fastest level codes shorter
	// blocks with Huffman codes alone, without back-references.
	return fmt.Appendf(nil, `{"seq":%d,"room":"lobby","user":"user-%d","text":"message number %d of the stream, much like the one before","tags":["chat","json","events"],"meta":{"client":"wsforge","version":%d}}`, i, i%7, i, i*31)
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
