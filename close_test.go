package websocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

func TestCloseHandshake(t *testing.T) {
	for _, clientCloses := range []bool{true, false} {
		for _, closerReads := range []bool{false, true} {
			t.Run(fmt.Sprintf("clientCloses=%v/closerReads=%v", clientCloses, closerReads), func(t *testing.T) {
				server, client := newPair(t, nil, nil)
				closer, peer := server, client
				if clientCloses {
					closer, peer = client, server
				}
				peerErr := readUntilError(peer)
				var closerErr <-chan error
				if closerReads {
					closerErr = readUntilError(closer)
				}
				if err := closer.Close(4321, "bye bye"); err != nil {
					t.Fatalf("Close: %v", err)
				}
				// The peer sees the code and reason.
				err := <-peerErr
				var ce *CloseError
				if !errors.As(err, &ce) || ce.Code != 4321 || ce.Reason != "bye bye" {
					t.Errorf("peer Read: got %v, want *CloseError 4321 %q", err, "bye bye")
				}
				// A reader on the closing side sees the peer's echo.
				if closerReads {
					if err := <-closerErr; CloseStatus(err) != 4321 {
						t.Errorf("closer Read: got %v, want status 4321", err)
					}
				}
				// Both ends are done.
				if _, _, err := closer.Read(context.Background(), nil); err == nil {
					t.Error("closer Read after Close: got nil error")
				}
				if err := closer.Write(context.Background(), MessageText, []byte("x")); !errors.Is(err, net.ErrClosed) {
					t.Errorf("closer Write after Close: got %v, want net.ErrClosed", err)
				}
				if err := peer.Write(context.Background(), MessageText, []byte("x")); !errors.Is(err, net.ErrClosed) {
					t.Errorf("peer Write after the close: got %v, want net.ErrClosed", err)
				}
			})
		}
	}
}

func TestCloseDrainsWithoutReader(t *testing.T) {
	// With no one reading, Close reads (and drops) what arrives until the
	// peer's close frame.
	for _, client := range []bool{false, true} {
		t.Run(fmt.Sprintf("client=%v", client), func(t *testing.T) {
			c, p := newRawPair(t, client, nil, nil)
			// Before and after our close frame the peer still sends data,
			// part of a message and control frames.
			p.WriteMessage(wstest.OpText, []byte("unread"))
			p.WriteFrame(frame(true, wstest.OpPing, "ping"))
			p.WriteFrame(frame(false, wstest.OpBinary, "half a"))
			peer := make(chan closeReply, 1)
			go func() {
				code, reason, err := p.ReadClose()
				if err == nil {
					p.WriteFrame(frame(true, wstest.OpContinuation, " message"))
					p.WriteMessage(wstest.OpBinary, []byte(strings.Repeat("x", 10000)))
					err = p.WriteClose(code, "")
				}
				if err == nil && p.Client {
					err = p.ReadEOF() // the server ends TCP
				}
				p.Close()
				peer <- closeReply{code, reason, err}
			}()
			if err := c.Close(StatusGoingAway, "shutting down"); err != nil {
				t.Errorf("Close: %v", err)
			}
			r := <-peer
			if r.err != nil || r.code != 1001 || r.reason != "shutting down" {
				t.Errorf("peer got %d %q %v, want 1001 %q", r.code, r.reason, r.err, "shutting down")
			}
			// Read after Close reports the peer's close.
			if _, _, err := c.Read(context.Background(), nil); CloseStatus(err) != StatusGoingAway {
				t.Errorf("Read after Close: got %v, want status 1001", err)
			}
		})
	}
}

func TestCloseUnresponsivePeer(t *testing.T) {
	// A peer that never answers holds Close for CloseTimeout, no longer.
	// With a fake clock (synctest) the wait is exact and instant.
	for _, reading := range []bool{false, true} {
		t.Run(fmt.Sprintf("reading=%v", reading), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, p := newPipeRawPair(t, false, &UpgradeOptions{CloseTimeout: 7 * time.Second})
				go io.Copy(io.Discard, p.Conn) // reads everything, answers nothing
				var readErr <-chan error
				if reading {
					readErr = readUntilError(c)
					synctest.Wait()
				}
				start := time.Now()
				err := c.Close(StatusNormalClosure, "")
				if d := time.Since(start); d != 7*time.Second {
					t.Errorf("Close took %v, want the CloseTimeout 7s", d)
				}
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("Close: got %v, want os.ErrDeadlineExceeded", err)
				}
				if reading {
					if err := <-readErr; err == nil {
						t.Error("Read: got nil error")
					}
				}
			})
		})
	}
}

func TestCloseUnresponsivePeerTCP(t *testing.T) {
	// The same over TCP, with a short CloseTimeout as the bound.
	c, p := newRawPair(t, false, &UpgradeOptions{CloseTimeout: 100 * time.Millisecond}, nil)
	var err error
	within(t, "Close", func() { err = c.Close(StatusNormalClosure, "") })
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Close: got %v, want os.ErrDeadlineExceeded", err)
	}
	// Our close frame went out all the same, and the connection ended.
	code, _, rerr := p.ReadClose()
	if rerr != nil || code != 1000 {
		t.Errorf("peer got close %d %v, want 1000", code, rerr)
	}
	if err := p.ReadEOF(); err != nil {
		t.Errorf("peer: got %v, want io.EOF", err)
	}
}

func TestCloseNow(t *testing.T) {
	c, p := newRawPair(t, false, nil, nil)
	readErr := readUntilError(c)
	if err := c.CloseNow(); err != nil {
		t.Fatalf("CloseNow: %v", err)
	}
	// No close frame: the connection just ends.
	if f, err := p.ReadFrame(); err != io.EOF {
		t.Errorf("peer: got frame op=%#x %v, want io.EOF", f.Op, err)
	}
	if err := <-readErr; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read: got %v, want net.ErrClosed", err)
	}
	if err := c.CloseNow(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second CloseNow: got %v, want net.ErrClosed", err)
	}
	if err := c.Close(StatusNormalClosure, ""); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Close after CloseNow: got %v, want net.ErrClosed", err)
	}
	if err := c.Write(context.Background(), MessageText, []byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after CloseNow: got %v, want net.ErrClosed", err)
	}
}

func TestCloseTwice(t *testing.T) {
	server, client := newPair(t, nil, nil)
	readUntilError(server)
	if err := client.Close(StatusNormalClosure, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := client.Close(StatusNormalClosure, ""); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: got %v, want net.ErrClosed", err)
	}
}

func TestCloseConcurrent(t *testing.T) {
	// Close and CloseNow from several goroutines at once: one close frame
	// goes out, one call does the handshake, the others report
	// net.ErrClosed, and nothing races.
	c, p := newRawPair(t, false, nil, nil)
	peer := make(chan error, 1)
	go func() {
		code, _, err := p.ReadClose()
		if err == nil {
			err = p.WriteClose(code, "")
		}
		if err == nil {
			// Nothing but the end of the connection follows.
			if f, ferr := p.ReadFrame(); ferr != io.EOF {
				err = fmt.Errorf("after the close frame: got op %#x %v, want io.EOF", f.Op, ferr)
			}
		}
		peer <- err
	}()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = c.Close(StatusNormalClosure, "") })
	}
	wg.Wait()
	nils := 0
	for _, err := range errs {
		switch {
		case err == nil:
			nils++
		case !errors.Is(err, net.ErrClosed):
			t.Errorf("Close: got %v, want nil or net.ErrClosed", err)
		}
	}
	if nils != 1 {
		t.Errorf("got %d Close calls returning nil, want 1", nils)
	}
	if err := <-peer; err != nil {
		t.Errorf("peer: %v", err)
	}
}

func TestCloseInvalidArguments(t *testing.T) {
	tests := []struct {
		name   string
		code   StatusCode
		reason string
	}{
		{name: "code 0", code: 0},
		{name: "code 999", code: 999},
		{name: "code 1004", code: 1004},
		{name: "code 1005", code: StatusNoStatusRcvd},
		{name: "code 1006", code: StatusAbnormalClosure},
		{name: "code 1015", code: StatusTLSHandshake},
		{name: "code 1016", code: 1016},
		{name: "code 2999", code: 2999},
		{name: "code 5000", code: 5000},
		{name: "reason of 124 bytes", code: 1000, reason: strings.Repeat("r", 124)},
		{name: "reason not UTF-8", code: 1000, reason: "bye\xff"},
	}
	c, p := newRawPair(t, false, nil, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.Close(tt.code, tt.reason); err == nil || errors.Is(err, net.ErrClosed) {
				t.Errorf("got %v, want an error about the arguments", err)
			}
		})
	}
	// Nothing was sent and the Conn still works; a valid close then works.
	if err := c.Write(context.Background(), MessageText, []byte("still open")); err != nil {
		t.Fatal(err)
	}
	f, err := p.ReadFrame()
	if err != nil || f.Op != wstest.OpText || string(f.Payload) != "still open" {
		t.Fatalf("peer got op %#x %q %v, want text %q", f.Op, f.Payload, err, "still open")
	}
	reason := strings.Repeat("é", 61) + "!" // 123 bytes
	reply := awaitClose(p, true)
	if err := c.Close(3000, reason); err != nil {
		t.Errorf("Close with a 123-byte reason: %v", err)
	}
	if r := <-reply; r.code != 3000 || r.reason != reason {
		t.Errorf("peer got %d %q, want 3000 %q", r.code, r.reason, reason)
	}
}

func TestCloseAbnormal(t *testing.T) {
	// A peer that vanishes without a close frame gives 1006.
	server, client := newPair(t, nil, nil)
	readErr := readUntilError(server)
	client.CloseNow()
	err := <-readErr
	if CloseStatus(err) != StatusAbnormalClosure {
		t.Errorf("got %v, want status 1006", err)
	}
	if _, _, err2 := server.Read(context.Background(), nil); err2 != err {
		t.Errorf("Read again: got %v, want the same %v", err2, err)
	}
}

func TestServerEndsTCPFirst(t *testing.T) {
	// RFC 6455 §7.1.1: after the close handshake the server closes the TCP
	// connection at once; the client waits for it to.
	t.Run("server", func(t *testing.T) {
		c, p := newRawPair(t, false, nil, nil)
		readErr := readUntilError(c)
		p.WriteClose(1000, "")
		if code, _, err := p.ReadClose(); err != nil || code != 1000 {
			t.Fatalf("peer got %d %v, want close 1000", code, err)
		}
		// The peer has not closed; the server does.
		if err := p.ReadEOF(); err != nil {
			t.Errorf("peer: got %v, want io.EOF", err)
		}
		if err := <-readErr; CloseStatus(err) != StatusNormalClosure {
			t.Errorf("Read: got %v, want status 1000", err)
		}
	})
	tests := []struct {
		name    string
		start   func(c *Conn, p *wstest.RawPeer) <-chan error // begins the handshake; its error, once done
		reply   bool                                          // the peer answers our close frame
		wantErr func(error) bool
	}{
		{
			name: "server closes",
			start: func(c *Conn, p *wstest.RawPeer) <-chan error {
				ch := readUntilError(c)
				p.WriteClose(1000, "")
				return ch
			},
			wantErr: func(err error) bool { return CloseStatus(err) == StatusNormalClosure },
		},
		{
			name: "client closes, no reader",
			start: func(c *Conn, p *wstest.RawPeer) <-chan error {
				ch := make(chan error, 1)
				go func() { ch <- c.Close(StatusNormalClosure, "") }()
				return ch
			},
			reply:   true,
			wantErr: func(err error) bool { return err == nil },
		},
		{
			name: "client closes while reading",
			start: func(c *Conn, p *wstest.RawPeer) <-chan error {
				readUntilError(c)
				ch := make(chan error, 1)
				go func() { ch <- c.Close(StatusNormalClosure, "") }()
				return ch
			},
			reply:   true,
			wantErr: func(err error) bool { return err == nil },
		},
	}
	for _, tt := range tests {
		t.Run("client/"+tt.name, func(t *testing.T) {
			c, p := newRawPair(t, true, nil, nil)
			done := tt.start(c, p)
			code, _, err := p.ReadClose()
			if err != nil || code != 1000 {
				t.Fatalf("peer got %d %v, want close 1000", code, err)
			}
			if tt.reply {
				p.WriteClose(1000, "")
			}
			// The client must not close first. Waiting a little for a
			// premature EOF is a bound: a correct client sends nothing.
			p.Conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if _, err := p.ReadFrame(); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("peer before closing: got %v, want to wait for the server (a timeout)", err)
			}
			p.Close()
			var got error
			within(t, "the close handshake", func() { got = <-done })
			if !tt.wantErr(got) {
				t.Errorf("got %v", got)
			}
		})
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
