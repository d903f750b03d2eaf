package websocket

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// checkUTF8 feeds p to a validator in the given chunks and checks the result
// against utf8.Valid and firstInvalid.
func checkUTF8(t *testing.T, p []byte, chunks []int) {
	t.Helper()
	fail := firstInvalid(p)
	var v utf8Validator
	off := 0
	ok := true
	for _, n := range chunks {
		got := v.valid(p[off : off+n])
		off += n
		switch {
		case ok && !got:
			ok = false
			// The chunk that says no must be the one holding the first
			// byte that makes the input invalid.
			if fail < 0 || fail > off || fail <= off-n {
				t.Fatalf("% x in chunks %v: valid() first false for bytes [%d,%d), want first invalid prefix %d",
					p, chunks, off-n, off, fail)
			}
		case !ok && got:
			t.Fatalf("% x in chunks %v: valid() true again at %d after false", p, chunks, off)
		case ok && fail >= 0 && fail <= off:
			t.Fatalf("% x in chunks %v: valid() true after %d bytes, want false from %d", p, chunks, off, fail)
		}
	}
	if off != len(p) {
		panic("chunks do not cover p")
	}
	if got, want := ok && v.complete(), utf8.Valid(p); got != want {
		t.Fatalf("% x in chunks %v: got valid and complete %v, want %v", p, chunks, got, want)
	}
	if want := fail < 0; ok != want {
		t.Fatalf("% x in chunks %v: got valid %v, want %v", p, chunks, ok, want)
	}
}

// oneChunk returns a chunking of n bytes as one piece.
func oneChunk(n int) []int { return []int{n} }

// byteChunks returns a chunking of n bytes one at a time.
func byteChunks(n int) []int {
	c := make([]int, n)
	for i := range c {
		c[i] = 1
	}
	return c
}

func TestUTF8Table(t *testing.T) {
	tests := []struct {
		name string
		in   string
		// failAt is the length of the shortest prefix that cannot become
		// valid, or 0 for valid input, or -1 for a valid but incomplete end.
		failAt int
	}{
		{name: "empty", in: "", failAt: 0},
		{name: "ascii", in: "Hello, world", failAt: 0},
		{name: "nul", in: "\x00", failAt: 0},
		{name: "two-byte", in: "κόσμε", failAt: 0},
		{name: "three-byte", in: "世界", failAt: 0},
		{name: "four-byte", in: "😀", failAt: 0},
		{name: "replacement char", in: "\uFFFD", failAt: 0},
		{name: "long ascii then multibyte", in: "0123456789abcdefé", failAt: 0},
		{name: "smallest 2", in: "\xc2\x80", failAt: 0},
		{name: "largest 2", in: "\xdf\xbf", failAt: 0},
		{name: "smallest 3", in: "\xe0\xa0\x80", failAt: 0},
		{name: "last before surrogates", in: "\xed\x9f\xbf", failAt: 0},
		{name: "first after surrogates", in: "\xee\x80\x80", failAt: 0},
		{name: "largest 3", in: "\xef\xbf\xbf", failAt: 0},
		{name: "smallest 4", in: "\xf0\x90\x80\x80", failAt: 0},
		{name: "max code point", in: "\xf4\x8f\xbf\xbf", failAt: 0},
		{name: "incomplete 2", in: "a\xc2", failAt: -1},
		{name: "incomplete 3", in: "\xe1\x80", failAt: -1},
		{name: "incomplete 4", in: "\xf0\x9f\x98", failAt: -1},
		{name: "incomplete max", in: "\xf4\x8f", failAt: -1},
		{name: "above max code point", in: "\xf4\x90\x80\x80", failAt: 2},
		{name: "f5 lead", in: "\xf5\x80\x80\x80", failAt: 1},
		{name: "ff", in: "ab\xff", failAt: 3},
		{name: "fe", in: "\xfe", failAt: 1},
		{name: "surrogate low end", in: "\xed\xa0\x80", failAt: 2},
		{name: "surrogate high end", in: "\xed\xbf\xbf", failAt: 2},
		{name: "surrogate pair", in: "\xed\xa0\x80\xed\xb0\x80", failAt: 2},
		{name: "overlong nul c0", in: "\xc0\x80", failAt: 1},
		{name: "overlong c1", in: "\xc1\xbf", failAt: 1},
		{name: "overlong 3", in: "\xe0\x80\x80", failAt: 2},
		{name: "overlong 3 max", in: "\xe0\x9f\xbf", failAt: 2},
		{name: "overlong 4", in: "\xf0\x80\x80\x80", failAt: 2},
		{name: "overlong 4 max", in: "\xf0\x8f\xbf\xbf", failAt: 2},
		{name: "five-byte form", in: "\xf8\x88\x80\x80\x80", failAt: 1},
		{name: "six-byte form", in: "\xfc\x84\x80\x80\x80\x80", failAt: 1},
		{name: "stray continuation", in: "\x80", failAt: 1},
		{name: "stray continuation after ascii", in: "abc\xbf", failAt: 4},
		{name: "continuation after complete", in: "\xc2\x80\x80", failAt: 3},
		{name: "ascii inside sequence", in: "\xe2\x82a", failAt: 3},
		{name: "lead inside sequence", in: "\xe2\xc2\x80", failAt: 2},
		{name: "invalid after 8 ascii", in: "abcdefgh\xc0", failAt: 9},
		{name: "invalid deep in block", in: "abcdefghijklmnop\xe0\xa0\x80xyz\xed\xa0", failAt: 24},
		// Autobahn 6.6.x: "κόσμε" with its last byte cut and completed.
		{name: "autobahn 6.6 cut", in: "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce", failAt: -1},
		// Autobahn 6.3.1: valid text then an invalid byte.
		{name: "autobahn 6.3", in: "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", failAt: 13},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := []byte(tt.in)
			if got := firstInvalid(p); tt.failAt > 0 && got != tt.failAt || tt.failAt <= 0 && got != -1 {
				t.Fatalf("reference: got first invalid prefix %d, want %d", got, tt.failAt)
			}
			if got, want := utf8.Valid(p), tt.failAt == 0; got != want {
				t.Fatalf("utf8.Valid: got %v, want %v", got, want)
			}
			checkUTF8(t, p, oneChunk(len(p)))
			checkUTF8(t, p, byteChunks(len(p)))
			for range 20 {
				checkUTF8(t, p, randomChunks(rng, len(p)))
			}
		})
	}
}

// TestUTF8EveryPosition puts every byte value at each position of a 4-byte
// sequence; a byte the grammar does not allow there must fail right there.
func TestUTF8EveryPosition(t *testing.T) {
	const seq = "\xf0\x9f\x98\x80" // U+1F600
	allowed := func(pos int, c byte) bool {
		switch pos {
		case 0:
			return c <= 0x7f || 0xc2 <= c && c <= 0xf4
		case 1:
			return 0x90 <= c && c <= 0xbf // after F0
		default:
			return 0x80 <= c && c <= 0xbf
		}
	}
	for pos := range len(seq) {
		for c := range 256 {
			p := []byte("ok " + seq + seq + " ok")
			i := len("ok ") + len(seq) + pos
			p[i] = byte(c)
			if !allowed(pos, byte(c)) {
				if got := firstInvalid(p); got != i+1 {
					t.Fatalf("pos %d byte %#02x: reference says %d, want %d", pos, c, got, i+1)
				}
			}
			checkUTF8(t, p, oneChunk(len(p)))
			checkUTF8(t, p, byteChunks(len(p)))
		}
	}
}

// TestUTF8Exhaustive checks every transition of the automaton: each byte
// value after each proper prefix of an encoded code point (and after none)
// must keep the input valid exactly when the reference says it can still
// become valid, and complete exactly when utf8.Valid accepts it.
func TestUTF8Exhaustive(t *testing.T) {
	prefixes := []string{""}
	for q := range utf8Prefixes() {
		prefixes = append(prefixes, q)
	}
	for _, q := range prefixes {
		var v utf8Validator
		if ok := v.valid([]byte(q)); !ok || v.complete() != (q == "") {
			t.Fatalf("% x: got valid %v complete %v, want valid, complete only if empty",
				q, ok, v.complete())
		}
		for c := range 256 {
			p := q + string([]byte{byte(c)})
			w := v // the validator is a value: copy it to branch
			want := utf8.ValidString(p) || utf8Prefixes()[p]
			if got := w.valid([]byte{byte(c)}); got != want {
				t.Fatalf("% x: got valid %v, want %v", p, got, want)
			}
			if got, want := w.complete(), utf8.ValidString(p); got != want {
				t.Fatalf("% x: got complete %v, want %v", p, got, want)
			}
		}
	}
}

// TestUTF8Differential compares with utf8.Valid and firstInvalid on random
// text, mostly valid with occasional damage, in random pieces.
func TestUTF8Differential(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 5000 {
		p := randomText(rng, rng.IntN(300))
		if rng.IntN(2) == 0 && len(p) > 0 {
			p[rng.IntN(len(p))] = byte(rng.Uint32())
		}
		checkUTF8(t, p, randomChunks(rng, len(p)))
	}
}

func TestUTF8Reset(t *testing.T) {
	var v utf8Validator
	if v.valid([]byte("\xc0")) {
		t.Fatal("got valid for c0, want invalid")
	}
	if v.valid([]byte("a")) || v.complete() {
		t.Fatal("got valid after invalid input, want invalid to stick")
	}
	v.reset()
	if !v.valid([]byte("\xe2\x82")) || v.complete() {
		t.Fatal("after reset: want valid, incomplete")
	}
	if !v.valid([]byte("\xac")) || !v.complete() {
		t.Fatal("after reset: want valid, complete")
	}
}

func TestUTF8Allocs(t *testing.T) {
	if raceEnabled {
		t.Skip("AllocsPerRun is unreliable under the race detector")
	}
	p := randomText(rand.New(rand.NewPCG(7, 8)), 1000)
	allocs := testing.AllocsPerRun(100, func() {
		var v utf8Validator
		v.valid(p[:333])
		v.valid(p[333:])
		v.complete()
		v.reset()
	})
	if allocs != 0 {
		t.Errorf("got %v allocs per run, want 0", allocs)
	}
}

// FuzzUTF8 feeds data in pieces chosen by seed and compares the outcome with
// utf8.Valid and the first-invalid-prefix reference.
func FuzzUTF8(f *testing.F) {
	f.Add([]byte("κόσμε"), uint64(0))
	f.Add([]byte("\xf4\x90\x80\x80"), uint64(1))
	f.Add([]byte("abcdefghij\xed\xa0\x80"), uint64(2))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, seed>>32))
		checkUTF8(t, data, oneChunk(len(data)))
		checkUTF8(t, data, randomChunks(rng, len(data)))
	})
}

func BenchmarkUTF8(b *testing.B) {
	texts := []struct {
		name   string
		sample string
	}{
		{name: "ascii", sample: "The quick brown fox jumps over the lazy dog. "},
		{name: "mixed", sample: "Hello, 世界! Καλημέρα κόσμε. Grüße aus Köln 😀 — ¿qué tal? "},
	}
	impls := []struct {
		name string
		fn   func([]byte) bool
	}{
		{name: "incremental", fn: func(p []byte) bool {
			var v utf8Validator
			return v.valid(p) && v.complete()
		}},
		{name: "utf8.Valid", fn: utf8.Valid},
	}
	for _, text := range texts {
		for _, size := range []int{16, 125, 1024, 4096, 32768, 1 << 20} {
			p := benchText(text.sample, size)
			for _, impl := range impls {
				b.Run(fmt.Sprintf("text=%s/size=%d/impl=%s", text.name, size, impl.name), func(b *testing.B) {
					b.SetBytes(int64(size))
					b.ReportAllocs()
					for b.Loop() {
						if !impl.fn(p) {
							b.Fatal("got invalid, want valid")
						}
					}
				})
			}
		}
	}
}

// benchText repeats sample to exactly size bytes of valid UTF-8, padding the
// end with ASCII where a code point would not fit.
func benchText(sample string, size int) []byte {
	var p []byte
	for len(p) < size {
		for _, r := range sample {
			if len(p)+utf8.RuneLen(r) > size {
				break
			}
			p = utf8.AppendRune(p, r)
		}
		if len(p)+utf8.UTFMax > size {
			p = append(p, bytes.Repeat([]byte{' '}, size-len(p))...)
		}
	}
	return p
}
