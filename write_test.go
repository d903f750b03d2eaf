package websocket

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

// shrinkBuffers makes the kernel buffers of a TCP connection small, so that
// a writer blocks after a few hundred KiB that nobody reads. (Much smaller
// buffers make loopback TCP crawl once it is read.)
func shrinkBuffers(t testing.TB, nc net.Conn) {
	t.Helper()
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		t.Fatalf("got %T, want *net.TCPConn", nc)
	}
	if err := tc.SetReadBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	if err := tc.SetWriteBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
}

// newSlowPair is newRawPair with small kernel buffers on both ends.
func newSlowPair(t testing.TB, client bool) (*Conn, *wstest.RawPeer) {
	t.Helper()
	c, p := newRawPair(t, client, nil, func(nc net.Conn) net.Conn {
		shrinkBuffers(t, nc)
		return nc
	})
	shrinkBuffers(t, p.Conn)
	return c, p
}

func TestWriterSendsFramesAsItsBufferFills(t *testing.T) {
	for _, client := range []bool{false, true} {
		t.Run(fmt.Sprintf("client=%v", client), func(t *testing.T) {
			c, p := newRawPair(t, client, &UpgradeOptions{WriteBufferSize: 1024}, nil)
			w, err := c.Writer(context.Background(), MessageText)
			if err != nil {
				t.Fatal(err)
			}
			want := []byte(strings.Repeat("0123456789", 1000))
			for b := want; len(b) > 0; b = b[min(len(b), 100):] {
				if n, err := w.Write(b[:min(len(b), 100)]); err != nil || n != min(len(b), 100) {
					t.Fatalf("Write: got %d %v", n, err)
				}
			}
			// The buffer has filled several times: frames are on their way
			// before Close.
			var got []byte
			f, err := p.ReadFrame()
			if err != nil {
				t.Fatal(err)
			}
			if f.Fin || f.Op != wstest.OpText || len(f.Payload) == 0 || len(f.Payload) > 1024 {
				t.Fatalf("first frame: got fin=%v op=%#x %d bytes, want an unfinished text frame of 1..1024 bytes", f.Fin, f.Op, len(f.Payload))
			}
			got = append(got, f.Payload...)
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			frames := 1
			for !f.Fin {
				if f, err = p.ReadFrame(); err != nil {
					t.Fatal(err)
				}
				if f.Op != wstest.OpContinuation {
					t.Fatalf("frame %d: got op %#x, want a continuation", frames, f.Op)
				}
				got = append(got, f.Payload...)
				frames++
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got %q..., want %q...", trunc(got), trunc(want))
			}
			if frames < len(want)/1024 {
				t.Errorf("got %d frames, want at least %d", frames, len(want)/1024)
			}
		})
	}
}

func TestWriterEmptyMessage(t *testing.T) {
	tests := []struct {
		name  string
		write func(io.Writer) error
	}{
		{
			name:  "no Write",
			write: func(io.Writer) error { return nil },
		},
		{
			name: "Write of nothing",
			write: func(w io.Writer) error {
				_, err := w.Write(nil)
				return err
			},
		},
	}
	for _, tt := range tests {
		for _, client := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/client=%v", tt.name, client), func(t *testing.T) {
				c, p := newRawPair(t, client, nil, nil)
				w, err := c.Writer(context.Background(), MessageBinary)
				if err != nil {
					t.Fatal(err)
				}
				if err := tt.write(w); err != nil {
					t.Fatalf("Write: %v", err)
				}
				if err := w.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				f, err := p.ReadFrame()
				if err != nil || !f.Fin || f.Op != wstest.OpBinary || len(f.Payload) != 0 {
					t.Errorf("got fin=%v op=%#x %q %v, want one empty final binary frame", f.Fin, f.Op, f.Payload, err)
				}
			})
		}
	}
}

func TestWriterLargeWrite(t *testing.T) {
	// A Write larger than the buffer with nothing buffered goes out as a
	// frame of its own; buffered bytes go first.
	c, p := newRawPair(t, true, nil, nil)
	want := pattern(3 * DefaultWriteBufferSize)
	w, err := c.Writer(context.Background(), MessageBinary)
	if err != nil {
		t.Fatal(err)
	}
	orig := bytes.Clone(want)
	for _, part := range [][]byte{want[:10000], want[10000:10010], want[10010:]} {
		if n, err := w.Write(part); n != len(part) || err != nil {
			t.Fatalf("Write: got %d %v, want %d <nil>", n, err, len(part))
		}
	}
	if !bytes.Equal(want, orig) {
		t.Fatal("Write modified its argument")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	op, got, err := p.ReadMessage(nil)
	if err != nil || op != wstest.OpBinary || !bytes.Equal(got, want) {
		t.Errorf("got op %#x, %d bytes %v, want binary of %d bytes", op, len(got), err, len(want))
	}
}

func TestWriterMisuse(t *testing.T) {
	c, p := newRawPair(t, false, nil, nil)
	ctx := context.Background()
	if _, err := c.Writer(ctx, MessageType(3)); err == nil {
		t.Error("Writer(3): got nil error")
	}
	if err := c.Write(ctx, MessageType(0), []byte("x")); err == nil {
		t.Error("Write(0): got nil error")
	}
	w, err := c.Writer(ctx, MessageText)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("a"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("b")); err == nil {
		t.Error("Write after Close: got nil error")
	}
	if err := w.Close(); err == nil {
		t.Error("second Close: got nil error")
	}
	// None of it reached the peer but the one message, and the Conn still
	// works.
	if err := c.Write(ctx, MessageText, []byte("c")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a", "c"} {
		if _, got, err := p.ReadMessage(nil); err != nil || string(got) != want {
			t.Errorf("got %q %v, want %q", got, err, want)
		}
	}
}

func TestWriterStreamsThroughIOCopy(t *testing.T) {
	// A message copied in with io.Copy is read out with io.Copy, and an
	// echo that copies a Reader into a Writer never holds it whole.
	ctx := context.Background()
	server, client := newPair(t, nil, &DialOptions{ReadLimit: 4 << 20})
	want := pattern(3 << 20)
	go func() {
		typ, r, err := server.Reader(ctx)
		if err != nil {
			return
		}
		w, err := server.Writer(ctx, typ)
		if err != nil {
			return
		}
		io.Copy(w, r)
		w.Close()
	}()
	server.SetReadLimit(4 << 20)
	w, err := client.Writer(ctx, MessageBinary)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(w, bytes.NewReader(want)); n != int64(len(want)) || err != nil {
		t.Fatalf("io.Copy into the Writer: got %d %v", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	typ, r, err := client.Reader(ctx)
	if err != nil || typ != MessageBinary {
		t.Fatalf("Reader: got %v %v", typ, err)
	}
	var got bytes.Buffer
	if _, err := io.Copy(&got, r); err != nil {
		t.Fatalf("io.Copy from the Reader: %v", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("got %d bytes, want the %d sent", got.Len(), len(want))
	}
}

// concurrentMessage returns message i of writer g: a header naming them and
// a body derived from both, of a size that varies from empty to several
// frames.
func concurrentMessage(g, i int) []byte {
	size := (g*7919 + i*104729) % 20000
	if i%5 == 0 {
		size = 0
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(g))
	b = binary.BigEndian.AppendUint32(b, uint32(i))
	for j := range size {
		b = append(b, byte(g+i+j))
	}
	return b
}

func TestConcurrentWriters(t *testing.T) {
	// Goroutines write messages (whole, and streamed through a Writer) and
	// ping at once; every message arrives whole and in each goroutine's
	// order.
	const goroutines, messages = 8, 40
	ctx := context.Background()
	server, client := newPair(t, nil, nil)

	// The client reads too, so that its pings get their pongs.
	clientRead := make(chan error, 1)
	go func() {
		for {
			if _, _, err := client.Read(ctx, nil); err != nil {
				clientRead <- err
				return
			}
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, goroutines*messages)
	for g := range goroutines {
		wg.Go(func() {
			for i := range messages {
				msg := concurrentMessage(g, i)
				var err error
				switch i % 3 {
				case 0:
					err = client.Write(ctx, MessageBinary, msg)
				case 1:
					var w io.WriteCloser
					if w, err = client.Writer(ctx, MessageBinary); err == nil {
						for b := msg; len(b) > 0 && err == nil; b = b[min(len(b), 3000):] {
							_, err = w.Write(b[:min(len(b), 3000)])
						}
						if cerr := w.Close(); err == nil {
							err = cerr
						}
					}
				case 2:
					if err = client.Ping(ctx); err == nil {
						err = client.Write(ctx, MessageBinary, msg)
					}
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d message %d: %w", g, i, err)
					return
				}
			}
		})
	}

	next := make([]int, goroutines)
	for range goroutines * messages {
		typ, got, err := server.Read(ctx, nil)
		if err != nil {
			t.Fatalf("server Read: %v", err)
		}
		if typ != MessageBinary || len(got) < 8 {
			t.Fatalf("got %v of %d bytes, want a binary message with a header", typ, len(got))
		}
		g, i := int(binary.BigEndian.Uint32(got)), int(binary.BigEndian.Uint32(got[4:]))
		if g >= goroutines || i != next[g] {
			t.Fatalf("got message %d of writer %d, want message %d", i, g, next[min(g, goroutines-1)])
		}
		if want := concurrentMessage(g, i); !bytes.Equal(got, want) {
			t.Fatalf("message %d of writer %d: got %d bytes, want %d, not intact", i, g, len(got), len(want))
		}
		next[g]++
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// The server reads on so that the close handshake completes.
	go server.Read(ctx, nil)
	if err := client.Close(StatusNormalClosure, ""); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-clientRead; CloseStatus(err) != StatusNormalClosure {
		t.Errorf("client Read: got %v, want status 1000", err)
	}
}

func TestWriteContextDone(t *testing.T) {
	// A Write whose context has ended before its frame started sends
	// nothing and leaves the Conn usable.
	for _, client := range []bool{false, true} {
		t.Run(fmt.Sprintf("client=%v", client), func(t *testing.T) {
			c, p := newRawPair(t, client, nil, nil)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			for range 20 {
				if err := c.Write(ctx, MessageText, []byte("never")); err != context.Canceled {
					t.Fatalf("Write: got %v, want context.Canceled", err)
				}
				// A Writer may be had, but its frames never go out.
				if w, err := c.Writer(ctx, MessageText); err == nil {
					w.Write([]byte(strings.Repeat("never", 1000)))
					if err := w.Close(); err != context.Canceled {
						t.Fatalf("Writer Close: got %v, want context.Canceled", err)
					}
				} else if err != context.Canceled {
					t.Fatalf("Writer: got %v, want context.Canceled", err)
				}
				if err := c.Ping(ctx); err != context.Canceled {
					t.Fatalf("Ping: got %v, want context.Canceled", err)
				}
			}
			if err := c.Write(context.Background(), MessageText, []byte("sent")); err != nil {
				t.Fatal(err)
			}
			f, err := p.ReadFrame()
			if err != nil || f.Op != wstest.OpText || string(f.Payload) != "sent" {
				t.Errorf("got op %#x %q %v, want text %q", f.Op, f.Payload, err, "sent")
			}
		})
	}
}

func TestWriteWaitingForTheLock(t *testing.T) {
	// Writes waiting for a slow writer give up when their context ends,
	// without harm to the Conn.
	c, p := newSlowPair(t, false)
	big := pattern(8 << 20)
	bigDone := make(chan error, 1)
	go func() { bigDone <- c.Write(context.Background(), MessageBinary, big) }()
	// Once the peer has a byte of the big frame, its writer holds the
	// locks; the peer reads no more for now, so it keeps them.
	var first [1]byte
	if _, err := io.ReadFull(p.Conn, first[:]); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Write(ctx, MessageText, []byte("late")); err != context.DeadlineExceeded {
		t.Errorf("Write: got %v, want context.DeadlineExceeded", err)
	}
	if _, err := c.Writer(ctx, MessageText); err != context.DeadlineExceeded {
		t.Errorf("Writer: got %v, want context.DeadlineExceeded", err)
	}
	if err := c.Ping(ctx); err != context.DeadlineExceeded {
		t.Errorf("Ping: got %v, want context.DeadlineExceeded", err)
	}

	// The peer reads on: the big message, then the next one, and nothing
	// of the abandoned ones.
	got := make(chan error, 1)
	go func() {
		peer := wstest.NewRawPeer(&replayConn{Conn: p.Conn, prefix: first[:]}, true)
		f, err := peer.ReadFrame()
		if err == nil && (f.Op != wstest.OpBinary || !bytes.Equal(f.Payload, big)) {
			err = fmt.Errorf("got op %#x of %d bytes, want the big binary message", f.Op, len(f.Payload))
		}
		if err == nil {
			f, err = peer.ReadFrame()
			if err == nil && (f.Op != wstest.OpText || string(f.Payload) != "after") {
				err = fmt.Errorf("got op %#x %q, want text %q", f.Op, f.Payload, "after")
			}
		}
		got <- err
	}()
	if err := <-bigDone; err != nil {
		t.Fatalf("big Write: %v", err)
	}
	if err := c.Write(context.Background(), MessageText, []byte("after")); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Error(err)
	}
}

// replayConn is a net.Conn whose reads return prefix first, to give back bytes
// a test has read ahead.
type replayConn struct {
	net.Conn
	prefix []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func TestWriteCutOffMidFrame(t *testing.T) {
	// A write whose context ends when part of its frame is on the wire
	// cannot be taken back: the connection fails, and later calls say so.
	for _, client := range []bool{false, true} {
		t.Run(fmt.Sprintf("client=%v", client), func(t *testing.T) {
			c, p := newSlowPair(t, client)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Write(ctx, MessageBinary, pattern(8<<20)) }()
			var first [1]byte
			if _, err := io.ReadFull(p.Conn, first[:]); err != nil {
				t.Fatal(err)
			}
			cancel()
			err := <-done
			if err == nil {
				t.Fatal("Write: got nil error, want one")
			}
			if err2 := c.Write(context.Background(), MessageText, []byte("x")); err2 == nil {
				t.Error("later Write: got nil error, want one")
			}
			if err2 := c.Ping(context.Background()); err2 == nil {
				t.Error("later Ping: got nil error, want one")
			}
			if _, _, err2 := c.Read(context.Background(), nil); !errors.Is(err2, net.ErrClosed) {
				t.Errorf("later Read: got %v, want net.ErrClosed", err2)
			}
			// The peer sees the connection end.
			if err := p.ReadEOF(); err != nil {
				t.Errorf("peer: got %v, want io.EOF", err)
			}
		})
	}
}

func TestWriterCutOffBetweenFrames(t *testing.T) {
	// A Writer whose context ends after it has sent part of the message
	// must not leave the peer inside an unfinished message while the Conn
	// goes on: either the connection fails, or what the peer reads is a
	// valid stream.
	c, p := newRawPair(t, false, &UpgradeOptions{WriteBufferSize: 256}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := c.Writer(ctx, MessageText)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(strings.Repeat("a", 1000))); err != nil {
		t.Fatal(err)
	}
	f, err := p.ReadFrame()
	if err != nil || f.Fin {
		t.Fatalf("got fin=%v %v, want the first frame of the message", f.Fin, err)
	}
	cancel()
	w.Write([]byte(strings.Repeat("b", 1000)))
	w.Close()
	if err := c.Write(context.Background(), MessageText, []byte("next")); err != nil {
		return // the Conn failed: fine
	}
	inMessage := true
	for {
		f, err := p.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case f.Op == wstest.OpContinuation && inMessage:
			inMessage = !f.Fin
		case f.Op == wstest.OpText && !inMessage:
			if string(f.Payload) != "next" {
				t.Fatalf("got %q, want %q", f.Payload, "next")
			}
			return
		default:
			t.Fatalf("got op %#x fin=%v while inMessage=%v: invalid stream (§5.4)", f.Op, f.Fin, inMessage)
		}
	}
}
