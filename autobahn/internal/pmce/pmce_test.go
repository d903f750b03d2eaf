package pmce

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestParseHeader(t *testing.T) {
	exts, err := ParseHeader([]string{`permessage-deflate; client_max_window_bits, permessage-deflate ;server_max_window_bits="10"`, "x-foo"})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(exts)
	want := "[{permessage-deflate [{client_max_window_bits  false}]} {permessage-deflate [{server_max_window_bits 10 true}]} {x-foo []}]"
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	for _, bad := range []string{"permessage-deflate; a=\"b c\"", "permessage-deflate;", "permessage-deflate x", `p; a="b`} {
		if _, err := ParseHeader([]string{bad}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestOfferAndAccept(t *testing.T) {
	o := Requesting(true, 9)
	if s := o.String(); s != "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=9" {
		t.Errorf("offer %q", s)
	}
	exts, err := ParseHeader([]string{o.String()})
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseOffer(exts[0])
	if err != nil || back != o {
		t.Fatalf("parsed %+v, %v; want %+v", back, err, o)
	}
	a := Accept{Offer: back, RequestNoContextTakeover: true, RequestMaxWindowBits: 9}
	if s := a.String(); s != "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_no_context_takeover; client_max_window_bits=9" {
		t.Errorf("accept %q", s)
	}
	exts, _ = ParseHeader([]string{a.String()})
	r, err := ParseResponse(exts[0], []Offer{o})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Params(), (Params{true, 9, true, 9}); got != want {
		t.Errorf("client params %+v, want %+v", got, want)
	}
	if got, want := a.Params(), (Params{true, 9, true, 9}); got != want {
		t.Errorf("server params %+v, want %+v", got, want)
	}
	// A response that ignores what was requested does not fit.
	exts, _ = ParseHeader([]string{"permessage-deflate; server_max_window_bits=12"})
	if _, err := ParseResponse(exts[0], []Offer{o}); err == nil {
		t.Error("response without server_no_context_takeover accepted")
	}
	if _, err := ParseResponse(exts[0], []Offer{o, DefaultOffer()}); err != nil {
		t.Errorf("response fitting the second offer: %v", err)
	}
	for _, bad := range []string{"permessage-deflate; server_max_window_bits=7", "permessage-deflate; server_max_window_bits=010",
		"permessage-deflate; client_no_context_takeover=1", "permessage-deflate; foo", "permessage-deflate; server_max_window_bits"} {
		exts, _ := ParseHeader([]string{bad})
		if _, err := ParseOffer(exts[0]); err == nil {
			t.Errorf("offer %q accepted", bad)
		}
	}
}

// stream is JSON-like text long enough to need several windows.
func stream(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"name":"item-%d","tags":["a%d","b%d"]},`, i, i*7%13, i%5, i%11)
	}
	return b.Bytes()[:n]
}

func TestRoundTrip(t *testing.T) {
	data := stream(300_000)
	sizes := []int{0, 1, 16, 100, 1000, 5000, 40_000, 131_072}
	for _, p := range []Params{
		{false, 15, false, 15}, {true, 15, true, 15}, {false, 9, false, 9}, {true, 8, true, 8},
	} {
		t.Run(p.String(), func(t *testing.T) {
			d, f := NewDeflater(p), NewInflater(p)
			defer d.Release()
			// The peer's decompressor: a zlib-like streaming reader over all
			// messages, each followed by the restored tail.
			var all, plain bytes.Buffer
			pos := 0
			for i := 0; i < 40; i++ {
				n := sizes[i%len(sizes)]
				msg := data[pos : pos+n]
				pos = (pos + n) % (len(data) - 131_072)
				c := d.Compress(msg)
				all.Write(c)
				all.Write(syncTail)
				plain.Write(msg)
				got, err := f.Inflate(c, 0)
				if err != nil {
					t.Fatalf("message %d (%d octets): %v", i, n, err)
				}
				if !bytes.Equal(got, msg) {
					t.Fatalf("message %d: round trip differs", i)
				}
			}
			// The messages also form one stream for a streaming decompressor,
			// as a peer keeping its context sees them.
			all.Write(finalBlock)
			got, err := io.ReadAll(flate.NewReader(&all))
			if err != nil || !bytes.Equal(got, plain.Bytes()) {
				t.Errorf("as one stream: %v", err)
			}
		})
	}
}

func TestWindowHonoured(t *testing.T) {
	// With a window below 15 bits the compressor must not refer back at all:
	// a decompressor without history and with a tiny dictionary accepts it.
	data := bytes.Repeat([]byte("abcdefgh"), 10_000)
	d := NewDeflater(Params{SendNoContextTakeover: false, SendWindowBits: 9})
	f := NewInflater(Params{RecvNoContextTakeover: true, RecvWindowBits: 9})
	for i := 0; i < 3; i++ {
		got, err := f.Inflate(d.Compress(data), 0)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	// Without context takeover on the receiving side, a reference into an
	// earlier message fails.
	d = NewDeflater(Params{SendWindowBits: 15})
	f = NewInflater(Params{RecvNoContextTakeover: true, RecvWindowBits: 15})
	msg := stream(10_000)
	if _, err := f.Inflate(d.Compress(msg), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Inflate(d.Compress(msg), 0); err == nil {
		t.Error("a back-reference into the previous message inflated without context")
	}
}

func TestInflateErrors(t *testing.T) {
	f := NewInflater(Params{RecvWindowBits: 15})
	if _, err := f.Inflate([]byte{0xff, 0xff, 0xff}, 0); err == nil {
		t.Error("garbage inflated")
	}
	d := NewDeflater(Params{SendWindowBits: 15, SendNoContextTakeover: true})
	big := bytes.Repeat([]byte{'x'}, 100_000)
	f = NewInflater(Params{RecvWindowBits: 15})
	if _, err := f.Inflate(d.Compress(big), 1000); err != ErrTooLarge {
		t.Errorf("limit: %v", err)
	}
	// A message ending with a final block, then garbage.
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, 1)
	w.Write([]byte("hello"))
	w.Close()
	f = NewInflater(Params{RecvWindowBits: 15})
	if got, err := f.Inflate(b.Bytes(), 0); err != nil || string(got) != "hello" {
		t.Errorf("final block: %q %v", got, err)
	}
	if _, err := f.Inflate(append(b.Bytes(), 1, 2, 3), 0); err == nil || !strings.Contains(err.Error(), "after the end") {
		t.Errorf("trailing garbage: %v", err)
	}
}

// TestMemo checks that the inflater's memory of earlier results is used only
// for the same payload with the same history.
func TestMemo(t *testing.T) {
	p := Params{SendWindowBits: 15, RecvWindowBits: 15}
	text := stream(60_000)
	a, b, c := text[:20_000], text[20_000:40_000], bytes.ToUpper(text[40_000:60_000])
	d := NewDeflater(p)
	za := bytes.Clone(d.Compress(a))
	zb := bytes.Clone(d.Compress(b)) // refers back into a
	f := NewInflater(p)
	for i, z := range [][]byte{za, zb} {
		if _, err := f.Inflate(z, 0); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if len(f.memo.entries) != 2 {
		t.Fatalf("%d remembered messages, want 2", len(f.memo.entries))
	}
	// The same payload after other octets: the history differs, so the
	// result must not come from memory.
	f.Remember(c)
	if got, err := f.Inflate(zb, 0); err == nil && bytes.Equal(got, b) {
		t.Error("payload inflated to the remembered result under a different history")
	}
	// Again after a, b: the history is the same as when zb was first seen.
	g := NewInflater(p)
	g.memo = f.memo
	g.Remember(a)
	if got, err := g.Inflate(zb, 0); err != nil || !bytes.Equal(got, b) {
		t.Errorf("remembered result: %v", err)
	}
}
