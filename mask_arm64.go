//go:build arm64 && !purego

package websocket

// maskVectorMin is the shortest block mask hands to maskVector. It is the
// amd64 value, not yet measured on arm64 hardware.
const maskVectorMin = 128

// maskVectorName names the vector path in tests and benchmarks.
const maskVectorName = "neon"

// haveVector is true: every arm64 CPU has Advanced SIMD (NEON).
const haveVector = true

// maskNEON is mask in assembly: NEON for every whole 16-byte block, 64
// bytes at a time while it can, then general registers for the rest.
//
//go:noescape
func maskNEON(key uint32, b []byte) uint32

// maskVector is the vector path of mask.
func maskVector(key uint32, b []byte) uint32 { return maskNEON(key, b) }
