package websocket

// The hostile-input catalogue: every way of breaking the protocol that we
// know of, each as the raw bytes a peer sends from its first byte on (the
// opening handshake included) and the exact outcome: the HTTP status, the
// error Upgrade, Dial or Read returns, the close code our side sends, and a
// bound on what handling it may allocate. Each entry runs over loopback TCP
// against the real server (Upgrade behind net/http) or the real client
// (Dial), with nothing of the code under test on the peer's side.
//
// The focused unit tests of the same rules stay beside their code:
// TestReadHostileFrames and TestReadClosePayload (read_test.go),
// TestPeekHeaderErrors (frame_test.go), TestUpgradeRejects
// (handshake_refusal_test.go), TestUpgradePipelinedFrames
// (handshake_test.go), TestDialResponseVerification (dial_test.go) and
// TestDecompressionBomb (compress_test.go). This file is
// the one index of hostile input; fuzz_test.go explores beyond it. The
// peers that play the entries are in hostile_peer_test.go.

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/wsforge/websocket/internal/wstest"
)

// hostileCase is one entry of the catalogue.
type hostileCase struct {
	name   string
	client bool // our side is the client (Dial); the peer plays the server

	// handshake is what the peer sends first: the whole request for our
	// server, the whole response for our client, where "{accept}" stands for
	// the Sec-WebSocket-Accept of the client's key. "" means a valid one.
	handshake string
	// frames follow the handshake, masked with rfcKey when the peer is a
	// client, and raw follows them as it is. Then the peer shuts down its
	// side of the connection.
	frames   []wstest.Frame
	raw      []byte
	limit    int64 // ReadLimit; 0 means DefaultReadLimit
	compress bool  // permessage-deflate is negotiated

	// The outcome.
	status   int        // server: the HTTP status answered; 0 means 101
	refuse   error      // the error of Upgrade or Dial (errors.Is); nil: none, or net/http refused first
	sent     StatusCode // the close code our side sends; 0 for none
	readErr  error      // the error that ends reading (errors.Is); nil: not checked beyond closed
	closed   StatusCode // CloseStatus of that error: the peer's code, 1006, or 0 for a violation
	msgs     int        // whole messages read before it
	maxAlloc uint64     // bound on the bytes allocated while handling it; 0 means hostileAlloc
}

// hostileAlloc bounds what one entry may allocate in the whole process
// (handshake, HTTP server, both ends) unless it says otherwise: a handshake
// and a few frames take about 30 KiB, a decompressor about 100 KiB more.
const hostileAlloc = 256 << 10

// headerAlloc bounds the allocations of refusing oversized headers. The
// HTTP parser allocates several times what it reads (about 7.5 MiB for
// 1 MiB of header), but stops reading at 1 MiB: net/http's
// DefaultMaxHeaderBytes for our server, maxResponseHeaderBytes for Dial.
const headerAlloc = 12 << 20

// closeFrame is a close frame with a raw payload.
func closeFrame(payload []byte) wstest.Frame {
	return wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: payload}
}

// oneByteFragments returns a message of n one-byte fragments.
func oneByteFragments(op byte, n int) []wstest.Frame {
	fs := make([]wstest.Frame, n)
	for i := range fs {
		fs[i] = wstest.Frame{Fin: i == n-1, Op: wstest.OpContinuation, Payload: []byte{'a' + byte(i%26)}}
	}
	fs[0].Op = op
	return fs
}

func hostileCatalogue() []hostileCase {
	bye := closeFrame(wstest.ClosePayload(1000, "bye"))
	var cs []hostileCase

	// The opening handshake, against our server (RFC 6455 §4.2.1).
	cs = append(cs,
		hostileCase{
			name:      "handshake: HTTP/1.0",
			handshake: request("GET /chat HTTP/1.0", ""),
			status:    http.StatusBadRequest,
			refuse:    ErrBadHandshake,
		},
		hostileCase{
			name:      "handshake: duplicate keys",
			handshake: request("GET /chat HTTP/1.1", "Sec-WebSocket-Key: "+b64(16, 'k')+"\r\n"),
			status:    http.StatusBadRequest,
			refuse:    ErrBadHandshake,
		},
		hostileCase{
			name:      "handshake: duplicate versions",
			handshake: request("GET /chat HTTP/1.1", "Sec-WebSocket-Version: 13\r\n"),
			status:    http.StatusUpgradeRequired,
			refuse:    ErrBadHandshake,
		},
		hostileCase{
			name:      "handshake: POST",
			handshake: request("POST /chat HTTP/1.1", "Content-Length: 0\r\n"),
			status:    http.StatusMethodNotAllowed,
			refuse:    ErrBadHandshake,
		},
		hostileCase{
			name:      "handshake: cross-origin",
			handshake: request("GET /chat HTTP/1.1", "Origin: https://evil.example\r\n"),
			status:    http.StatusForbidden,
			refuse:    ErrBadHandshake,
		},
		hostileCase{
			name:      "handshake: version 8",
			handshake: "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + sampleKey + "\r\nSec-WebSocket-Version: 8\r\n\r\n",
			status:    http.StatusUpgradeRequired,
			refuse:    ErrBadHandshake,
		},
		hostileCase{
			name:      "handshake: no Upgrade",
			handshake: "GET /chat HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + sampleKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n",
			status:    http.StatusUpgradeRequired,
			refuse:    ErrBadHandshake,
		},
		hostileCase{
			name:      "handshake: Upgrade token with a Kelvin sign",
			handshake: "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websoc\u212aet\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + sampleKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n",
			status:    http.StatusUpgradeRequired,
			refuse:    ErrBadHandshake,
		},
		hostileCase{
			name:      "handshake: garbage request line",
			handshake: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
			status:    http.StatusBadRequest,
		},
		hostileCase{
			name:      "handshake: no Host",
			handshake: "GET /chat HTTP/1.1\r\n" + standardLines + "\r\n",
			status:    http.StatusBadRequest,
		},
		hostileCase{
			name:      "handshake: oversized headers",
			handshake: request("GET /chat HTTP/1.1", "X-Pad: "+strings.Repeat("p", http.DefaultMaxHeaderBytes+8192)+"\r\n"),
			status:    http.StatusRequestHeaderFieldsTooLarge,
			maxAlloc:  headerAlloc,
		},
		hostileCase{
			name:      "handshake: 300,000 subprotocols offered",
			handshake: request("GET /chat HTTP/1.1", "Sec-WebSocket-Protocol: "+strings.Repeat("p, ", 300000)+"q\r\n"),
			frames:    []wstest.Frame{bye},
			sent:      StatusNormalClosure,
			closed:    StatusNormalClosure,
			maxAlloc:  headerAlloc,
		},
		hostileCase{
			// Only the first maxExtensionElements elements are looked at:
			// the valid offer at the end is declined, cheaply.
			name:      "handshake: 40,000 malformed extension offers",
			handshake: request("GET /chat HTTP/1.1", "Sec-WebSocket-Extensions: "+strings.Repeat("permessage-deflate; x=1, ", 40000)+"permessage-deflate\r\n"),
			frames:    []wstest.Frame{compressed(wstest.OpText, []byte("hello"))},
			sent:      StatusProtocolError,
			readErr:   ErrProtocol,
			maxAlloc:  headerAlloc,
		},
		hostileCase{
			name:      "handshake: a malformed extension offer of 40,000 parameters",
			handshake: request("GET /chat HTTP/1.1", "Sec-WebSocket-Extensions: permessage-deflate"+strings.Repeat("; x=1", 40000)+", permessage-deflate\r\n"),
			frames:    []wstest.Frame{compressed(wstest.OpText, []byte("hello")), bye},
			sent:      StatusNormalClosure,
			closed:    StatusNormalClosure,
			msgs:      1,
			maxAlloc:  headerAlloc,
		},
		hostileCase{
			name:      "handshake: pipelined first frame",
			handshake: request("GET /chat HTTP/1.1", ""),
			frames:    []wstest.Frame{frame(true, wstest.OpText, "early"), bye},
			sent:      StatusNormalClosure,
			closed:    StatusNormalClosure,
			msgs:      1,
		},
		hostileCase{
			name:      "handshake: pipelined unmasked frame",
			handshake: request("GET /chat HTTP/1.1", ""),
			raw:       rfcUnmaskedHello,
			sent:      StatusProtocolError,
			readErr:   ErrProtocol,
		},
		hostileCase{
			name:      "handshake: compressed frame after a malformed offer",
			handshake: request("GET /chat HTTP/1.1", "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=99\r\n"),
			frames:    []wstest.Frame{compressed(wstest.OpText, []byte("hello"))},
			sent:      StatusProtocolError,
			readErr:   ErrProtocol,
		},
	)
	for _, key := range []string{b64(15, 'k'), b64(17, 'k'), strings.TrimRight(b64(16, 'k'), "="), "AAAAAAAAAAAAAAAAAAAAAB=="} {
		cs = append(cs, hostileCase{
			name:      fmt.Sprintf("handshake: key %q", key),
			handshake: "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n",
			status:    http.StatusBadRequest,
			refuse:    ErrBadHandshake,
		})
	}

	// The opening handshake, against our client (RFC 6455 §4.1).
	const switching = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	for _, c := range []struct{ name, response string }{
		{"wrong accept", switching + "Sec-WebSocket-Accept: " + sampleAccept + "\r\n\r\n"},
		{"two accepts", switching + "Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"},
		{"200 instead of 101", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{"extension not offered", switching + "Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"},
		{"subprotocol not offered", switching + "Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: chat\r\n\r\n"},
		{"oversized headers", switching + "X-Pad: " + strings.Repeat("p", maxResponseHeaderBytes) + "\r\n\r\n"},
	} {
		hc := hostileCase{
			name:      "response: " + c.name,
			client:    true,
			handshake: c.response,
			refuse:    ErrBadHandshake,
		}
		if c.name == "oversized headers" {
			hc.refuse = errResponseTooLarge
			hc.maxAlloc = headerAlloc
		}
		cs = append(cs, hc)
	}
	cs = append(cs, hostileCase{
		name:   "response: pipelined first frame",
		client: true,
		frames: []wstest.Frame{frame(true, wstest.OpText, "early"), bye},
		sent:   StatusNormalClosure,
		closed: StatusNormalClosure,
		msgs:   1,
	})

	// Frames, against both roles.
	for _, ourClient := range []bool{false, true} {
		role := "server"
		if ourClient {
			role = "client"
		}
		add := func(c hostileCase) {
			c.name = role + ": " + c.name
			c.client = ourClient
			cs = append(cs, c)
		}
		violation := func(name string, raw []byte, frames ...wstest.Frame) {
			add(hostileCase{
				name:    name,
				frames:  frames,
				raw:     raw,
				sent:    StatusProtocolError,
				readErr: ErrProtocol,
			})
		}

		// §5.2 lengths and §10.4 limits: a declared length is never
		// allocated, only checked against the limit.
		add(hostileCase{
			name:    "header claiming 2^63-1 bytes",
			raw:     hdr(ourClient, 0x82, 1<<63-1),
			sent:    StatusMessageTooBig,
			readErr: ErrMessageTooBig,
		})
		violation("length with the most significant bit set", hdr(ourClient, 0x82, 1<<63))
		add(hostileCase{
			name:    "length one above the default limit",
			raw:     hdr(ourClient, 0x82, DefaultReadLimit+1),
			sent:    StatusMessageTooBig,
			readErr: ErrMessageTooBig,
		})
		add(hostileCase{
			name:    "length one above the limit",
			raw:     hdr(ourClient, 0x82, 1001),
			limit:   1000,
			sent:    StatusMessageTooBig,
			readErr: ErrMessageTooBig,
		})
		add(hostileCase{
			name:   "length exactly the limit",
			frames: []wstest.Frame{{Fin: true, Op: wstest.OpBinary, Payload: pattern(1000)}, bye},
			limit:  1000,
			sent:   StatusNormalClosure,
			closed: StatusNormalClosure,
			msgs:   1,
		})
		add(hostileCase{
			name:    "fragments one above the limit",
			frames:  []wstest.Frame{{Op: wstest.OpBinary, Payload: pattern(600)}},
			raw:     hdr(ourClient, 0x80, 401),
			limit:   1000,
			sent:    StatusMessageTooBig,
			readErr: ErrMessageTooBig,
		})
		add(hostileCase{
			name:     "100,000 one-byte fragments",
			frames:   append(oneByteFragments(wstest.OpText, 100000), bye),
			sent:     StatusNormalClosure,
			closed:   StatusNormalClosure,
			msgs:     1,
			maxAlloc: 1 << 20, // the message itself, grown as it arrives
		})
		add(hostileCase{
			name:     "100,000 one-byte fragments over a limit of 50,000",
			frames:   oneByteFragments(wstest.OpBinary, 100000),
			limit:    50000,
			sent:     StatusMessageTooBig,
			readErr:  ErrMessageTooBig,
			maxAlloc: 1 << 20,
		})
		add(hostileCase{
			name:   "100,000 empty fragments",
			frames: append(append([]wstest.Frame{{Op: wstest.OpText}}, make([]wstest.Frame, 99999)...), frame(true, wstest.OpContinuation, "end"), bye),
			sent:   StatusNormalClosure,
			closed: StatusNormalClosure,
			msgs:   1,
		})

		// §5.5 control frames.
		for _, op := range []byte{wstest.OpPing, wstest.OpPong, wstest.OpClose} {
			violation(fmt.Sprintf("control frame %#x of 126 bytes", op), nil, wstest.Frame{Fin: true, Op: op, Payload: append([]byte{0x03, 0xe8}, pattern(124)...)})
			violation(fmt.Sprintf("fragmented control frame %#x", op), nil, wstest.Frame{Op: op, Payload: []byte{0x03, 0xe8}})
		}
		violation("fragmented ping inside a message", nil, frame(false, wstest.OpText, "a"), frame(false, wstest.OpPing, "p"))

		// §5.1 masking.
		if ourClient {
			violation("masked server frame", rfcMaskedHello)
		} else {
			violation("unmasked client frame", rfcUnmaskedHello)
		}

		// §5.2 reserved opcodes and bits.
		for _, op := range []byte{3, 4, 5, 6, 7, 11, 12, 13, 14, 15} {
			violation(fmt.Sprintf("reserved opcode %d", op), nil, frame(true, op, "x"))
		}
		for _, rsv := range []byte{0x40, 0x20, 0x10, 0x70} {
			violation(fmt.Sprintf("RSV %#x on text", rsv), nil, wstest.Frame{Fin: true, RSV: rsv, Op: wstest.OpText, Payload: []byte("x")})
			violation(fmt.Sprintf("RSV %#x on ping", rsv), nil, wstest.Frame{Fin: true, RSV: rsv, Op: wstest.OpPing})
		}

		// §5.4 fragmentation.
		violation("continuation without a message", nil, frame(true, wstest.OpContinuation, "a"))
		violation("new message inside a fragmented one", nil, frame(false, wstest.OpText, "a"), frame(true, wstest.OpBinary, "b"))

		// §8.1 UTF-8, at every position of a 4-byte sequence.
		for _, tc := range invalidUTF8Cases() {
			add(hostileCase{
				name:    "invalid UTF-8, " + tc.name,
				frames:  []wstest.Frame{frame(true, wstest.OpText, tc.text)},
				sent:    StatusInvalidFramePayloadData,
				readErr: ErrInvalidUTF8,
			})
		}
		add(hostileCase{
			name:    "invalid UTF-8 across fragments",
			frames:  []wstest.Frame{frame(false, wstest.OpText, "ok \xf0\x9f"), frame(true, wstest.OpContinuation, "\x98(")},
			sent:    StatusInvalidFramePayloadData,
			readErr: ErrInvalidUTF8,
		})

		// §5.5.1 close payloads, §7.4 codes.
		violation("close with a 1-byte payload", nil, closeFrame([]byte{0x03}))
		for _, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535} {
			violation(fmt.Sprintf("close with code %d", code), nil, closeFrame(wstest.ClosePayload(code, "")))
		}
		add(hostileCase{
			name:    "close with an invalid reason",
			frames:  []wstest.Frame{closeFrame(wstest.ClosePayload(1000, "bye\xc0\xaf"))},
			sent:    StatusInvalidFramePayloadData,
			readErr: ErrInvalidUTF8,
		})
		add(hostileCase{
			name:   "data after close",
			frames: []wstest.Frame{bye, frame(true, wstest.OpText, "after"), frame(true, 0x3, "reserved")},
			raw:    []byte{0xff, 0xff, 0xff},
			sent:   StatusNormalClosure,
			closed: StatusNormalClosure,
		})
		add(hostileCase{
			name:   "close without a code",
			frames: []wstest.Frame{closeFrame(nil)},
			sent:   StatusNormalClosure,
			closed: StatusNoStatusRcvd,
		})

		// Connections that just end.
		add(hostileCase{name: "nothing after the handshake", closed: StatusAbnormalClosure})
		add(hostileCase{
			name:   "cut inside a frame",
			raw:    hdr(ourClient, 0x81, 100),
			closed: StatusAbnormalClosure,
		})

		// RFC 7692 permessage-deflate.
		add(hostileCase{
			name:     "decompression bomb",
			compress: true,
			frames:   []wstest.Frame{compressed(wstest.OpBinary, make([]byte, 64<<20))},
			sent:     StatusMessageTooBig,
			readErr:  ErrMessageTooBig,
			maxAlloc: 4 << 20, // the read buffer grows to the limit, never to 64 MiB
		})
		add(hostileCase{
			name:     "corrupt compressed data",
			compress: true,
			frames:   []wstest.Frame{{Fin: true, RSV: 0x40, Op: wstest.OpBinary, Payload: []byte{0xff, 0xff, 0xff}}},
			sent:     StatusProtocolError, // the code ErrProtocol documents
			readErr:  ErrProtocol,
		})
		add(hostileCase{
			name:     "compressed invalid UTF-8",
			compress: true,
			frames:   []wstest.Frame{compressed(wstest.OpText, []byte("ok \xed\xa0\x80"))},
			sent:     StatusInvalidFramePayloadData,
			readErr:  ErrInvalidUTF8,
		})
		add(hostileCase{
			name:     "compressed data ending early, then garbage",
			compress: true,
			// RFC 7692 §7.2.3.4: "Hello" in a block with BFINAL set, then
			// bytes that must not be read as frames.
			frames: []wstest.Frame{{Fin: true, RSV: 0x40, Op: wstest.OpText, Payload: []byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x81, 0x80, 0xff}}, bye},
			sent:   StatusNormalClosure,
			closed: StatusNormalClosure,
			msgs:   1,
		})
		for _, rsv := range []byte{0x20, 0x10} {
			violation(fmt.Sprintf("RSV %#x with compression", rsv), nil, wstest.Frame{Fin: true, RSV: 0x40 | rsv, Op: wstest.OpText, Payload: deflateSeed("x")})
			cs[len(cs)-1].compress = true
		}
		violation("RSV1 on a continuation", nil, wstest.Frame{Op: wstest.OpText, Payload: []byte("a")}, wstest.Frame{Fin: true, RSV: 0x40, Op: wstest.OpContinuation, Payload: []byte("b")})
		cs[len(cs)-1].compress = true
		violation("RSV1 on a ping", nil, wstest.Frame{Fin: true, RSV: 0x40, Op: wstest.OpPing})
		cs[len(cs)-1].compress = true
	}
	return cs
}

func TestHostileCatalogue(t *testing.T) {
	for _, tc := range hostileCatalogue() {
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			var out hostileOutcome
			var err error
			within(t, "the exchange", func() {
				if tc.client {
					out, err = runHostileClient(tc)
				} else {
					out, err = runHostileServer(tc)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			wantStatus := tc.status
			if wantStatus == 0 && tc.refuse == nil {
				wantStatus = http.StatusSwitchingProtocols
			}
			if !tc.client && out.status != wantStatus {
				t.Errorf("got HTTP status %d, want %d", out.status, wantStatus)
			}
			if tc.refuse != nil {
				if !errors.Is(out.refusal, tc.refuse) {
					t.Errorf("got handshake error %v, want %v", out.refusal, tc.refuse)
				}
			} else if out.refusal != nil {
				t.Errorf("got handshake error %v, want none", out.refusal)
			}
			if wantStatus == http.StatusSwitchingProtocols && tc.refuse == nil {
				if out.msgs != tc.msgs {
					t.Errorf("read %d messages, want %d", out.msgs, tc.msgs)
				}
				if tc.readErr != nil && !errors.Is(out.readErr, tc.readErr) {
					t.Errorf("got read error %v, want %v", out.readErr, tc.readErr)
				}
				if got := CloseStatus(out.readErr); got != tc.closed {
					t.Errorf("got read error %v (status %v), want status %v", out.readErr, got, tc.closed)
				}
				if out.sent != tc.sent {
					t.Errorf("peer received close code %v (%v), want %v", out.sent, out.peerErr, tc.sent)
				}
			}
			bound := tc.maxAlloc
			if bound == 0 {
				bound = hostileAlloc
			}
			if out.allocted > bound {
				t.Errorf("allocated %d bytes, want at most %d", out.allocted, bound)
			}
		})
	}
}
