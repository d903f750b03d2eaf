package websocket

// The soak test: many connections, each sending numbered messages of random
// sizes and types, randomly fragmented, with pings interleaved both ways, to
// a server that echoes them through Read/Write or Reader/Writer at random;
// every echo must come back byte for byte, in order, once. The short
// version runs with the other tests; the long one with
//
//	go test -run TestSoak -soak -v       (or WSFORGE_SOAK=long)
//
// WSFORGE_SOAK_CONNS, WSFORGE_SOAK_MSGS and WSFORGE_SOAK_SEED override the
// number of connections, the messages per connection and the seed.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsforge/websocket/internal/wstest"
)

var soakLong = flag.Bool("soak", false, "run the long soak test (also WSFORGE_SOAK=long)")

// soakConfig sizes a soak run.
type soakConfig struct {
	conns   int
	msgs    int // per connection
	maxSize int // the largest message
	seed    uint64
	timeout time.Duration
}

func soakSettings() soakConfig {
	c := soakConfig{conns: 9, msgs: 200, maxSize: 64 << 10, seed: 1, timeout: time.Minute}
	if *soakLong || os.Getenv("WSFORGE_SOAK") == "long" {
		c = soakConfig{conns: 60, msgs: 10000, maxSize: 256 << 10, seed: 1, timeout: 30 * time.Minute}
	}
	if n, err := strconv.Atoi(os.Getenv("WSFORGE_SOAK_CONNS")); err == nil && n > 0 {
		c.conns = n
	}
	if n, err := strconv.Atoi(os.Getenv("WSFORGE_SOAK_MSGS")); err == nil && n > 0 {
		c.msgs = n
	}
	if n, err := strconv.ParseUint(os.Getenv("WSFORGE_SOAK_SEED"), 10, 64); err == nil {
		c.seed = n
	}
	return c
}

// soakMessage returns message seq of connection conn: its type and payload,
// a header naming both, then random text or bytes of a random size (mostly
// small, sometimes up to maxSize), all derived from the seed.
func soakMessage(seed uint64, conn, seq, maxSize int) (MessageType, []byte) {
	rng := rand.New(rand.NewPCG(seed, uint64(conn)<<32|uint64(seq)))
	var size int
	switch p := rng.IntN(100); {
	case p < 60:
		size = rng.IntN(126)
	case p < 85:
		size = rng.IntN(4 << 10)
	case p < 97:
		size = rng.IntN(min(64<<10, maxSize))
	default:
		size = rng.IntN(maxSize + 1)
	}
	msg := fmt.Appendf(nil, "soak conn=%d seq=%d\n", conn, seq)
	if rng.IntN(2) == 0 {
		return MessageText, append(msg, randomText(rng, size)...)
	}
	for range size {
		msg = append(msg, byte(rng.Uint32()))
	}
	return MessageBinary, msg
}

// soakStats counts what a run carried.
type soakStats struct {
	msgs, bytes, pings, frames atomic.Int64
}

// soakEcho serves one connection: it echoes every message, through Read
// and Write or through Reader and Writer in random pieces, and, if ping is
// set, sometimes pings the client, until the client closes.
//
// Every client is pinged, Conn clients too: their reader answers while
// their writer may be blocked until the server reads (see
// TestPongWhileWriterBlocked).
func soakEcho(c *Conn, seed uint64, st *soakStats, ping bool) error {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 0xec40))
	// A pinger, until the connection ends.
	pings := make(chan struct{}, 1)
	go func() {
		for range pings {
			if c.Ping(ctx) == nil {
				st.pings.Add(1)
			}
		}
	}()
	defer close(pings)
	var buf []byte
	for {
		if ping && rng.IntN(30) == 0 {
			select {
			case pings <- struct{}{}:
			default:
			}
		}
		if rng.IntN(2) == 0 {
			typ, msg, err := c.Read(ctx, buf[:0])
			if err != nil {
				return err
			}
			buf = msg
			if err := c.Write(ctx, typ, msg); err != nil {
				return err
			}
			continue
		}
		typ, r, err := c.Reader(ctx)
		if err != nil {
			return err
		}
		w, err := c.Writer(ctx, typ)
		if err != nil {
			return err
		}
		piece := make([]byte, 1+rng.IntN(10000))
		if _, err := io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{r}, piece); err != nil {
			w.Close()
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
}

// soakCheck compares an echo with the message it should be.
func soakCheck(cfg soakConfig, conn, seq int, typ MessageType, got []byte) error {
	wantType, want := soakMessage(cfg.seed, conn, seq, cfg.maxSize)
	if typ != wantType || !bytes.Equal(got, want) {
		head := got[:min(len(got), 40)]
		return fmt.Errorf("conn %d: echo %d: got %v of %d bytes starting %q, want %v of %d bytes", conn, seq, typ, len(got), head, wantType, len(want))
	}
	return nil
}

// soakDialClient runs connection conn through Dial: a writer sends the
// messages (whole, or through a Writer in random pieces), a pinger pings
// at random moments, a reader checks every echo.
func soakDialClient(ctx context.Context, cfg soakConfig, url string, conn int, st *soakStats) error {
	o := &DialOptions{ReadLimit: int64(cfg.maxSize) + 1024, Proxy: noProxy}
	if conn%3 == 1 {
		o.Compression = &CompressionOptions{}
	}
	c, _, err := Dial(ctx, url, o)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	rng := rand.New(rand.NewPCG(cfg.seed, uint64(conn)))
	pings := make(chan struct{}, 1)
	var wg sync.WaitGroup
	var writeErr, pingErr error
	wg.Go(func() {
		for range pings {
			if pingErr == nil {
				if pingErr = c.Ping(ctx); pingErr == nil {
					st.pings.Add(1)
				}
			}
		}
	})
	wg.Go(func() {
		defer close(pings)
		for seq := range cfg.msgs {
			typ, msg := soakMessage(cfg.seed, conn, seq, cfg.maxSize)
			if rng.IntN(20) == 0 {
				select {
				case pings <- struct{}{}:
				default:
				}
			}
			if rng.IntN(2) == 0 {
				writeErr = c.Write(ctx, typ, msg)
			} else {
				var w io.WriteCloser
				if w, writeErr = c.Writer(ctx, typ); writeErr == nil {
					for b := msg; len(b) > 0 && writeErr == nil; {
						k := min(len(b), rng.IntN(3*DefaultWriteBufferSize))
						_, writeErr = w.Write(b[:k])
						b = b[k:]
					}
					writeErr = errors.Join(writeErr, w.Close())
				}
			}
			if writeErr != nil {
				return
			}
		}
	})
	var readErr error
	for seq := 0; seq < cfg.msgs && readErr == nil; seq++ {
		typ, got, err := c.Read(ctx, nil)
		if err != nil {
			readErr = fmt.Errorf("conn %d: echo %d: %w", conn, seq, err)
			break
		}
		readErr = soakCheck(cfg, conn, seq, typ, got)
		st.msgs.Add(1)
		st.bytes.Add(int64(len(got)))
	}
	if readErr != nil {
		c.CloseNow()
		wg.Wait()
		return readErr
	}
	// The pinger needs a reader for its pongs until it is done.
	go c.Read(ctx, nil)
	wg.Wait()
	if err := errors.Join(writeErr, pingErr); err != nil {
		return fmt.Errorf("conn %d: %w", conn, err)
	}
	return c.Close(StatusNormalClosure, "done")
}

// soakRawClient runs connection conn as a raw peer, which fragments every
// message at random (empty fragments included) and puts pings between the
// fragments, and answers the server's pings.
func soakRawClient(ctx context.Context, cfg soakConfig, addr string, conn int, st *soakStats) error {
	nc, err := rawHandshakeConn(ctx, addr)
	if err != nil {
		return err
	}
	defer nc.Conn.Close()
	var wmu sync.Mutex
	send := func(f wstest.Frame) error {
		wmu.Lock()
		defer wmu.Unlock()
		st.frames.Add(1)
		return nc.WriteFrame(f)
	}
	rng := rand.New(rand.NewPCG(cfg.seed, uint64(conn)))
	var pingsSent atomic.Int64
	writeErr := make(chan error, 1)
	go func() {
		for seq := range cfg.msgs {
			typ, msg := soakMessage(cfg.seed, conn, seq, cfg.maxSize)
			op := byte(typ)
			for {
				// Cut the rest at random: empty fragments too.
				k := len(msg)
				if k > 0 && rng.IntN(3) > 0 {
					k = rng.IntN(len(msg) + 1)
				}
				fin := k == len(msg)
				if err := send(wstest.Frame{Fin: fin, Op: op, Payload: msg[:k]}); err != nil {
					writeErr <- err
					return
				}
				msg, op = msg[k:], wstest.OpContinuation
				if rng.IntN(10) == 0 {
					n := pingsSent.Add(1)
					if err := send(wstest.Frame{Fin: true, Op: wstest.OpPing, Payload: binary.BigEndian.AppendUint64(nil, uint64(n))}); err != nil {
						writeErr <- err
						return
					}
				}
				if fin {
					break
				}
			}
		}
		writeErr <- nil
	}()
	// The server's pings are answered from a goroutine, so that reading
	// never waits for writing.
	owed := make(chan []byte, 64)
	answered := make(chan error, 1)
	go func() {
		var err error
		for p := range owed {
			err = errors.Join(err, send(wstest.Frame{Fin: true, Op: wstest.OpPong, Payload: p}))
		}
		answered <- err
	}()
	defer func() {
		if owed != nil {
			close(owed)
		}
	}()
	var pongs int64
	var ctrlErr error
	onControl := func(f wstest.Frame) {
		switch f.Op {
		case wstest.OpPing:
			select {
			case owed <- f.Payload:
			default: // §5.5.3: answering the latest ping suffices
			}
		case wstest.OpPong:
			// Pongs answer our pings in order; one may answer several
			// (RFC 6455 §5.5.3), never one not yet sent.
			n := int64(binary.BigEndian.Uint64(f.Payload))
			if n <= pongs || n > pingsSent.Load() {
				ctrlErr = errors.Join(ctrlErr, fmt.Errorf("pong %d after pong %d, %d pings sent", n, pongs, pingsSent.Load()))
			}
			pongs = n
		}
	}
	for seq := range cfg.msgs {
		op, got, err := nc.ReadMessage(onControl)
		if err != nil {
			return fmt.Errorf("conn %d: echo %d: %w", conn, seq, err)
		}
		if err := soakCheck(cfg, conn, seq, MessageType(op), got); err != nil {
			return err
		}
		st.msgs.Add(1)
		st.bytes.Add(int64(len(got)))
	}
	if err := <-writeErr; err != nil {
		return fmt.Errorf("conn %d: %w", conn, err)
	}
	close(owed)
	owed = nil
	if err := <-answered; err != nil {
		return fmt.Errorf("conn %d: pong: %w", conn, err)
	}
	if err := send(wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(1000, "done")}); err != nil {
		return err
	}
	// Read to the close reply, seeing the last pongs.
	for {
		op, _, err := nc.ReadMessage(onControl)
		if err != nil {
			return fmt.Errorf("conn %d: waiting for the close: %w", conn, err)
		}
		if op == wstest.OpClose {
			break
		}
	}
	if ctrlErr != nil {
		return fmt.Errorf("conn %d: %w", conn, ctrlErr)
	}
	st.pings.Add(pongs)
	return nil
}

// rawHandshakeConn opens a connection to addr as a raw client peer.
func rawHandshakeConn(ctx context.Context, addr string) (*wstest.RawPeer, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// The raw peer's reader must see the frames right after the 101.
	if err := rawClientHandshake(nc, "/raw"); err != nil {
		nc.Close()
		return nil, err
	}
	return wstest.NewRawPeer(nc, true), nil
}

func TestSoak(t *testing.T) {
	wstest.CheckLeaks(t)
	cfg := soakSettings()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	var st soakStats
	var serverErrs sync.Map
	var served sync.WaitGroup
	var next atomic.Uint64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r, &UpgradeOptions{ReadLimit: int64(cfg.maxSize) + 1024, Compression: &CompressionOptions{}})
		if err != nil {
			t.Errorf("Upgrade: %v", err)
			return
		}
		served.Add(1)
		defer served.Done()
		defer c.CloseNow()
		err = soakEcho(c, cfg.seed^next.Add(1), &st, true)
		if CloseStatus(err) != StatusNormalClosure {
			serverErrs.Store(c, err)
		}
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, cfg.conns)
	for conn := range cfg.conns {
		wg.Go(func() {
			if conn%3 == 2 {
				errs[conn] = soakRawClient(ctx, cfg, addr, conn, &st)
			} else {
				errs[conn] = soakDialClient(ctx, cfg, "ws://"+addr+"/", conn, &st)
			}
		})
	}
	wg.Wait()
	served.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	serverErrs.Range(func(_, err any) bool {
		t.Errorf("server: %v", err)
		return true
	})
	if got, want := st.msgs.Load(), int64(cfg.conns*cfg.msgs); got != want {
		t.Errorf("got %d echoes, want %d", got, want)
	}
	secs := elapsed.Seconds()
	t.Logf("soak: %d conns × %d msgs (seed %d) in %v: %d messages echoed, %.1f MB each way, %d pings answered, %d raw frames; %.0f msgs/s, %.1f MB/s each way",
		cfg.conns, cfg.msgs, cfg.seed, elapsed.Round(time.Millisecond), st.msgs.Load(), float64(st.bytes.Load())/1e6, st.pings.Load(), st.frames.Load(),
		float64(st.msgs.Load())/secs, float64(st.bytes.Load())/1e6/secs)
}
