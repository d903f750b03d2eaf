package websocket

// A liveness bug found by issue 8's long soak: a Conn's reader writes the
// pong for each ping itself. When the Conn's own writer is blocked until
// the peer reads, and the peer is blocked writing to this Conn (an echo
// server, say), a reader that waited for the write lock would never read
// again: a deadlock across the connection. flushPong bounds that wait and
// drops the pong instead.

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestPongWhileWriterBlocked(t *testing.T) {
	// A client writes messages while it reads their echoes from a server
	// that echoes one message at a time, and the server pings. Over a
	// connection that buffers nothing, the client's reader must answer a
	// ping while the client's writer holds the frame lock, blocked until
	// the server reads, which the server does only once the client has
	// read its echo. The reader must not wait for the lock.
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		server, client := newPipePair(t, nil, nil)
		go func() {
			for {
				typ, msg, err := server.Read(ctx, nil)
				if err != nil || server.Write(ctx, typ, msg) != nil {
					return
				}
			}
		}()
		go func() {
			for range 20 {
				if server.Ping(ctx) != nil {
					return
				}
			}
		}()
		const n = 50
		go func() {
			for range n {
				if client.Write(ctx, MessageBinary, make([]byte, 64<<10)) != nil {
					return
				}
			}
		}()
		for i := range n {
			if _, _, err := client.Read(ctx, nil); err != nil {
				t.Fatalf("echo %d: %v", i, err)
			}
		}
	})
}
