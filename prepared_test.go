package websocket

import (
	"bytes"
	"compress/flate"
	"context"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wsforge/websocket/internal/wstest"
)

// fakeConn returns a Conn over an in-memory connection whose writes go to
// w, with permessage-deflate state when deflate is not nil.
func fakeConn(w io.Writer, client bool, deflate *deflateState) *Conn {
	cfg := (*UpgradeOptions)(nil).connConfig()
	cfg.deflate = deflate
	return newConn(&wstest.FakeConn{W: w}, nil, client, cfg)
}

// inflateMessage inflates a compressed message's payload (RFC 7692 §7.2.2)
// that may refer back to the messages inflated before, in history.
func inflateMessage(t *testing.T, p, history []byte) []byte {
	t.Helper()
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(p), bytes.NewReader(inflateEnd)), history)
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return out
}

func TestWritePreparedFrames(t *testing.T) {
	compressible := []byte(strings.Repeat("the same words again and again; ", 64))
	random := make([]byte, 2048)
	rand.NewChaCha8([32]byte{1}).Read(random)
	tests := []struct {
		name       string
		client     bool
		deflate    *deflateState
		off        bool // SetCompression(false)
		payload    []byte
		wantRSV1   bool
		wantShared bool // the frame is pm's own bytes
	}{
		{
			name:       "server plain",
			payload:    compressible,
			wantShared: true,
		},
		{
			name:    "client plain",
			client:  true,
			payload: compressible,
		},
		{
			name:       "server no context takeover",
			deflate:    newDeflateState(&CompressionOptions{}, true, false, 15, 15),
			payload:    compressible,
			wantRSV1:   true,
			wantShared: true,
		},
		{
			name:     "server context takeover",
			deflate:  newDeflateState(&CompressionOptions{}, false, false, 15, 15),
			payload:  compressible,
			wantRSV1: true,
		},
		{
			name:     "client no context takeover",
			client:   true,
			deflate:  newDeflateState(&CompressionOptions{Level: flate.BestCompression}, true, false, 15, 15),
			payload:  compressible,
			wantRSV1: true,
		},
		{
			name:       "server below threshold",
			deflate:    newDeflateState(&CompressionOptions{}, true, false, 15, 15),
			payload:    compressible[:100],
			wantShared: true,
		},
		{
			name:       "server compression off",
			deflate:    newDeflateState(&CompressionOptions{}, true, false, 15, 15),
			off:        true,
			payload:    compressible,
			wantShared: true,
		},
		{
			name:       "server incompressible",
			deflate:    newDeflateState(&CompressionOptions{}, true, false, 15, 15),
			payload:    random,
			wantShared: true,
		},
		{
			name:       "server empty",
			payload:    nil,
			wantShared: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			pm, err := NewPreparedMessage(MessageText, tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			var wire bytes.Buffer
			c := fakeConn(&wire, tt.client, tt.deflate)
			if tt.off {
				c.SetCompression(false)
			}
			// Twice: a cached frame must serve again, and context
			// takeover must carry over.
			var history []byte
			var wireBytes uint64
			for i := range 2 {
				wire.Reset()
				if err := c.WritePrepared(context.Background(), pm); err != nil {
					t.Fatalf("WritePrepared: %v", err)
				}
				sent := bytes.Clone(wire.Bytes())
				peer := wstest.NewRawPeer(&wstest.FakeConn{R: &wire}, !tt.client)
				f, err := peer.ReadFrame()
				if err != nil {
					t.Fatalf("message %d: ReadFrame: %v", i, err)
				}
				if !f.Fin || f.Op != wstest.OpText || f.Masked != tt.client {
					t.Errorf("message %d: got fin %v op %d masked %v, want true 1 %v", i, f.Fin, f.Op, f.Masked, tt.client)
				}
				if got := f.RSV&bitRSV1 != 0; got != tt.wantRSV1 {
					t.Errorf("message %d: got RSV1 %v, want %v", i, got, tt.wantRSV1)
				}
				wireBytes += uint64(len(f.Payload))
				if st := c.Stats(); st.MessagesOut != uint64(i+1) || st.BytesOut != wireBytes {
					t.Errorf("message %d: got Stats %d messages %d bytes, want %d and %d", i, st.MessagesOut, st.BytesOut, i+1, wireBytes)
				}
				got := f.Payload
				if tt.wantRSV1 {
					got = inflateMessage(t, got, history)
					history = append(history, got...)
				}
				if !bytes.Equal(got, tt.payload) {
					t.Errorf("message %d: got payload of %d bytes, want the %d sent", i, len(got), len(tt.payload))
				}
				if wire.Len() != 0 {
					t.Errorf("message %d: got %d bytes after the frame, want none", i, wire.Len())
				}
				shared := bytes.Equal(sent, pm.frame)
				if fr, _ := pm.compressed(DefaultCompressionLevel); tt.wantRSV1 && fr != nil {
					shared = bytes.Equal(sent, fr)
				}
				if tt.wantShared && !shared {
					t.Errorf("message %d: got a frame of its own, want the shared one", i)
				}
			}
		})
	}
}

// A server's prepared frame is byte for byte what Write sends.
func TestWritePreparedMatchesWrite(t *testing.T) {
	for _, size := range []int{0, 125, 126, 65535, 65536, 1 << 20} {
		p := bytes.Repeat([]byte{'x'}, size)
		var viaWrite, viaPrepared bytes.Buffer
		if err := fakeConn(&viaWrite, false, nil).Write(context.Background(), MessageBinary, p); err != nil {
			t.Fatal(err)
		}
		pm, _ := NewPreparedMessage(MessageBinary, p)
		if err := fakeConn(&viaPrepared, false, nil).WritePrepared(context.Background(), pm); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(viaWrite.Bytes(), viaPrepared.Bytes()) {
			t.Errorf("size %d: WritePrepared sent %d bytes unlike Write's %d", size, viaPrepared.Len(), viaWrite.Len())
		}
	}
}

func TestNewPreparedMessage(t *testing.T) {
	if _, err := NewPreparedMessage(MessageType(9), nil); err == nil {
		t.Error("got nil error for message type 9, want one")
	}
	p := []byte("hello")
	pm, err := NewPreparedMessage(MessageBinary, p)
	if err != nil {
		t.Fatal(err)
	}
	p[0] = 'j' // the caller may reuse p
	if pm.typ != MessageBinary || string(pm.payload) != "hello" {
		t.Errorf("got %v %q, want binary \"hello\"", pm.typ, pm.payload)
	}
}

// Prepared messages reach real peers whatever was negotiated, in order,
// and one compressed frame serves every no-context-takeover connection.
func TestWritePreparedRoundTrip(t *testing.T) {
	msgs := make([]*PreparedMessage, 3)
	for i := range msgs {
		msgs[i], _ = NewPreparedMessage(MessageText, []byte(strings.Repeat("message "+string(rune('a'+i))+" ", 100)))
	}
	tests := []struct {
		name       string
		so         *UpgradeOptions
		co         *DialOptions
		fromClient bool
	}{
		{name: "plain"},
		{
			name: "server no context takeover",
			so:   &UpgradeOptions{Compression: &CompressionOptions{ServerNoContextTakeover: true}},
			co:   &DialOptions{Compression: &CompressionOptions{}},
		},
		{
			name: "server context takeover",
			so:   &UpgradeOptions{Compression: &CompressionOptions{}},
			co:   &DialOptions{Compression: &CompressionOptions{}},
		},
		{
			name:       "client no context takeover",
			so:         &UpgradeOptions{Compression: &CompressionOptions{}},
			co:         &DialOptions{Compression: &CompressionOptions{ClientNoContextTakeover: true}},
			fromClient: true,
		},
		{
			name:       "client plain",
			fromClient: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			for range 2 {
				server, client := newPair(t, tt.so, tt.co)
				from, to := server, client
				if tt.fromClient {
					from, to = client, server
				}
				for _, pm := range msgs {
					if err := from.WritePrepared(ctx, pm); err != nil {
						t.Fatalf("WritePrepared: %v", err)
					}
					typ, got, err := to.Read(ctx, nil)
					if err != nil || typ != MessageText || !bytes.Equal(got, pm.payload) {
						t.Fatalf("got %v %d bytes %v, want text of %d bytes", typ, len(got), err, len(pm.payload))
					}
				}
			}
		})
	}
}

func TestWritePreparedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("AllocsPerRun is unreliable under the race detector")
	}
	pm, _ := NewPreparedMessage(MessageText, bytes.Repeat([]byte("abc "), 256))
	for _, tt := range []struct {
		name    string
		deflate *deflateState
	}{
		{name: "plain"},
		{name: "compressed", deflate: newDeflateState(&CompressionOptions{}, true, false, 15, 15)},
	} {
		c := fakeConn(nil, false, tt.deflate)
		ctx := context.Background()
		if n := testing.AllocsPerRun(100, func() { c.WritePrepared(ctx, pm) }); n != 0 {
			t.Errorf("%s: got %v allocations per WritePrepared, want 0", tt.name, n)
		}
	}
}
