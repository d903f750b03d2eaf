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
		compress   *CompressionOptions // permessage-deflate, as if negotiated
		off        bool                // SetCompression(false)
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
			compress:   &CompressionOptions{ServerNoContextTakeover: true},
			payload:    compressible,
			wantRSV1:   true,
			wantShared: true,
		},
		{
			name:     "server context takeover",
			compress: &CompressionOptions{},
			payload:  compressible,
			wantRSV1: true,
		},
		{
			name:     "client no context takeover",
			client:   true,
			compress: &CompressionOptions{Level: flate.BestCompression, ClientNoContextTakeover: true},
			payload:  compressible,
			wantRSV1: true,
		},
		{
			name:       "server below threshold",
			compress:   &CompressionOptions{ServerNoContextTakeover: true},
			payload:    compressible[:100],
			wantShared: true,
		},
		{
			name:       "server compression off",
			compress:   &CompressionOptions{ServerNoContextTakeover: true},
			off:        true,
			payload:    compressible,
			wantShared: true,
		},
		{
			name:       "server incompressible",
			compress:   &CompressionOptions{ServerNoContextTakeover: true},
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
			c := newFakeConn(tt.client, nil, &wire, &UpgradeOptions{Compression: tt.compress})
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
		if err := newFakeConn(false, nil, &viaWrite, nil).Write(context.Background(), MessageBinary, p); err != nil {
			t.Fatal(err)
		}
		pm, _ := NewPreparedMessage(MessageBinary, p)
		if err := newFakeConn(false, nil, &viaPrepared, nil).WritePrepared(context.Background(), pm); err != nil {
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
		name     string
		compress *CompressionOptions
	}{
		{name: "plain"},
		{name: "compressed", compress: &CompressionOptions{ServerNoContextTakeover: true}},
	} {
		c := newFakeConn(false, nil, nil, &UpgradeOptions{Compression: tt.compress})
		ctx := context.Background()
		if n := testing.AllocsPerRun(100, func() { c.WritePrepared(ctx, pm) }); n != 0 {
			t.Errorf("%s: got %v allocations per WritePrepared, want 0", tt.name, n)
		}
	}
}
