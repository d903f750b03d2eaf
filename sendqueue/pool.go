package sendqueue

import (
	"math/bits"
	"sync"
)

// Payload copies made by Send come from pools by size class, powers of two
// from 64 B to 64 KiB; larger ones are allocated and left to the collector.
// A pooled buffer holds only bytes, so the pool pins no connection.
const (
	minBufferBits = 6
	maxBufferBits = 16
)

var buffers [maxBufferBits - minBufferBits + 1]sync.Pool

// bufferClass returns the index of the smallest class holding n bytes.
func bufferClass(n int) int {
	if n <= 1<<minBufferBits {
		return 0
	}
	return bits.Len(uint(n-1)) - minBufferBits
}

// getBuffer returns a buffer of length n.
func getBuffer(n int) *[]byte {
	if n > 1<<maxBufferBits {
		b := make([]byte, n)
		return &b
	}
	if bp, ok := buffers[bufferClass(n)].Get().(*[]byte); ok {
		*bp = (*bp)[:n]
		return bp
	}
	b := make([]byte, n, 1<<(bufferClass(n)+minBufferBits))
	return &b
}

// putBuffer returns a buffer from getBuffer to its pool, if it has one.
func putBuffer(bp *[]byte) {
	if c := cap(*bp); c <= 1<<maxBufferBits && c == 1<<(bufferClass(c)+minBufferBits) {
		buffers[bufferClass(c)].Put(bp)
	}
}
