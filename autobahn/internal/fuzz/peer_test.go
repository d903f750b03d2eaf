package fuzz

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wsforge/websocket/autobahn/internal/wire"
)

// recorder is a Handler that runs a script at open and records events.
type recorder struct {
	open     func(p *Peer)
	messages []string
	pongs    []string
	result   Result
}

func (r *recorder) Open(p *Peer) {
	if r.open != nil {
		r.open(p)
	}
}
func (r *recorder) Message(p *Peer, b []byte, _ bool) { r.messages = append(r.messages, string(b)) }
func (r *recorder) Pong(p *Peer, b []byte)            { r.pongs = append(r.pongs, string(b)) }
func (r *recorder) Lost(p *Peer)                      { r.result = p.Result() }

type frame struct {
	fin     bool
	op      byte
	masked  bool
	payload []byte
}

func readFrame(br *bufio.Reader) (frame, error) {
	var f frame
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return f, err
	}
	f.fin, f.op, f.masked = h[0]&0x80 != 0, h[0]&0x0f, h[1]&0x80 != 0
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	var key [4]byte
	if f.masked {
		if _, err := io.ReadFull(br, key[:]); err != nil {
			return f, err
		}
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(br, f.payload); err != nil {
		return f, err
	}
	if f.masked {
		wire.Mask(key, 0, f.payload)
	}
	return f, nil
}

func closeFrame(code int) []byte {
	return wire.AppendFrame(nil, true, 0, wire.OpClose, nil, []byte{byte(code >> 8), byte(code)})
}

// runPeer connects a client Peer to a scripted fake server and returns what
// the handler saw, along with the frames the fake server received.
func runPeer(t *testing.T, open func(p *Peer), server func(conn net.Conn, br *bufio.Reader) []frame) (*recorder, []frame) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []frame, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer conn.Close()
		got <- server(conn, bufio.NewReader(conn))
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{open: open}
	p := New(conn, Config{CloseHandshakeTimeout: 200 * time.Millisecond, ServerConnectionDropTimeout: 200 * time.Millisecond, Watchdog: 5 * time.Second})
	p.Run(nil, rec)
	return rec, <-got
}

// untilClose reads frames until a close frame or an error.
func untilClose(br *bufio.Reader) ([]frame, *frame) {
	var frames []frame
	for {
		f, err := readFrame(br)
		if err != nil {
			return frames, nil
		}
		frames = append(frames, f)
		if f.op == wire.OpClose {
			return frames, &frames[len(frames)-1]
		}
	}
}

func code(c *int) int {
	if c == nil {
		return -1
	}
	return *c
}

func TestCloseBehaviour(t *testing.T) {
	tests := []struct {
		name   string
		open   func(p *Peer)
		server func(conn net.Conn, br *bufio.Reader) []frame
		check  func(t *testing.T, r Result, frames []frame)
	}{
		{
			name: "clean close initiated by the runner",
			open: func(p *Peer) { p.SendClose(1000, "") },
			server: func(conn net.Conn, br *bufio.Reader) []frame {
				frames, _ := untilClose(br)
				conn.Write(closeFrame(1000))
				return frames
			},
			check: func(t *testing.T, r Result, frames []frame) {
				if !r.ClosedByMe || !r.WasClean || r.DroppedByMe || code(r.RemoteCloseCode) != 1000 {
					t.Errorf("result %+v", r)
				}
				if len(frames) != 1 || !frames[0].masked {
					t.Errorf("server got %+v", frames)
				}
			},
		},
		{
			name: "invalid close code in the reply counts as 1000 and drops",
			open: func(p *Peer) { p.SendClose(1000, "") },
			server: func(conn net.Conn, br *bufio.Reader) []frame {
				frames, _ := untilClose(br)
				conn.Write(closeFrame(1004))
				io.Copy(io.Discard, br)
				return frames
			},
			check: func(t *testing.T, r Result, _ []frame) {
				if code(r.RemoteCloseCode) != 1000 || !r.DroppedByMe || r.WasClean || !r.FailedByMe {
					t.Errorf("result %+v", r)
				}
			},
		},
		{
			name: "no close reply: closing handshake timeout",
			open: func(p *Peer) { p.SendClose(1000, "") },
			server: func(conn net.Conn, br *bufio.Reader) []frame {
				frames, _ := untilClose(br)
				io.Copy(io.Discard, br)
				return frames
			},
			check: func(t *testing.T, r Result, _ []frame) {
				if !r.WasCloseHandshakeTimeout || r.WasClean || !r.DroppedByMe {
					t.Errorf("result %+v", r)
				}
			},
		},
		{
			name: "server does not drop TCP after the handshake",
			open: func(p *Peer) { p.SendClose(1000, "") },
			server: func(conn net.Conn, br *bufio.Reader) []frame {
				frames, _ := untilClose(br)
				conn.Write(closeFrame(1000))
				io.Copy(io.Discard, br)
				return frames
			},
			check: func(t *testing.T, r Result, _ []frame) {
				if !r.WasServerConnectionDropTimeout || r.WasClean || !r.DroppedByMe {
					t.Errorf("result %+v", r)
				}
			},
		},
		{
			name: "server closes first: normal reply, not closed by the runner",
			open: func(p *Peer) { p.KillAfter(time.Second) },
			server: func(conn net.Conn, br *bufio.Reader) []frame {
				conn.Write(closeFrame(1002))
				frames, _ := untilClose(br)
				return frames
			},
			check: func(t *testing.T, r Result, frames []frame) {
				if r.ClosedByMe || !r.WasClean || r.DroppedByMe || code(r.RemoteCloseCode) != 1002 {
					t.Errorf("result %+v", r)
				}
				if len(frames) != 1 || binary.BigEndian.Uint16(frames[0].payload) != 1000 {
					t.Errorf("reply %+v", frames)
				}
			},
		},
		{
			name: "invalid UTF-8 text fails the connection with 1007",
			server: func(conn net.Conn, br *bufio.Reader) []frame {
				conn.Write(wire.AppendFrame(nil, true, 0, wire.OpText, nil, []byte("a\xffb")))
				frames, _ := untilClose(br)
				conn.Write(closeFrame(1000))
				return frames
			},
			check: func(t *testing.T, r Result, frames []frame) {
				if !r.FailedByMe || !r.ClosedByMe || code(r.LocalCloseCode) != 1007 {
					t.Errorf("result %+v", r)
				}
			},
		},
		{
			name: "masked server frame is a protocol violation",
			server: func(conn net.Conn, br *bufio.Reader) []frame {
				key := [4]byte{1, 2, 3, 4}
				conn.Write(wire.AppendFrame(nil, true, 0, wire.OpText, &key, []byte("hi")))
				frames, _ := untilClose(br)
				conn.Write(closeFrame(1000))
				return frames
			},
			check: func(t *testing.T, r Result, _ []frame) {
				if !r.FailedByMe || code(r.LocalCloseCode) != 1002 {
					t.Errorf("result %+v", r)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, frames := runPeer(t, tc.open, tc.server)
			tc.check(t, rec.result, frames)
		})
	}
}

func TestPingAndMessages(t *testing.T) {
	rec, frames := runPeer(t, func(p *Peer) {
		p.SendFrame(Frame{Opcode: wire.OpPing, Fin: true, Payload: []byte("hi"), Chop: 1})
		p.SendMessage([]byte("abcdef"), false, 4)
		p.KillAfter(time.Second)
	}, func(conn net.Conn, br *bufio.Reader) []frame {
		var frames []frame
		for i := 0; i < 3; i++ {
			f, err := readFrame(br)
			if err != nil {
				return frames
			}
			frames = append(frames, f)
		}
		conn.Write(wire.AppendFrame(nil, true, 0, wire.OpPong, nil, frames[0].payload))
		conn.Write(wire.AppendFrame(nil, false, 0, wire.OpText, nil, []byte("abc")))
		conn.Write(wire.AppendFrame(nil, true, 0, wire.OpPing, nil, []byte("p")))
		conn.Write(wire.AppendFrame(nil, true, 0, wire.OpContinuation, nil, []byte("def")))
		conn.Write(closeFrame(1000))
		more, _ := untilClose(br)
		return append(frames, more...)
	})
	if len(frames) < 5 {
		t.Fatalf("server got %d frames", len(frames))
	}
	if frames[1].fin || string(frames[1].payload) != "abcd" || !frames[2].fin || frames[2].op != wire.OpContinuation {
		t.Errorf("fragmentation: %+v %+v", frames[1], frames[2])
	}
	if frames[3].op != wire.OpPong || string(frames[3].payload) != "p" {
		t.Errorf("ping answer: %+v", frames[3])
	}
	if len(rec.pongs) != 1 || rec.pongs[0] != "hi" || len(rec.messages) != 1 || rec.messages[0] != "abcdef" {
		t.Errorf("events: pongs %q messages %q", rec.pongs, rec.messages)
	}
}

func TestTimersFireInDeadlineOrder(t *testing.T) {
	var order []string
	runPeer(t, func(p *Peer) {
		p.ContinueLater(30*time.Millisecond, "b", func() { order = append(order, "b") })
		p.ContinueLater(10*time.Millisecond, "a", func() { order = append(order, "a") })
		p.ContinueLater(30*time.Millisecond, "c", func() {
			order = append(order, "c")
			p.SendClose(1000, "")
		})
	}, func(conn net.Conn, br *bufio.Reader) []frame {
		frames, _ := untilClose(br)
		conn.Write(closeFrame(1000))
		return frames
	})
	if got := strings.Join(order, ""); got != "abc" {
		t.Fatalf("order %v", order)
	}
}

func TestPreview(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", []byte(""), ""},
		{"text", []byte("hello"), "hello"},
		{"binary", []byte{0, 0xff}, "0x00ff"},
		{"60 octets kept whole", bytes.Repeat([]byte("*"), 60), strings.Repeat("*", 60)},
		{"61 octets get an ellipsis", bytes.Repeat([]byte("*"), 61), strings.Repeat("*", 61) + " ..."},
		{"long text cut at 64", bytes.Repeat([]byte("*"), 200), strings.Repeat("*", 64) + " ..."},
		{"long binary as hex", bytes.Repeat([]byte{0xfe}, 125), "0x" + strings.Repeat("fe", 64) + " ..."},
		{"cut inside a code point falls back to hex", append(bytes.Repeat([]byte("*"), 63), 0xce, 0xba), "0x" + strings.Repeat("2a", 63) + "ce ..."},
	}
	for _, tc := range tests {
		if got := Preview(tc.in); got != tc.want {
			t.Errorf("%s: Preview = %q, want %q", tc.name, got, tc.want)
		}
	}
}
