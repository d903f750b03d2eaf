package websocket

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// netConnPair returns a NetConn of type typ over the client end of a
// connection, and the server end as a plain Conn.
func netConnPair(t *testing.T, typ MessageType) (net.Conn, *Conn) {
	t.Helper()
	server, client := newPair(t, nil, nil)
	return NetConn(context.Background(), client, typ), server
}

// checkTimeout fails t unless err is the timeout a net.Conn reports.
func checkTimeout(t *testing.T, err error) {
	t.Helper()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want a net.Error with Timeout() and os.ErrDeadlineExceeded", err)
	}
}

func TestNetConnReadAcrossMessages(t *testing.T) {
	tests := []struct {
		name     string
		messages []string
		bufSize  int
	}{
		{
			name:     "one message, one read",
			messages: []string{"hello"},
			bufSize:  64,
		},
		{
			name:     "many messages, small reads",
			messages: []string{"hel", "lo, ", "world"},
			bufSize:  2,
		},
		{
			name:     "empty messages are skipped",
			messages: []string{"", "a", "", "", "bc", ""},
			bufSize:  1,
		},
		{
			name:     "a message larger than the buffer kept",
			messages: []string{string(bytes.Repeat([]byte("x"), 2*maxKeptBuffer)), "tail"},
			bufSize:  4096,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, server := netConnPair(t, MessageBinary)
			ctx := context.Background()
			var want []byte
			for _, m := range tt.messages {
				if err := server.Write(ctx, MessageBinary, []byte(m)); err != nil {
					t.Fatal(err)
				}
				want = append(want, m...)
			}
			got := make([]byte, 0, len(want))
			buf := make([]byte, tt.bufSize)
			for len(got) < len(want) {
				n, err := nc.Read(buf)
				if err != nil {
					t.Fatalf("Read after %d bytes: %v", len(got), err)
				}
				got = append(got, buf[:n]...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
}

func TestNetConnWriteOneMessagePerCall(t *testing.T) {
	for _, typ := range []MessageType{MessageText, MessageBinary} {
		t.Run(typ.String(), func(t *testing.T) {
			nc, server := netConnPair(t, typ)
			ctx := context.Background()
			for _, m := range []string{"first", "", "third"} {
				n, err := nc.Write([]byte(m))
				if err != nil || n != len(m) {
					t.Fatalf("Write(%q): got %d, %v, want %d, nil", m, n, err, len(m))
				}
				gotTyp, got, err := server.Read(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				if gotTyp != typ || string(got) != m {
					t.Fatalf("got %v %q, want %v %q", gotTyp, got, typ, m)
				}
			}
		})
	}
}

func TestNetConnPeerClose(t *testing.T) {
	tests := []struct {
		name    string
		code    StatusCode
		wantEOF bool
	}{
		{
			name:    "normal closure is the end of the stream",
			code:    StatusNormalClosure,
			wantEOF: true,
		},
		{
			name:    "going away is the end of the stream",
			code:    StatusGoingAway,
			wantEOF: true,
		},
		{
			name:    "an application code is an error",
			code:    4000,
			wantEOF: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, server := netConnPair(t, MessageBinary)
			ctx := context.Background()
			server.Write(ctx, MessageBinary, []byte("last words"))
			go server.Close(tt.code, "bye")
			got, err := io.ReadAll(nc)
			if string(got) != "last words" {
				t.Errorf("got %q, want %q", got, "last words")
			}
			switch {
			case tt.wantEOF && err != nil:
				t.Errorf("ReadAll: got %v, want nil (io.EOF)", err)
			case !tt.wantEOF && CloseStatus(err) != tt.code:
				t.Errorf("ReadAll: got %v, want a CloseError with %v", err, tt.code)
			}
			if _, err := nc.Read(make([]byte, 1)); (err == io.EOF) != tt.wantEOF {
				t.Errorf("Read after the end: got %v", err)
			}
			if err := nc.Close(); err != nil {
				t.Errorf("Close after the peer's close: got %v, want nil", err)
			}
			if err := nc.Close(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("second Close: got %v, want net.ErrClosed", err)
			}
		})
	}
}

func TestNetConnClose(t *testing.T) {
	nc, server := netConnPair(t, MessageBinary)
	ctx := context.Background()
	peer := make(chan error, 1)
	go func() {
		_, _, err := server.Read(ctx, nil)
		peer <- err
	}()
	read := make(chan error, 1)
	go func() {
		_, err := nc.Read(make([]byte, 8))
		read <- err
	}()
	if err := nc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-peer; CloseStatus(err) != StatusNormalClosure {
		t.Errorf("peer: got %v, want a close with 1000", err)
	}
	if err := <-read; err != io.EOF && !errors.Is(err, net.ErrClosed) {
		t.Errorf("pending Read: got %v, want io.EOF or net.ErrClosed", err)
	}
	if _, err := nc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: got %v, want net.ErrClosed", err)
	}
}

func TestNetConnWrongMessageType(t *testing.T) {
	nc, server := netConnPair(t, MessageBinary)
	ctx := context.Background()
	peer := make(chan error, 1)
	go func() {
		server.Write(ctx, MessageText, []byte("not binary"))
		_, _, err := server.Read(ctx, nil)
		peer <- err
	}()
	if _, err := nc.Read(make([]byte, 64)); err == nil {
		t.Fatal("Read of a text message: got nil error")
	}
	if err := <-peer; CloseStatus(err) != StatusUnsupportedData {
		t.Errorf("peer: got %v, want a close with %v", err, StatusUnsupportedData)
	}
}

func TestNetConnReadDeadline(t *testing.T) {
	nc, server := netConnPair(t, MessageBinary)
	ctx := context.Background()
	buf := make([]byte, 64)

	// A deadline in the past fails a read at once.
	nc.SetReadDeadline(time.Now().Add(-time.Second))
	n, err := nc.Read(buf)
	if n != 0 {
		t.Errorf("Read past the deadline: got %d bytes, want 0", n)
	}
	checkTimeout(t, err)

	// A deadline that passes while a read waits fails it.
	nc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err = nc.Read(buf)
	checkTimeout(t, err)

	// Moving the deadline lets reads go on, and nothing was lost.
	nc.SetReadDeadline(time.Time{})
	server.Write(ctx, MessageBinary, []byte("still here"))
	n, err = nc.Read(buf)
	if err != nil || string(buf[:n]) != "still here" {
		t.Fatalf("Read after the deadline moved: got %q, %v", buf[:n], err)
	}

	// Writes are not affected by the read deadline.
	nc.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := nc.Write([]byte("ok")); err != nil {
		t.Fatalf("Write with a read deadline past: %v", err)
	}
}

func TestNetConnWriteDeadline(t *testing.T) {
	nc, server := netConnPair(t, MessageBinary)
	ctx := context.Background()

	nc.SetWriteDeadline(time.Now().Add(-time.Second))
	n, err := nc.Write([]byte("late"))
	if n != 0 {
		t.Errorf("Write past the deadline: got %d, want 0", n)
	}
	checkTimeout(t, err)

	// The write had not started: the connection is intact.
	nc.SetDeadline(time.Now().Add(time.Minute))
	if _, err := nc.Write([]byte("on time")); err != nil {
		t.Fatalf("Write after the deadline moved: %v", err)
	}
	_, got, err := server.Read(ctx, nil)
	if err != nil || string(got) != "on time" {
		t.Fatalf("peer: got %q, %v, want %q", got, err, "on time")
	}
}

func TestNetConnContext(t *testing.T) {
	_, client := newPair(t, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	nc := NetConn(ctx, client, MessageBinary)
	read := make(chan error, 1)
	go func() {
		_, err := nc.Read(make([]byte, 8))
		read <- err
	}()
	cancel()
	if err := <-read; !errors.Is(err, context.Canceled) {
		t.Errorf("Read: got %v, want context.Canceled", err)
	}
	if _, err := nc.Write([]byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Write: got %v, want context.Canceled", err)
	}
}

// TestNetConnConcurrentMethods calls every method at once, for the race
// detector, then checks that the connection still works.
func TestNetConnConcurrentMethods(t *testing.T) {
	nc, server := netConnPair(t, MessageBinary)
	ctx := context.Background()
	echoed := make(chan struct{})
	go func() {
		defer close(echoed)
		var buf []byte
		for {
			typ, msg, err := server.Read(ctx, buf[:0])
			if err != nil {
				return
			}
			if server.Write(ctx, typ, msg) != nil {
				return
			}
			buf = msg
		}
	}()

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { nc.Read(make([]byte, 512)) })
		wg.Go(func() { nc.Write(make([]byte, 512)) })
		wg.Go(func() { nc.SetDeadline(time.Now().Add(10 * time.Millisecond)) })
		wg.Go(func() { nc.SetReadDeadline(time.Now().Add(-time.Second)) })
		wg.Go(func() { nc.SetWriteDeadline(time.Now().Add(-time.Second)) })
		wg.Go(func() { nc.LocalAddr(); nc.RemoteAddr() })
	}
	wg.Wait()

	// Drain what the echo sent back, then check a round trip. A write cut
	// off halfway ends the connection; then there is nothing to check.
	nc.SetDeadline(time.Time{})
	if _, err := nc.Write([]byte{0xff}); err != nil {
		t.Logf("the connection did not survive: %v", err)
		return
	}
	buf := make([]byte, 1024)
	for {
		n, err := nc.Read(buf)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if n > 0 && buf[n-1] == 0xff {
			break
		}
	}
	nc.Close()
	<-echoed
}
