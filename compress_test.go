package websocket

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// echoPeer serves c until it fails, sending every message back as it came.
func echoPeer(c *Conn) {
	ctx := context.Background()
	var buf []byte
	for {
		typ, msg, err := c.Read(ctx, buf[:0])
		if err != nil {
			return
		}
		buf = msg
		if c.Write(ctx, typ, msg) != nil {
			return
		}
	}
}

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
			go echoPeer(server)
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
