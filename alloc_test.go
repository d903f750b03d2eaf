package websocket

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/wsforge/websocket/internal/wstest"
)

func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	ctx := context.Background()
	type allocCase struct {
		name  string
		setup func() func() error // returns one operation
	}
	var tests []allocCase
	for _, client := range []bool{false, true} {
		role := map[bool]string{false: "server", true: "client"}[client]
		for _, size := range []int{0, 16, 125, 1024, 65536} {
			tests = append(tests,
				allocCase{
					name: fmt.Sprintf("%s/Read binary %d", role, size),
					setup: func() func() error {
						c := newFakeConn(client, loopReader(client, wstest.Frame{Fin: true, Op: wstest.OpBinary, Payload: pattern(size)}), nil, nil)
						buf := make([]byte, 0, size+512)
						return func() error {
							_, b, err := c.Read(ctx, buf[:0])
							if err == nil && len(b) != size {
								err = fmt.Errorf("got %d bytes, want %d", len(b), size)
							}
							return err
						}
					},
				},
				allocCase{
					name: fmt.Sprintf("%s/Read text %d into a buffer of its size", role, size),
					setup: func() func() error {
						text := strings.Repeat("héllo wörld €", size/16+1)[:size]
						text = strings.ToValidUTF8(text, "x")
						c := newFakeConn(client, loopReader(client, wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte(text)}), nil, nil)
						buf := make([]byte, 0, len(text))
						return func() error {
							_, _, err := c.Read(ctx, buf[:0])
							return err
						}
					},
				},
				allocCase{
					name: fmt.Sprintf("%s/Reader and io.ReadFull %d", role, size),
					setup: func() func() error {
						c := newFakeConn(client, loopReader(client, wstest.Frame{Fin: true, Op: wstest.OpBinary, Payload: pattern(size)}), nil, nil)
						buf := make([]byte, size+1)
						return func() error {
							_, r, err := c.Reader(ctx)
							if err != nil {
								return err
							}
							if _, err := io.ReadFull(r, buf); err != io.ErrUnexpectedEOF && !(size == 0 && err == io.EOF) {
								return fmt.Errorf("io.ReadFull: got %v, want the end of the message", err)
							}
							return nil
						}
					},
				},
				allocCase{
					name: fmt.Sprintf("%s/Write %d", role, size),
					setup: func() func() error {
						c := newFakeConn(client, nil, nil, nil)
						p := pattern(size)
						return func() error { return c.Write(ctx, MessageBinary, p) }
					},
				},
				allocCase{
					name: fmt.Sprintf("%s/Writer, Write, Close %d", role, size),
					setup: func() func() error {
						c := newFakeConn(client, nil, nil, nil)
						p := pattern(size)
						return func() error {
							w, err := c.Writer(ctx, MessageBinary)
							if err != nil {
								return err
							}
							if _, err := w.Write(p[:size/2]); err != nil {
								return err
							}
							if _, err := w.Write(p[size/2:]); err != nil {
								return err
							}
							return w.Close()
						}
					},
				},
			)
		}
		tests = append(tests, allocCase{
			name: role + "/Read fragments with a ping between them",
			setup: func() func() error {
				c := newFakeConn(client, loopReader(client,
					frame(false, wstest.OpText, "Hel"),
					frame(true, wstest.OpPing, "ping"),
					frame(true, wstest.OpContinuation, "lo"),
				), nil, nil)
				buf := make([]byte, 0, 16)
				return func() error {
					_, b, err := c.Read(ctx, buf[:0])
					if err == nil && string(b) != "Hello" {
						err = fmt.Errorf("got %q, want %q", b, "Hello")
					}
					return err
				}
			},
		})
	}
	tests = append(tests, allocCase{
		name: "mask",
		setup: func() func() error {
			b := pattern(1000)
			return func() error {
				mask(rfcKeyWord, b)
				return nil
			}
		},
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := tt.setup()
			var err error
			allocs := testing.AllocsPerRun(200, func() {
				if e := op(); e != nil && err == nil {
					err = e
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if allocs != 0 {
				t.Errorf("got %v allocations per run, want 0", allocs)
			}
		})
	}
}
