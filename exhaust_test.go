package websocket

// Resource exhaustion: peers that send too slowly (slowloris, during the
// handshake and inside a frame), peers that never read, and thousands of
// connections dropped abruptly. The timing tests run in a synctest bubble
// over net.Pipe, so a peer sending one byte per second costs no real time
// and every bound is checked exactly.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

// pipeListener is a net.Listener whose connections are net.Pipe ends, so
// that an http.Server can run inside a synctest bubble.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial returns the client end of a new connection to the listener.
func (l *pipeListener) dial() net.Conn {
	a, b := net.Pipe()
	l.conns <- b
	return a
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// trickle writes b one byte per interval until it is all sent or a write
// fails, and returns how many bytes went out.
func trickle(nc net.Conn, b []byte, interval time.Duration) int {
	for i := range b {
		if _, err := nc.Write(b[i : i+1]); err != nil {
			return i
		}
		time.Sleep(interval)
	}
	return len(b)
}

func TestSlowlorisHandshake(t *testing.T) {
	// net/http reads the request: its ReadHeaderTimeout cuts off a client
	// that sends it slowly, before Upgrade ever runs. Upgrade's own
	// HandshakeTimeout bounds the writing of the 101 to a client that sends
	// its request and then never reads.
	const readHeaderTimeout = 10 * time.Second
	tests := []struct {
		name     string
		opts     *UpgradeOptions
		interval time.Duration // between the bytes of the request; 0 sends it whole
		readResp bool          // the client reads the response to a whole request
		wantUp   bool          // Upgrade runs
		wantErr  error         // what Upgrade returns
		within   time.Duration // when the server has given up on the client
	}{
		{
			name:     "one byte per second",
			interval: time.Second,
			within:   readHeaderTimeout,
		},
		{
			name:    "whole request, response never read",
			opts:    suggestedServer(),
			wantUp:  true,
			wantErr: os.ErrDeadlineExceeded,
			within:  suggestedServer().HandshakeTimeout,
		},
		{
			name:     "whole request, response read",
			opts:     suggestedServer(),
			readResp: true,
			wantUp:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			synctest.Test(t, func(t *testing.T) {
				type upgraded struct {
					at  time.Time
					err error
				}
				results := make(chan upgraded, 1)
				l := newPipeListener()
				srv := &http.Server{
					ReadHeaderTimeout: readHeaderTimeout,
					Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						c, err := Upgrade(w, r, tt.opts)
						if c != nil {
							c.CloseNow()
						}
						results <- upgraded{time.Now(), err}
					}),
				}
				go srv.Serve(l)
				defer srv.Close()

				start := time.Now()
				nc := l.dial()
				defer nc.Close()
				req := []byte(request("GET /chat HTTP/1.1", ""))
				if !tt.wantUp {
					// The server gives up on the request: it closes the
					// connection, at most with a 400 (which net/http sends
					// when the deadline strikes inside a line).
					type answer struct {
						at   time.Duration
						resp []byte
					}
					answers := make(chan answer, 1)
					go func() {
						b, _ := io.ReadAll(nc)
						answers <- answer{time.Since(start), b}
					}()
					sent := trickle(nc, req, tt.interval)
					a := <-answers
					if sent == len(req) {
						t.Fatalf("the whole request of %d bytes went out", len(req))
					}
					if a.at > tt.within+tt.interval {
						t.Errorf("cut off after %v (%d of %d bytes), want within %v", a.at, sent, len(req), tt.within)
					}
					if len(a.resp) > 0 && !strings.HasPrefix(string(a.resp), "HTTP/1.1 400 ") {
						t.Errorf("got response %q, want none or 400", a.resp)
					}
					srv.Close()
					select {
					case r := <-results:
						t.Errorf("Upgrade ran and returned %v", r.err)
					default:
					}
					return
				}
				if _, err := nc.Write(req); err != nil {
					t.Fatal(err)
				}
				if tt.readResp {
					resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
					if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
						t.Fatalf("got %v %v, want 101", resp, err)
					}
				}
				r := <-results
				if tt.wantErr == nil && r.err != nil || tt.wantErr != nil && !errors.Is(r.err, tt.wantErr) {
					t.Errorf("Upgrade: got %v, want %v", r.err, tt.wantErr)
				}
				if d := r.at.Sub(start); tt.within > 0 && d != tt.within {
					t.Errorf("Upgrade returned after %v, want %v", d, tt.within)
				}
			})
		})
	}
}

func TestSlowlorisFrame(t *testing.T) {
	// A peer that sends a frame one byte per second is cut off by the idle
	// timeout or the heartbeat: inside a frame it can send no pong, and a
	// frame counts as activity only once, when its header has arrived.
	const closeTimeout = time.Second
	const idle = 5 * time.Second
	slack := closeTimeout + probeWait
	tests := []struct {
		name    string
		opts    UpgradeOptions
		wire    []byte // sent one byte per second
		wantErr error  // what Read returns
		within  time.Duration
	}{
		{
			name:    "idle timeout, inside a payload",
			opts:    UpgradeOptions{IdleTimeout: idle},
			wire:    masked(frame(true, wstest.OpBinary, strings.Repeat("x", 1000))),
			wantErr: net.ErrClosed,
			within:  idle*5/4 + slack,
		},
		{
			name:    "idle timeout, inside a header",
			opts:    UpgradeOptions{IdleTimeout: idle},
			wire:    hdr(false, 0x82, 1000), // 14 bytes
			wantErr: net.ErrClosed,
			within:  idle*5/4 + slack,
		},
		{
			name:    "heartbeat, inside a payload",
			opts:    UpgradeOptions{PingInterval: 10 * time.Second, PongTimeout: 5 * time.Second},
			wire:    masked(frame(true, wstest.OpBinary, strings.Repeat("x", 1000))),
			wantErr: ErrPongTimeout,
			within:  15*time.Second + slack,
		},
		{
			name:    "suggested server options",
			opts:    *suggestedServer(),
			wire:    masked(frame(true, wstest.OpBinary, strings.Repeat("x", 1000))),
			wantErr: ErrPongTimeout,
			within:  suggestedServer().PingInterval + suggestedServer().PongTimeout + slack,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			synctest.Test(t, func(t *testing.T) {
				o := tt.opts
				o.CloseTimeout = closeTimeout
				c, peer := newPipeRawPair(t, false, &o)
				// The peer reads what it is sent (pings, the close frame)
				// but answers nothing.
				go io.Copy(io.Discard, peer.Conn)
				start := time.Now()
				sent := make(chan int, 1)
				go func() { sent <- trickle(peer.Conn, tt.wire, time.Second) }()
				_, _, err := c.Read(context.Background(), nil)
				d := time.Since(start)
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Read: got %v, want %v", err, tt.wantErr)
				}
				if d > tt.within {
					t.Errorf("Read returned after %v, want within %v", d, tt.within)
				}
				if n := <-sent; n >= len(tt.wire) {
					t.Errorf("the peer sent all %d bytes", n)
				}
			})
		})
	}
}

func TestPeerNeverReads(t *testing.T) {
	// A peer that never reads blocks every write; the timeouts end them
	// all, and close the connection, however many goroutines write.
	tests := []struct {
		name   string
		opts   UpgradeOptions
		ctx    time.Duration // a deadline on each call; 0 for none
		within time.Duration
	}{
		{
			name:   "WriteTimeout",
			opts:   UpgradeOptions{WriteTimeout: 3 * time.Second, CloseTimeout: time.Second},
			within: 3 * time.Second,
		},
		{
			name:   "context deadlines",
			opts:   UpgradeOptions{CloseTimeout: time.Second},
			ctx:    2 * time.Second,
			within: 2 * time.Second,
		},
	}
	for _, tt := range tests {
		for _, client := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/client=%v", tt.name, client), func(t *testing.T) {
				wstest.CheckLeaks(t)
				synctest.Test(t, func(t *testing.T) {
					c, _ := newPipeRawPair(t, client, &tt.opts)
					start := time.Now()
					ctx := context.Background()
					if tt.ctx > 0 {
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, tt.ctx)
						defer cancel()
					}
					calls := []func() error{
						func() error { return c.Write(ctx, MessageBinary, make([]byte, 1<<20)) },
						func() error { return c.Write(ctx, MessageText, []byte("small")) },
						func() error {
							w, err := c.Writer(ctx, MessageBinary)
							if err != nil {
								return err
							}
							w.Write(make([]byte, 100<<10))
							return w.Close()
						},
						func() error { return c.Ping(ctx) },
						func() error { return c.Close(StatusGoingAway, "") },
					}
					var wg sync.WaitGroup
					errs := make([]error, len(calls))
					ends := make([]time.Duration, len(calls))
					for i, call := range calls {
						wg.Go(func() {
							errs[i] = call()
							ends[i] = time.Since(start)
						})
					}
					wg.Wait()
					for i, err := range errs {
						if err == nil {
							t.Errorf("call %d succeeded with a peer that never reads", i)
						}
						// Close waits at most CloseTimeout more for the close
						// frame to go out.
						if limit := tt.within + tt.opts.CloseTimeout; ends[i] > limit {
							t.Errorf("call %d returned after %v (%v), want within %v", i, ends[i], err, limit)
						}
					}
					if !c.isClosed() {
						t.Error("the connection is still open")
					}
				})
			})
		}
	}
}

// TestExhaustClients is the client side of TestManyConnectionsDropped, run
// in a child process (childproc_test.go): it opens connections in waves, as
// told on stdin, and drops them abruptly.
func TestExhaustClients(t *testing.T) {
	addr, n := childParams(t, "TestManyConnectionsDropped")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() && in.Text() == "open" {
		conns := make([]net.Conn, n)
		var wg sync.WaitGroup
		var failed atomic.Value
		next := atomic.Int64{}
		for range 32 {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
					nc, err := dialRaw(addr)
					if err != nil {
						failed.Store(err)
						return
					}
					conns[i] = nc
				}
			})
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Println("opened")
		if !in.Scan() || in.Text() != "drop" {
			return
		}
		for i, nc := range conns {
			switch i % 3 {
			case 0: // FIN, no close frame
				nc.Close()
			case 1: // RST
				nc.(*net.TCPConn).SetLinger(0)
				nc.Close()
			case 2: // RST in the middle of a frame
				nc.Write(masked(frame(true, wstest.OpBinary, strings.Repeat("x", 1000)))[:100])
				nc.(*net.TCPConn).SetLinger(0)
				nc.Close()
			}
		}
		fmt.Println("dropped")
	}
}

// heapAndGoroutines returns the live heap after collecting garbage twice
// (the second empties the sync.Pools) and the number of goroutines.
func heapAndGoroutines() (uint64, int) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, runtime.NumGoroutine()
}

func TestManyConnectionsDropped(t *testing.T) {
	// 10,000 connections opened, then dropped without a close frame (a
	// FIN, a reset, a reset in the middle of a frame): the server must be
	// left with no goroutine and no buffer of theirs. Under the race
	// detector, which allows 8,128 goroutines, they come in waves. A first
	// wave warms up: the runtime keeps the descriptor of every goroutine
	// it has ever run (about 450 bytes each), so the heap is measured
	// against what it was after that wave.
	if testing.Short() {
		t.Skip("opens 20,000 connections")
	}
	total, wave := 10000, 10000
	if raceEnabled {
		wave = 2500
	}
	// Each process holds one end of every connection of a wave.
	wave = min(wave, openFileLimit()-256)
	wstest.CheckLeaks(t)
	var live atomic.Int64
	var opened, closed sync.WaitGroup
	srv := &http.Server{
		ReadHeaderTimeout: testTimeout,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := Upgrade(w, r, nil)
			if err != nil {
				t.Errorf("Upgrade: %v", err)
				return
			}
			defer closed.Done()
			live.Add(1)
			opened.Done()
			for {
				if _, _, err := c.Read(context.Background(), nil); err != nil {
					break
				}
			}
			c.CloseNow()
			live.Add(-1)
		}),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	_, g0 := heapAndGoroutines()

	// The clients run in a child process, which holds the other end of
	// every connection of a wave.
	child := startChild(t, "TestExhaustClients", ln.Addr().String(), wave)
	expect := func(want string) {
		t.Helper()
		if err := child.await(want); err != nil {
			t.Fatalf("child: %v", err)
		}
	}

	var start time.Time
	var heap0, peakHeap uint64
	var peakG int
	done := -wave // the first wave warms up
	for ; done < total; done += wave {
		if done == 0 {
			start = time.Now()
			heap0, _ = heapAndGoroutines()
		}
		opened.Add(wave)
		closed.Add(wave)
		child.tell("open")
		expect("opened")
		opened.Wait()
		h, g := heapAndGoroutines()
		peakHeap, peakG = max(peakHeap, h), max(peakG, g)
		if n := live.Load(); n != int64(wave) {
			t.Fatalf("%d connections open, want %d", n, wave)
		}
		child.tell("drop")
		expect("dropped")
		closed.Wait()
	}
	if err := child.stop(); err != nil {
		t.Fatalf("child: %v", err)
	}
	elapsed := time.Since(start)

	// The handlers have returned; their connections' goroutines end
	// asynchronously, so wait for them, up to a bound.
	var heap1 uint64
	var g1 int
	for wait := time.Millisecond; ; wait *= 2 {
		if heap1, g1 = heapAndGoroutines(); g1 <= g0 || wait > 5*time.Second {
			break
		}
		time.Sleep(wait)
	}
	t.Logf("%d connections in waves of %d in %v; at the peak %d goroutines and %d KiB of heap (%d B per connection); after: %d goroutines (before: %d), heap %+d KiB",
		done, wave, elapsed.Round(time.Millisecond), peakG, peakHeap>>10, (peakHeap-heap0)/uint64(wave), g1, g0, (int64(heap1)-int64(heap0))>>10)
	if g1 > g0 {
		t.Errorf("got %d goroutines after, want at most the %d before", g1, g0)
	}
	// Nothing of the connections stays: the heap is back where it was,
	// but for noise far below one connection's worth per hundred.
	if grown := int64(heap1) - int64(heap0); grown > 1<<20 {
		t.Errorf("the heap grew by %d bytes, want less than 1 MiB", grown)
	}
}

func TestPingFloodNeverRead(t *testing.T) {
	// A peer that sends pings and never reads the pongs blocks the reader
	// in its pong: WriteTimeout (or a heartbeat) ends that, and Read
	// reports the connection's end.
	tests := []struct {
		name   string
		opts   UpgradeOptions
		within time.Duration
	}{
		{
			name:   "WriteTimeout",
			opts:   UpgradeOptions{WriteTimeout: 3 * time.Second},
			within: 3 * time.Second,
		},
		{
			name:   "suggested server options",
			opts:   *suggestedServer(),
			within: suggestedServer().WriteTimeout,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			synctest.Test(t, func(t *testing.T) {
				c, peer := newPipeRawPair(t, false, &tt.opts)
				flooding := make(chan struct{})
				go func() {
					defer close(flooding)
					for peer.WriteMessage(wstest.OpPing, []byte("flood")) == nil {
					}
				}()
				start := time.Now()
				_, _, err := c.Read(context.Background(), nil)
				if d := time.Since(start); d > tt.within+probeWait {
					t.Errorf("Read returned after %v, want within %v", d, tt.within)
				}
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("Read: got %v, want an error wrapping net.ErrClosed", err)
				}
				if !c.Stats().WriteFailed {
					t.Error("Stats: want WriteFailed")
				}
				peer.Conn.Close()
				<-flooding
			})
		})
	}
}

// suggestedServer returns the options the README suggests for a server
// facing the Internet.
func suggestedServer() *UpgradeOptions {
	return &UpgradeOptions{
		HandshakeTimeout: 10 * time.Second,
		PingInterval:     25 * time.Second,
		PongTimeout:      15 * time.Second,
		WriteTimeout:     30 * time.Second,
	}
}
