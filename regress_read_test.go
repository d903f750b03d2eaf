package websocket

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/wsforge/websocket/internal/wstest"
)

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
