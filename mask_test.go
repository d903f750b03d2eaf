package websocket

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// maskNaive is the reference: RFC 6455 §5.3 transcribed one byte at a time.
// It returns the key rotated by len(b) bytes, like mask.
func maskNaive(key uint32, b []byte) uint32 {
	var k [4]byte
	binary.LittleEndian.PutUint32(k[:], key)
	for i := range b {
		b[i] ^= k[i%4]
	}
	return bits.RotateLeft32(key, -8*(len(b)%4))
}

// maskKeyRFC is the masking key of the examples in RFC 6455 §5.7.
var maskKeyRFC = binary.LittleEndian.Uint32([]byte{0x37, 0xfa, 0x21, 0x3d})

func TestMaskVectors(t *testing.T) {
	tests := []struct {
		name    string
		key     uint32
		in      string
		want    []byte
		wantKey uint32
	}{
		{
			name:    "empty",
			key:     maskKeyRFC,
			in:      "",
			want:    []byte{},
			wantKey: maskKeyRFC,
		},
		{
			// RFC 6455 §5.7: "A single-frame masked text message".
			name:    "rfc hello",
			key:     maskKeyRFC,
			in:      "Hello",
			want:    []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58},
			wantKey: binary.LittleEndian.Uint32([]byte{0xfa, 0x21, 0x3d, 0x37}),
		},
		{
			// 'H'^0x37 = 0x7f, 'i'^0xfa = 0x93.
			name:    "rfc key hi",
			key:     maskKeyRFC,
			in:      "Hi",
			want:    []byte{0x7f, 0x93},
			wantKey: binary.LittleEndian.Uint32([]byte{0x21, 0x3d, 0x37, 0xfa}),
		},
		{
			name:    "rfc key four bytes",
			key:     maskKeyRFC,
			in:      "Hell",
			want:    []byte{0x7f, 0x9f, 0x4d, 0x51},
			wantKey: maskKeyRFC,
		},
		{
			name:    "zero key",
			key:     0,
			in:      "Hello",
			want:    []byte("Hello"),
			wantKey: 0,
		},
		{
			name:    "rfc key sixteen bytes",
			key:     maskKeyRFC,
			in:      "HelloHelloHelloH",
			want:    []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58, 0xb2, 0x44, 0x51, 0x5b, 0x95, 0x69, 0x58, 0x5b, 0x96, 0x4e, 0x75},
			wantKey: maskKeyRFC,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.in)
			gotKey := mask(tt.key, b)
			if !bytes.Equal(b, tt.want) {
				t.Errorf("got % x, want % x", b, tt.want)
			}
			if gotKey != tt.wantKey {
				t.Errorf("got key %#08x, want %#08x", gotKey, tt.wantKey)
			}
			mask(tt.key, b)
			if string(b) != tt.in {
				t.Errorf("unmask: got %q, want %q", b, tt.in)
			}
		})
	}
}

// TestMaskFragments masks "Hello" as the two fragments "Hel" and "lo", the
// split RFC 6455 §5.7 uses for its fragmented message, continuing the key.
func TestMaskFragments(t *testing.T) {
	b := []byte("Hello")
	key := mask(maskKeyRFC, b[:3])
	if want := binary.LittleEndian.Uint32([]byte{0x3d, 0x37, 0xfa, 0x21}); key != want {
		t.Fatalf("got key %#08x after 3 bytes, want %#08x", key, want)
	}
	mask(key, b[3:])
	if want := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}; !bytes.Equal(b, want) {
		t.Errorf("got % x, want % x", b, want)
	}
}

// TestMaskDifferential compares mask with maskNaive for every length up to
// 300, random keys, unaligned starts and random chunkings.
func TestMaskDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 300+8)
	for n := 0; n <= 300; n++ {
		for range 20 {
			key := rng.Uint32()
			off := rng.IntN(8)
			src := buf[off : off+n]
			for i := range src {
				src[i] = byte(rng.Uint32())
			}
			want := bytes.Clone(src)
			wantKey := maskNaive(key, want)

			got := bytes.Clone(src)
			if gotKey := mask(key, got); !bytes.Equal(got, want) || gotKey != wantKey {
				t.Fatalf("len %d key %#08x: got % x key %#08x, want % x key %#08x",
					n, key, got, gotKey, want, wantKey)
			}

			// Masking in place at an unaligned offset must agree too.
			if gotKey := mask(key, src); !bytes.Equal(src, want) || gotKey != wantKey {
				t.Fatalf("len %d offset %d: got % x, want % x", n, off, src, want)
			}

			got = bytes.Clone(want)
			maskNaive(key, got) // back to the original
			k := key
			for rest := got; len(rest) > 0; {
				c := 1 + rng.IntN(len(rest))
				k = mask(k, rest[:c])
				rest = rest[c:]
			}
			if !bytes.Equal(got, want) || k != wantKey {
				t.Fatalf("len %d key %#08x chunked: got % x key %#08x, want % x key %#08x",
					n, key, got, k, want, wantKey)
			}
		}
	}
}

func TestMaskAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("AllocsPerRun is unreliable under the race detector")
	}
	b := make([]byte, 1000)
	allocs := testing.AllocsPerRun(100, func() {
		mask(maskKeyRFC, b)
		mask(maskKeyRFC, b[3:])
	})
	if allocs != 0 {
		t.Errorf("got %v allocs per run, want 0", allocs)
	}
}

// FuzzMask checks mask against maskNaive for arbitrary data and keys, once
// in one call and once split into two chunks at split.
func FuzzMask(f *testing.F) {
	f.Add([]byte("Hello"), maskKeyRFC, uint16(3))
	f.Add(bytes.Repeat([]byte{0xa5}, 300), uint32(0xdeadbeef), uint16(129))
	f.Fuzz(func(t *testing.T, data []byte, key uint32, split uint16) {
		want := bytes.Clone(data)
		wantKey := maskNaive(key, want)

		got := bytes.Clone(data)
		if gotKey := mask(key, got); !bytes.Equal(got, want) || gotKey != wantKey {
			t.Fatalf("got % x key %#08x, want % x key %#08x", got, gotKey, want, wantKey)
		}

		got = bytes.Clone(data)
		s := 0
		if len(got) > 0 {
			s = int(split) % (len(got) + 1)
		}
		gotKey := mask(mask(key, got[:s]), got[s:])
		if !bytes.Equal(got, want) || gotKey != wantKey {
			t.Fatalf("split at %d: got % x key %#08x, want % x key %#08x", s, got, gotKey, want, wantKey)
		}
	})
}

func BenchmarkMask(b *testing.B) {
	impls := []struct {
		name string
		fn   func(uint32, []byte) uint32
	}{
		{name: "unrolled", fn: mask},
		{name: "naive", fn: maskNaive},
	}
	for _, size := range []int{16, 125, 1024, 4096, 32768, 1 << 20} {
		for _, impl := range impls {
			b.Run(fmt.Sprintf("size=%d/impl=%s", size, impl.name), func(b *testing.B) {
				p := make([]byte, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					impl.fn(maskKeyRFC, p)
				}
			})
		}
	}
}
