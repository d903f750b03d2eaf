package websocket

// Concurrency proofs, meant for -race: writers, pingers and closers on
// both ends at once; Close racing Read; contexts ending while writes are
// under way. TestConcurrentWriters (write_test.go) covers writers and
// pings without closes. Each test checks with wstest.CheckLeaks that it
// left no goroutine behind, and TestMain (main_test.go) that none did.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// endedErr reports whether err is one a call may return once the
// connection is closing or closed: net.ErrClosed, a *CloseError, a
// context's error, or the network's (a reset by the peer).
func endedErr(err error) bool {
	var ne net.Error
	return err == nil ||
		errors.Is(err, net.ErrClosed) ||
		CloseStatus(err) != 0 ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &ne)
}

// chaosMessage returns message i of writer g: a header naming them, then
// bytes derived from both.
func chaosMessage(g, i int) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(g))
	b = binary.BigEndian.AppendUint32(b, uint32(i))
	size := (g*7919 + i*104729) % 9000
	for j := range size {
		b = append(b, byte(g^i+j))
	}
	return b
}

// checkChaosMessage verifies a received message and the order of its
// writer's messages; next holds the next index expected from each writer.
func checkChaosMessage(msg []byte, next []int) error {
	if len(msg) < 8 {
		return fmt.Errorf("got a message of %d bytes, want a header", len(msg))
	}
	g, i := int(binary.BigEndian.Uint32(msg)), int(binary.BigEndian.Uint32(msg[4:]))
	if g >= len(next) || i != next[g] {
		return fmt.Errorf("got message %d of writer %d, out of order", i, g)
	}
	if !bytes.Equal(msg, chaosMessage(g, i)) {
		return fmt.Errorf("message %d of writer %d is not intact", i, g)
	}
	next[g]++
	return nil
}

func TestConcurrentChaos(t *testing.T) {
	// On both ends at once: goroutines write (Write and Writer), ping,
	// read stats, change the read limit, and, part way, several close
	// (Close and CloseNow). Every call returns, every error is one of an
	// ending connection, at most one Close on each end completes a
	// handshake, and every message that arrives is whole and in its
	// writer's order.
	const writers, messages, closers = 6, 60, 3
	for round := range 4 {
		t.Run(fmt.Sprintf("round=%d", round), func(t *testing.T) {
			server, client := newPair(t, nil, nil)
			ends := []*Conn{server, client}
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			var wg sync.WaitGroup
			var unexpected sync.Map
			note := func(what string, err error) {
				if !endedErr(err) {
					unexpected.Store(what, err)
				}
			}
			// Readers verify what arrives.
			for e, c := range ends {
				wg.Go(func() {
					next := make([]int, writers)
					for {
						_, msg, err := c.Read(ctx, nil)
						if err != nil {
							note(fmt.Sprintf("end %d Read", e), err)
							return
						}
						if err := checkChaosMessage(msg, next); err != nil {
							unexpected.Store(fmt.Sprintf("end %d message", e), err)
						}
					}
				})
			}
			// Half-way through the writers' work, the closers go.
			var written atomic.Int64
			closeNow := make(chan struct{})
			var closeOnce sync.Once
			var handshakes [2]atomic.Int32
			for e, c := range ends {
				for g := range writers {
					wg.Go(func() {
						// The closers go half-way, or when a writer stops.
						defer closeOnce.Do(func() { close(closeNow) })
						for i := range messages {
							if written.Add(1) == writers*messages/2 {
								closeOnce.Do(func() { close(closeNow) })
							}
							msg := chaosMessage(g, i)
							var err error
							switch (g + i) % 4 {
							case 0, 1:
								err = c.Write(ctx, MessageBinary, msg)
							case 2:
								var w io.WriteCloser
								if w, err = c.Writer(ctx, MessageBinary); err == nil {
									for b := msg; len(b) > 0 && err == nil; b = b[min(len(b), 1000):] {
										_, err = w.Write(b[:min(len(b), 1000)])
									}
									err = errors.Join(err, w.Close())
								}
							case 3:
								pctx, pcancel := context.WithTimeout(ctx, time.Second)
								err = c.Ping(pctx)
								pcancel()
								c.Stats()
								c.SetReadLimit(DefaultReadLimit + int64(i))
								if err == nil {
									err = c.Write(ctx, MessageBinary, msg)
								}
							}
							if err != nil {
								note(fmt.Sprintf("end %d writer %d", e, g), err)
								return
							}
						}
					})
				}
				for k := range closers {
					wg.Go(func() {
						<-closeNow
						var err error
						if k == 0 {
							err = c.CloseNow()
						} else if err = c.Close(StatusNormalClosure, ""); err == nil {
							handshakes[e].Add(1)
						}
						note(fmt.Sprintf("end %d closer %d", e, k), err)
					})
				}
			}
			within(t, "every goroutine", wg.Wait)
			unexpected.Range(func(k, v any) bool {
				t.Errorf("%s: %v", k, v)
				return true
			})
			for e := range ends {
				if n := handshakes[e].Load(); n > 1 {
					t.Errorf("end %d: %d calls of Close returned nil, want at most 1", e, n)
				}
				if !ends[e].isClosed() {
					t.Errorf("end %d is still open", e)
				}
			}
		})
	}
}

func TestCloseRacesRead(t *testing.T) {
	// A goroutine blocked in Read, between messages or inside one, while
	// others close the connection from this end, the other end, or both:
	// Read returns an ending error, Close returns, nothing hangs.
	type closer int
	const (
		closeHere closer = iota
		closeNowHere
		closePeer
		closeBoth
	)
	for _, midMessage := range []bool{false, true} {
		for _, how := range []closer{closeHere, closeNowHere, closePeer, closeBoth} {
			t.Run(fmt.Sprintf("midMessage=%v/closer=%d", midMessage, how), func(t *testing.T) {
				for range 25 {
					server, client := newPair(t, nil, nil)
					ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
					readErrs := make(chan error, 2)
					for _, c := range []*Conn{server, client} {
						go func() {
							_, _, err := c.Read(ctx, nil)
							readErrs <- err
						}()
					}
					if midMessage {
						w, err := client.Writer(ctx, MessageText)
						if err != nil {
							t.Fatal(err)
						}
						w.Write(bytes.Repeat([]byte("x"), 10000)) // a frame goes out; the message stays open
						defer w.Close()
					}
					var closeErrs [2]error
					var wg sync.WaitGroup
					if how == closeHere || how == closeBoth {
						wg.Go(func() { closeErrs[0] = server.Close(StatusGoingAway, "") })
					}
					if how == closeNowHere {
						wg.Go(func() { closeErrs[0] = server.CloseNow() })
					}
					if how == closePeer || how == closeBoth {
						wg.Go(func() { closeErrs[1] = client.Close(StatusNormalClosure, "") })
					}
					within(t, "Close", wg.Wait)
					for i := range 2 {
						var err error
						within(t, "Read", func() { err = <-readErrs })
						if err == nil || !endedErr(err) {
							t.Errorf("Read %d: got %v, want an ending error", i, err)
						}
					}
					for i, err := range closeErrs {
						if !endedErr(err) && !errors.Is(err, os.ErrDeadlineExceeded) {
							t.Errorf("Close %d: got %v", i, err)
						}
					}
					cancel()
				}
			})
		}
	}
}

func TestContextRacesWrite(t *testing.T) {
	// Writes whose contexts end at random moments, some while their frame
	// is on its way through small socket buffers. A Write that returns nil
	// delivered its message; one that returns its context's error on a
	// Conn still open sent nothing; once part of a frame was sent, the
	// connection is closed. So the receiver gets exactly the messages
	// whose Write returned nil, whole and in order, in each compression
	// mode (a compressor must not remember a message that was not sent),
	// in both roles, through Write and Writer.
	const writers, messages, rounds = 4, 60, 3
	for _, mode := range deflateModes {
		for _, role := range []string{"client writes", "server writes"} {
			for round := range rounds {
				t.Run(fmt.Sprintf("%s/%s/round=%d", mode.name, role, round), func(t *testing.T) {
					contextRacesWrite(t, mode.opts, role == "client writes", round, writers, messages)
				})
			}
		}
	}
}

func contextRacesWrite(t *testing.T, deflate *CompressionOptions, clientWrites bool, round, writers, messages int) {
	server, client := newPair(t, &UpgradeOptions{Compression: deflate}, &DialOptions{Compression: deflate})
	writer, reader := client, server
	if !clientWrites {
		writer, reader = server, client
	}
	writer.nc.(*net.TCPConn).SetWriteBuffer(32 << 10)
	rng := rand.New(rand.NewPCG(uint64(round), 1))
	delays := make([][]time.Duration, writers)
	for g := range delays {
		for range messages {
			delays[g] = append(delays[g], time.Duration(rng.IntN(5000))*time.Microsecond)
		}
	}

	received := make(chan [][]byte, 1)
	go func() {
		var got [][]byte
		for {
			_, msg, err := reader.Read(context.Background(), nil)
			if err != nil {
				received <- got
				return
			}
			got = append(got, msg)
		}
	}()

	var mu sync.Mutex
	delivered := make(map[string]bool) // messages whose Write returned nil
	var unsent, cut atomic.Int32
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range messages {
				msg := chaosMessage(g, i)
				msg = append(msg, bytes.Repeat(similarMessage(i), []int{0, 1, 20, 300, 2000}[i%5])...)
				ctx, cancel := context.WithTimeout(context.Background(), delays[g][i])
				var err error
				if i%2 == 0 {
					err = writer.Write(ctx, MessageBinary, msg)
				} else {
					err = writeStreamed(ctx, writer, msg)
				}
				cancel()
				switch {
				case err == nil:
					mu.Lock()
					delivered[string(msg)] = true
					mu.Unlock()
				case errors.Is(err, context.DeadlineExceeded) && !writer.isClosed():
					unsent.Add(1) // nothing went out
				case writer.isClosed():
					cut.Add(1) // cut off mid-frame: the connection is gone
					return
				default:
					t.Errorf("writer %d message %d: got %v", g, i, err)
					return
				}
			}
		})
	}
	within(t, "the writers", wg.Wait)
	// Let the reader read the rest, then end it.
	if !writer.isClosed() {
		go writer.Read(context.Background(), nil)
		writer.Close(StatusNormalClosure, "")
	}
	var got [][]byte
	within(t, "the reader", func() { got = <-received })
	next := make([]int, writers)
	for _, msg := range got {
		if len(msg) < 8 {
			t.Fatalf("got a message of %d bytes", len(msg))
		}
		g, i := int(binary.BigEndian.Uint32(msg)), int(binary.BigEndian.Uint32(msg[4:]))
		if g >= writers || i < next[g] {
			t.Fatalf("got message %d of writer %d out of order", i, g)
		}
		next[g] = i + 1
		if !delivered[string(msg)] {
			t.Errorf("got message %d of writer %d, whose Write did not return nil", i, g)
		}
		delete(delivered, string(msg))
	}
	for msg := range delivered {
		g, i := binary.BigEndian.Uint32([]byte(msg)), binary.BigEndian.Uint32([]byte(msg[4:]))
		t.Errorf("message %d of writer %d: Write returned nil, but it never arrived", i, g)
	}
	t.Logf("%d messages delivered, %d writes ended before their frame, %d writers cut off", len(got), unsent.Load(), cut.Load())
}

// writeStreamed sends msg through a Writer, in chunks of varying sizes.
func writeStreamed(ctx context.Context, c *Conn, msg []byte) error {
	w, err := c.Writer(ctx, MessageBinary)
	if err != nil {
		return err
	}
	for len(msg) > 0 && err == nil {
		k := min(len(msg), 1+len(msg)/3)
		_, err = w.Write(msg[:k])
		msg = msg[k:]
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}
