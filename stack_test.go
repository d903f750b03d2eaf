package websocket

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
)

// TestHandlerStackStaysSmall checks that a connection served in its HTTP
// handler keeps the handler goroutine within its first 4 KiB stack: a
// goroutine whose stack once grew keeps the larger one while it lives, so a
// deep Upgrade (it used to reach past 4 KiB, under net/http's own frames)
// costs every such connection 4 KiB more for good. Stack frames are larger
// under -race, so the check runs without it, as CI does.
func TestHandlerStackStaysSmall(t *testing.T) {
	if raceEnabled {
		t.Skip("stack frames are larger under -race")
	}
	for _, compress := range []bool{false, true} {
		var opts *UpgradeOptions
		var co *DialOptions
		if compress {
			opts = &UpgradeOptions{Compression: &CompressionOptions{}, Subprotocols: []string{"chat"}}
			co = &DialOptions{Compression: &CompressionOptions{}}
		}
		const n = 200
		var upgraded, ended sync.WaitGroup
		upgraded.Add(n)
		ended.Add(n)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer ended.Done()
			c, err := Upgrade(w, r, opts)
			upgraded.Done()
			if err != nil {
				t.Error(err)
				return
			}
			c.Read(context.Background(), nil) // idle, as a real server's handler is
			c.CloseNow()
		}))
		before := stackBytes()
		clients := make([]*Conn, n)
		for i := range clients {
			clients[i] = rawDial(t, srv.Listener.Addr().String(), co)
		}
		upgraded.Wait()
		perConn := (int64(stackBytes()) - int64(before)) / n
		for _, c := range clients {
			c.CloseNow()
		}
		ended.Wait()
		srv.Close()
		// One 4 KiB stack per handler goroutine; 8 KiB if they grew.
		if perConn > 6<<10 {
			t.Errorf("compression %v: %d B of stack per connection served in its handler, want 4 KiB", compress, perConn)
		}
	}
}

// stackBytes returns the memory held by goroutine stacks, after a GC.
func stackBytes() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
