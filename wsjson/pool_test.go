package wsjson

import "testing"

// The pool holds only empty buffers, none larger than maxPooledBuffer.
func TestPutReadBuffer(t *testing.T) {
	tests := []struct {
		name string
		len  int
		cap  int
	}{
		{
			name: "empty",
		},
		{
			name: "small, with a message in it",
			len:  100,
			cap:  512,
		},
		{
			name: "at the limit",
			len:  maxPooledBuffer,
			cap:  maxPooledBuffer,
		},
		{
			name: "over the limit",
			len:  10,
			cap:  maxPooledBuffer + 1,
		},
		{
			name: "a megabyte",
			len:  1 << 20,
			cap:  1 << 20,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := make([]byte, tt.len, tt.cap)
			putReadBuffer(&b)
			if tt.cap <= maxPooledBuffer && len(b) != 0 {
				t.Errorf("got a pooled buffer of length %d, want 0", len(b))
			}
			// Whatever the pool kept or dropped, what comes out is fit
			// to reuse.
			var got []*[]byte
			for range 8 {
				bp := readBuffers.Get().(*[]byte)
				got = append(got, bp)
				if len(*bp) != 0 || cap(*bp) > maxPooledBuffer {
					t.Errorf("got a buffer of length %d and capacity %d from the pool, want length 0 and capacity at most %d", len(*bp), cap(*bp), maxPooledBuffer)
				}
			}
			for _, bp := range got {
				putReadBuffer(bp)
			}
		})
	}
}
