package websocket

import (
	"encoding/binary"
	"math/bits"
)

// mask XORs b in place with a WebSocket masking key and returns the key
// rotated so that a following call continues the mask where this one stopped.
// Masking a payload in several chunks, threading the returned key from one
// call into the next, gives the same bytes as masking it in one call.
//
// RFC 6455 §5.3: octet i of the transformed data is octet i of the original
// data XOR octet (i MOD 4) of the masking key. key holds the four key octets
// in wire order read as a little-endian integer
// (binary.LittleEndian.Uint32(keyBytes[:])), so octet j of the key is
// byte(key >> (8*j)). Unmasking is the same operation.
//
// mask does not allocate.
//
// Blocks of at least maskVectorMin bytes go to maskVector, the SIMD
// routine of the architecture (AVX2 on amd64, NEON on arm64), when the CPU
// has it; shorter blocks, other architectures and builds with -tags purego
// use the unrolled Go loop.
func mask(key uint32, b []byte) uint32 {
	return maskFrom(key, b, maskVectorMin)
}

// maskGo is mask in portable Go whatever the length and the CPU.
func maskGo(key uint32, b []byte) uint32 {
	return maskFrom(key, b, maskNoVector)
}

// maskNoVector is a vectorMin for maskFrom that no block reaches.
const maskNoVector = int(^uint(0) >> 1)

// maskFrom is mask with maskVector for blocks of at least vectorMin bytes,
// when the CPU has it, and otherwise an unrolled cascade of 64-bit words,
// then single bytes. The choice is made here rather than in mask so that
// mask stays small enough to be inlined and a short block costs one call.
func maskFrom(key uint32, b []byte, vectorMin int) uint32 {
	if haveVector && len(b) >= vectorMin {
		return maskVector(key, b)
	}
	if len(b) >= 8 {
		// Every block below is a multiple of 4 bytes long, so the key
		// lines up at the start of each 8-byte word and never rotates here.
		k := uint64(key) | uint64(key)<<32
		for len(b) >= 128 {
			v := binary.LittleEndian.Uint64(b[0:8])
			binary.LittleEndian.PutUint64(b[0:8], v^k)
			v = binary.LittleEndian.Uint64(b[8:16])
			binary.LittleEndian.PutUint64(b[8:16], v^k)
			v = binary.LittleEndian.Uint64(b[16:24])
			binary.LittleEndian.PutUint64(b[16:24], v^k)
			v = binary.LittleEndian.Uint64(b[24:32])
			binary.LittleEndian.PutUint64(b[24:32], v^k)
			v = binary.LittleEndian.Uint64(b[32:40])
			binary.LittleEndian.PutUint64(b[32:40], v^k)
			v = binary.LittleEndian.Uint64(b[40:48])
			binary.LittleEndian.PutUint64(b[40:48], v^k)
			v = binary.LittleEndian.Uint64(b[48:56])
			binary.LittleEndian.PutUint64(b[48:56], v^k)
			v = binary.LittleEndian.Uint64(b[56:64])
			binary.LittleEndian.PutUint64(b[56:64], v^k)
			v = binary.LittleEndian.Uint64(b[64:72])
			binary.LittleEndian.PutUint64(b[64:72], v^k)
			v = binary.LittleEndian.Uint64(b[72:80])
			binary.LittleEndian.PutUint64(b[72:80], v^k)
			v = binary.LittleEndian.Uint64(b[80:88])
			binary.LittleEndian.PutUint64(b[80:88], v^k)
			v = binary.LittleEndian.Uint64(b[88:96])
			binary.LittleEndian.PutUint64(b[88:96], v^k)
			v = binary.LittleEndian.Uint64(b[96:104])
			binary.LittleEndian.PutUint64(b[96:104], v^k)
			v = binary.LittleEndian.Uint64(b[104:112])
			binary.LittleEndian.PutUint64(b[104:112], v^k)
			v = binary.LittleEndian.Uint64(b[112:120])
			binary.LittleEndian.PutUint64(b[112:120], v^k)
			v = binary.LittleEndian.Uint64(b[120:128])
			binary.LittleEndian.PutUint64(b[120:128], v^k)
			b = b[128:]
		}
		if len(b) >= 64 {
			v := binary.LittleEndian.Uint64(b[0:8])
			binary.LittleEndian.PutUint64(b[0:8], v^k)
			v = binary.LittleEndian.Uint64(b[8:16])
			binary.LittleEndian.PutUint64(b[8:16], v^k)
			v = binary.LittleEndian.Uint64(b[16:24])
			binary.LittleEndian.PutUint64(b[16:24], v^k)
			v = binary.LittleEndian.Uint64(b[24:32])
			binary.LittleEndian.PutUint64(b[24:32], v^k)
			v = binary.LittleEndian.Uint64(b[32:40])
			binary.LittleEndian.PutUint64(b[32:40], v^k)
			v = binary.LittleEndian.Uint64(b[40:48])
			binary.LittleEndian.PutUint64(b[40:48], v^k)
			v = binary.LittleEndian.Uint64(b[48:56])
			binary.LittleEndian.PutUint64(b[48:56], v^k)
			v = binary.LittleEndian.Uint64(b[56:64])
			binary.LittleEndian.PutUint64(b[56:64], v^k)
			b = b[64:]
		}
		if len(b) >= 32 {
			v := binary.LittleEndian.Uint64(b[0:8])
			binary.LittleEndian.PutUint64(b[0:8], v^k)
			v = binary.LittleEndian.Uint64(b[8:16])
			binary.LittleEndian.PutUint64(b[8:16], v^k)
			v = binary.LittleEndian.Uint64(b[16:24])
			binary.LittleEndian.PutUint64(b[16:24], v^k)
			v = binary.LittleEndian.Uint64(b[24:32])
			binary.LittleEndian.PutUint64(b[24:32], v^k)
			b = b[32:]
		}
		if len(b) >= 16 {
			v := binary.LittleEndian.Uint64(b[0:8])
			binary.LittleEndian.PutUint64(b[0:8], v^k)
			v = binary.LittleEndian.Uint64(b[8:16])
			binary.LittleEndian.PutUint64(b[8:16], v^k)
			b = b[16:]
		}
		if len(b) >= 8 {
			v := binary.LittleEndian.Uint64(b[0:8])
			binary.LittleEndian.PutUint64(b[0:8], v^k)
			b = b[8:]
		}
	}

	// At most 7 bytes remain. Rotate after each one so the key's low byte
	// is always the octet that masks the next byte.
	for i := range b {
		b[i] ^= byte(key)
		key = bits.RotateLeft32(key, -8)
	}
	return key
}
