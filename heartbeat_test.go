package websocket

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

// The heartbeat tests run on synctest's fake clock over net.Pipe, so that
// minutes pass in microseconds and every instant is exact.

const (
	hbInterval = 10 * time.Second
	hbTimeout  = 5 * time.Second
)

// heartbeatOptions turns the heartbeat on with hbInterval and hbTimeout.
func heartbeatOptions() *UpgradeOptions {
	return &UpgradeOptions{PingInterval: hbInterval, PongTimeout: hbTimeout}
}

func TestHeartbeatDetectsDeadPeer(t *testing.T) {
	wstest.CheckLeaks(t)
	for _, tt := range []struct {
		name      string
		client    bool // the Conn under test is a client
		reading   bool // the application is blocked in Read
		peerReads bool // the dead peer's kernel still accepts bytes
	}{
		{name: "server reading, peer silent", reading: true, peerReads: true},
		{name: "server not reading, peer silent", peerReads: true},
		{name: "server reading, peer not reading", reading: true},
		{name: "server not reading, peer not reading"},
		{name: "client reading, peer silent", client: true, reading: true, peerReads: true},
		{name: "client not reading, peer not reading", client: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, peer := newPipeRawPair(t, tt.client, heartbeatOptions())
				peerErr := make(chan error, 1)
				var pings int
				if tt.peerReads {
					go func() {
						for {
							f, err := peer.ReadFrame()
							if err != nil {
								peerErr <- err
								return
							}
							if f.Op == wstest.OpPing {
								pings++
							} else {
								peerErr <- errors.New("unexpected frame")
								return
							}
						}
					}()
				}
				var readErr <-chan error
				if tt.reading {
					readErr = readUntilError(c)
				}
				start := time.Now()
				time.Sleep(hbInterval + hbTimeout - time.Millisecond)
				synctest.Wait()
				if c.isClosed() {
					t.Fatalf("closed after %v, before PingInterval+PongTimeout", time.Since(start))
				}
				// Without a reader the heartbeat looks for a pong itself,
				// for at most probeWait.
				time.Sleep(time.Millisecond + probeWait)
				synctest.Wait()
				if !c.isClosed() {
					t.Fatalf("still open after %v", time.Since(start))
				}
				if tt.reading {
					err := <-readErr
					if !errors.Is(err, ErrPongTimeout) || CloseStatus(err) != StatusAbnormalClosure {
						t.Errorf("Read: got %v, want a 1006 CloseError wrapping ErrPongTimeout", err)
					}
				}
				err := c.Write(context.Background(), MessageText, []byte("late"))
				if !errors.Is(err, ErrPongTimeout) || !errors.Is(err, net.ErrClosed) {
					t.Errorf("Write: got %v, want ErrPongTimeout and net.ErrClosed", err)
				}
				if st := c.Stats(); !st.PongTimeout || st.ReadFailed || st.CloseSent != 0 {
					t.Errorf("Stats: got %+v, want PongTimeout only", st)
				}
				if tt.peerReads {
					// The peer got one ping, then the end of the connection
					// without a close frame.
					if err := <-peerErr; err != io.EOF || pings != 1 {
						t.Errorf("peer: got %d pings and %v, want 1 and EOF", pings, err)
					}
				}
			})
		})
	}
}

func TestHeartbeatKeepsLivePeer(t *testing.T) {
	wstest.CheckLeaks(t)
	for _, reading := range []bool{true, false} {
		name := map[bool]string{true: "reading", false: "not reading"}[reading]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				so := &UpgradeOptions{PingInterval: hbInterval, PongTimeout: hbTimeout}
				// A Conn that nobody reads answers pings only at its own
				// heartbeat, too late for a peer's heartbeat.
				var co *DialOptions
				if reading {
					// Beats that never coincide: over net.Pipe, which has no
					// buffer, two pongs crossing would block both readers.
					co = &DialOptions{PingInterval: 13 * time.Second, PongTimeout: 3 * time.Second}
				}
				s, c := newPipePair(t, so, co)
				clientErr := readUntilError(c) // a client that reads answers pings
				var serverErr <-chan error
				if reading {
					serverErr = readUntilError(s)
				}
				time.Sleep(106 * time.Second)
				synctest.Wait()
				if s.isClosed() || c.isClosed() {
					t.Fatal("a live connection was closed")
				}
				// The server saw the pongs to its 10 pings, whether or not
				// it was reading, and answered the client's 8.
				if got := s.stats.pongs.Load(); got != 10 {
					t.Errorf("server got %d pongs, want 10", got)
				}
				if got, want := c.stats.pongs.Load(), map[bool]uint64{true: 8}[reading]; got != want {
					t.Errorf("client got %d pongs, want %d", got, want)
				}
				if err := s.Close(StatusNormalClosure, ""); err != nil {
					t.Errorf("Close: %v", err)
				}
				if err := <-clientErr; CloseStatus(err) != StatusNormalClosure {
					t.Errorf("client Read: got %v, want 1000", err)
				}
				if reading {
					<-serverErr
				}
			})
		})
	}
}

// A reader that takes a minute per message is not a dead peer: the
// heartbeat sees the peer's data waiting and leaves the connection open.
func TestHeartbeatSpareSlowReader(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		so := &UpgradeOptions{PingInterval: hbInterval, PongTimeout: hbTimeout}
		s, c := newPipePair(t, so, nil)
		clientErr := readUntilError(c)
		sent := make(chan error, 1)
		go func() {
			msg := bytes.Repeat([]byte("x"), 100)
			for i := 0; ; i++ {
				msg[0] = byte(i)
				if err := c.Write(context.Background(), MessageBinary, msg); err != nil {
					sent <- err
					return
				}
			}
		}()
		for i := range 6 {
			time.Sleep(time.Minute)
			_, msg, err := s.Read(context.Background(), nil)
			if err != nil {
				t.Fatalf("Read %d after %v: %v", i, time.Duration(i+1)*time.Minute, err)
			}
			if msg[0] != byte(i) {
				t.Fatalf("message %d: got number %d", i, msg[0])
			}
		}
		s.CloseNow()
		<-sent
		<-clientErr
	})
}

// The pong to the heartbeat's ping may come between the fragments of a
// message, while Read waits for the rest or while the application holds
// a Reader without reading.
func TestHeartbeatPongInFragmentedMessage(t *testing.T) {
	wstest.CheckLeaks(t)
	for _, streaming := range []bool{false, true} {
		name := map[bool]string{false: "Read", true: "Reader paused"}[streaming]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, peer := newPipeRawPair(t, false, heartbeatOptions())
				ponged := make(chan struct{}, 100)
				go func() {
					// Answer each ping late in its pong window.
					for {
						f, err := peer.ReadFrame()
						if err != nil {
							return
						}
						if f.Op == wstest.OpPing {
							time.Sleep(hbTimeout - time.Second)
							peer.WriteMessage(wstest.OpPong, f.Payload)
							ponged <- struct{}{}
						}
					}
				}()
				peerDone := make(chan error, 1)
				go func() {
					peerDone <- func() error {
						if err := peer.WriteFrame(wstest.Frame{Op: wstest.OpText, Payload: []byte("hello, ")}); err != nil {
							return err
						}
						// Finish the message well after the first pong.
						<-ponged
						time.Sleep(2 * hbTimeout)
						return peer.WriteFrame(wstest.Frame{Fin: true, Op: wstest.OpContinuation, Payload: []byte("world")})
					}()
				}()
				var got []byte
				if streaming {
					_, r, err := s.Reader(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					p := make([]byte, 7)
					if _, err := io.ReadFull(r, p); err != nil {
						t.Fatal(err)
					}
					time.Sleep(hbInterval + 3*hbTimeout) // holding the Reader
					rest, err := io.ReadAll(r)
					if err != nil {
						t.Fatalf("Reader after the pause: %v", err)
					}
					got = append(p, rest...)
				} else {
					var err error
					if _, got, err = s.Read(context.Background(), nil); err != nil {
						t.Fatalf("Read: %v", err)
					}
				}
				if string(got) != "hello, world" {
					t.Errorf("got %q, want %q", got, "hello, world")
				}
				if err := <-peerDone; err != nil {
					t.Errorf("peer: %v", err)
				}
				if n := s.stats.pongs.Load(); n < 1 {
					t.Errorf("got %d pongs, want at least 1", n)
				}
				s.CloseNow()
			})
		})
	}
}

// By default only a pong answers a ping; AnyDataIsPong takes any bytes.
func TestHeartbeatAnyDataIsPong(t *testing.T) {
	wstest.CheckLeaks(t)
	for _, anyData := range []bool{false, true} {
		name := map[bool]string{false: "pong only", true: "any data"}[anyData]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o := &UpgradeOptions{PingInterval: hbInterval, PongTimeout: hbTimeout, AnyDataIsPong: anyData}
				s, peer := newPipeRawPair(t, false, o)
				go io.Copy(io.Discard, peer.Conn) // reads, never answers
				sending := make(chan struct{})
				go func() {
					defer close(sending)
					for peer.WriteMessage(wstest.OpText, []byte("tick")) == nil {
						time.Sleep(2 * time.Second)
					}
				}()
				readErr := readUntilError(s)
				time.Sleep(time.Minute)
				synctest.Wait()
				if closed := s.isClosed(); closed == anyData {
					t.Fatalf("after a minute: closed %v, want %v", closed, !anyData)
				}
				s.CloseNow()
				err := <-readErr
				if got := errors.Is(err, ErrPongTimeout); got == anyData {
					t.Errorf("Read: got %v", err)
				}
				<-sending
			})
		})
	}
}

func TestIdleTimeout(t *testing.T) {
	wstest.CheckLeaks(t)
	for _, reading := range []bool{true, false} {
		name := map[bool]string{true: "reading", false: "not reading"}[reading]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const idle = time.Minute
				// The heartbeat's pings and pongs do not count as activity.
				o := &UpgradeOptions{IdleTimeout: idle, PingInterval: hbInterval}
				s, peer := newPipeRawPair(t, false, o)
				var readErr <-chan error
				if reading {
					readErr = readUntilError(s)
				}
				closes := make(chan wstest.Frame, 1)
				go func() {
					defer close(closes)
					for {
						f, err := peer.ReadFrame()
						switch {
						case err != nil:
							return
						case f.Op == wstest.OpPing:
							peer.WriteMessage(wstest.OpPong, f.Payload)
						case f.Op == wstest.OpClose:
							closes <- f
							return
						default:
							t.Errorf("got opcode %d", f.Op)
						}
					}
				}()
				time.Sleep(30 * time.Second)
				if err := peer.WriteMessage(wstest.OpText, []byte("still here")); err != nil {
					t.Fatal(err)
				}
				last := time.Now()
				if !reading {
					// The message stays unread, so the peer is not idle:
					// the heartbeat sees it waiting and keeps the connection.
					select {
					case <-closes:
						t.Fatalf("closed after %v although data waits unread", time.Since(last))
					case <-time.After(10 * idle):
					}
					s.CloseNow()
					<-closes
					return
				}
				f, ok := <-closes
				since := time.Since(last)
				if !ok || len(f.Payload) < 2 {
					t.Fatal("no close frame")
				}
				code, reason := StatusCode(f.Payload[0])<<8|StatusCode(f.Payload[1]), string(f.Payload[2:])
				if max := idle*5/4 + probeWait; code != StatusGoingAway || reason != "idle timeout" || since < idle || since > max {
					t.Errorf("got close %v %q %v after the last message, want 1001 within [%v, %v]", code, reason, since, idle, max)
				}
				peer.WriteClose(uint16(StatusGoingAway), "")
				if err := <-readErr; CloseStatus(err) != StatusGoingAway {
					t.Errorf("Read: got %v, want 1001", err)
				}
			})
		})
	}
}

func TestWriteTimeout(t *testing.T) {
	wstest.CheckLeaks(t)
	synctest.Test(t, func(t *testing.T) {
		o := &UpgradeOptions{WriteTimeout: 3 * time.Second}
		s, _ := newPipeRawPair(t, false, o) // the peer never reads
		start := time.Now()
		err := s.Write(context.Background(), MessageText, []byte("hello"))
		if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) != 3*time.Second {
			t.Errorf("Write: got %v after %v, want a deadline error after 3s", err, time.Since(start))
		}
		if !s.isClosed() || !s.Stats().WriteFailed {
			t.Errorf("the connection should be closed, with WriteFailed")
		}
		// The Writer's frames are bounded too.
		s2, _ := newPipeRawPair(t, false, o)
		w, err := s2.Writer(context.Background(), MessageBinary)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(make([]byte, 10000))
		if err := w.Close(); !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, net.ErrClosed) {
			t.Errorf("Writer: got %v", err)
		}
	})
}
