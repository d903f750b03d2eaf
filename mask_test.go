package websocket

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"testing"
)

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
			key:     rfcKeyWord,
			in:      "",
			want:    []byte{},
			wantKey: rfcKeyWord,
		},
		{
			// RFC 6455 §5.7: "A single-frame masked text message".
			name:    "rfc hello",
			key:     rfcKeyWord,
			in:      "Hello",
			want:    []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58},
			wantKey: binary.LittleEndian.Uint32([]byte{0xfa, 0x21, 0x3d, 0x37}),
		},
		{
			// 'H'^0x37 = 0x7f, 'i'^0xfa = 0x93.
			name:    "rfc key hi",
			key:     rfcKeyWord,
			in:      "Hi",
			want:    []byte{0x7f, 0x93},
			wantKey: binary.LittleEndian.Uint32([]byte{0x21, 0x3d, 0x37, 0xfa}),
		},
		{
			name:    "rfc key four bytes",
			key:     rfcKeyWord,
			in:      "Hell",
			want:    []byte{0x7f, 0x9f, 0x4d, 0x51},
			wantKey: rfcKeyWord,
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
			key:     rfcKeyWord,
			in:      "HelloHelloHelloH",
			want:    []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58, 0xb2, 0x44, 0x51, 0x5b, 0x95, 0x69, 0x58, 0x5b, 0x96, 0x4e, 0x75},
			wantKey: rfcKeyWord,
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
	key := mask(rfcKeyWord, b[:3])
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
		mask(rfcKeyWord, b)
		mask(rfcKeyWord, b[3:])
	})
	if allocs != 0 {
		t.Errorf("got %v allocs per run, want 0", allocs)
	}
}

// maskPath is one implementation of mask.
type maskPath struct {
	name string
	fn   func(uint32, []byte) uint32
}

// maskPaths returns every path mask can take on this build, each forced
// directly, and mask itself: maskGo always, maskVector when the CPU has
// it (AVX2 on amd64, NEON on arm64).
func maskPaths() []maskPath {
	paths := []maskPath{{name: "mask", fn: mask}, {name: "go", fn: maskGo}}
	if haveVector {
		paths = append(paths, maskPath{name: maskVectorName, fn: maskVector})
	}
	return paths
}

// checkMaskPath masks data with fn in place at offset off of a larger
// buffer, in one call or, when split <= len(data), in two calls that
// thread the key, and compares the bytes, the returned key and the bytes
// around the payload with maskNaive.
func checkMaskPath(t *testing.T, p maskPath, data []byte, key uint32, off, split int) {
	t.Helper()
	const guard = 64
	want := bytes.Clone(data)
	wantKey := maskNaive(key, want)

	buf := make([]byte, off+len(data)+guard)
	for i := range buf {
		buf[i] = byte(i*7 + 0x3c)
	}
	orig := bytes.Clone(buf)
	got := buf[off : off+len(data)]
	copy(got, data)
	var gotKey uint32
	if split <= len(data) {
		gotKey = p.fn(p.fn(key, got[:split]), got[split:])
	} else {
		gotKey = p.fn(key, got)
	}
	if !bytes.Equal(got, want) || gotKey != wantKey {
		t.Fatalf("%s: len %d, key %#08x, offset %d, split %d: got key %#08x, want %#08x; bytes equal: %v",
			p.name, len(data), key, off, split, gotKey, wantKey, bytes.Equal(got, want))
	}
	if !bytes.Equal(buf[:off], orig[:off]) || !bytes.Equal(buf[off+len(data):], orig[off+len(data):]) {
		t.Fatalf("%s: len %d, offset %d: wrote outside the payload", p.name, len(data), off)
	}
}

// TestMaskPaths compares every path with maskNaive for every length up to
// 300 and a few longer ones, every key phase and every offset in a 32-byte
// block, in one call.
func TestMaskPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	lengths := make([]int, 0, 320)
	for n := 0; n <= 300; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 511, 512, 513, 1023, 1024, 1025, 4095, 4096, 65537)
	key := rng.Uint32()
	for _, p := range maskPaths() {
		t.Run(p.name, func(t *testing.T) {
			for _, n := range lengths {
				data := make([]byte, n)
				for i := range data {
					data[i] = byte(rng.Uint32())
				}
				for phase := range 4 {
					k := bits.RotateLeft32(key, -8*phase)
					for off := range 32 {
						checkMaskPath(t, p, data, k, off, n+1)
					}
				}
			}
		})
	}
}

// FuzzMask checks every path of mask (mask itself, maskGo and the vector
// path when the CPU has it, each called directly) against maskNaive for
// arbitrary data and keys, once in one call and once split into two chunks.
// The low 11 bits of split choose the split point (modulo len(data)+1),
// the top 5 the payload's offset in its buffer.
func FuzzMask(f *testing.F) {
	f.Add([]byte("Hello"), rfcKeyWord, uint16(3))
	f.Add(bytes.Repeat([]byte{0xa5}, 300), uint32(0xdeadbeef), uint16(129))
	f.Add(bytes.Repeat([]byte{0x5a, 0x00, 0xff}, 1400), uint32(0x01020304), uint16(13<<11|1031))
	f.Add(bytes.Repeat([]byte{0x11}, 4099), uint32(0xcafef00d), uint16(31<<11|257))
	paths := maskPaths()
	f.Fuzz(func(t *testing.T, data []byte, key uint32, split uint16) {
		off := int(split >> 11)
		s := int(split&0x7ff) % (len(data) + 1)
		for _, p := range paths {
			checkMaskPath(t, p, data, key, off, len(data)+1)
			checkMaskPath(t, p, data, key, off, s)
		}
	})
}

func BenchmarkMask(b *testing.B) {
	impls := append(maskPaths(), maskPath{name: "naive", fn: maskNaive})
	for _, size := range []int{16, 125, 256, 512, 1024, 4096, 32768, 1 << 20} {
		for _, impl := range impls {
			b.Run(fmt.Sprintf("size=%d/impl=%s", size, impl.name), func(b *testing.B) {
				p := make([]byte, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					impl.fn(rfcKeyWord, p)
				}
			})
		}
	}
}
