// Package bench compares wsforge with gorilla/websocket, coder/websocket,
// gobwas/ws and lxzan/gws in one run. It is a nested module so that users of
// wsforge never download the peers; see README.md for what each benchmark
// measures and how to run them.
//
// Every library is given the same message sizes, 4096-byte read and write
// buffers where it lets them be set, a read limit that fits the largest
// message, binary messages, and no debug or tracing option. Each uses its
// own client and server and the API its documentation shows for the job.
package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"testing"
	"time"
)

// sizes are the message sizes of the echo and server I/O benchmarks.
var sizes = []int{16, 125, 1024, 4096, 32768, 1 << 20}

const (
	// bufSize is every library's read and write buffer size, where it has one.
	bufSize = 4096
	// readLimit lifts every library's message size limit above the largest
	// message (coder/websocket's default is 32 KiB, wsforge's 1 MiB).
	readLimit = 4 << 20
	// warmup round trips run before timing starts.
	warmup = 50
)

func TestMain(m *testing.M) {
	if os.Getenv(idleChildEnv) != "" {
		os.Exit(idleChild())
	}
	os.Exit(m.Run())
}

// payload returns n bytes of binary data.
func payload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i>>8)
	}
	return p
}

// jsonPayload returns n bytes of JSON-like text: similar records with
// changing numbers, as an application's event stream would carry.
func jsonPayload(n int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"user":"user-%d","event":"click","ts":%d,"tags":["web","eu-west"],"ok":%t},`,
			1000+i, 37*i%500, 1700000000000+int64(i)*1337, i%3 != 0)
	}
	p := b.Bytes()[:n]
	p[n-1] = ']'
	return p
}

// readAll appends everything r yields until io.EOF to buf, growing it only
// when it is full, so that a buffer reused across messages stops
// allocating once it has reached the message size.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// checkEcho reports whether got is the message that was sent.
func checkEcho(got, want []byte) error {
	if !bytes.Equal(got, want) {
		return fmt.Errorf("echo of %d bytes: got %d bytes, not the same", len(want), len(got))
	}
	return nil
}

// cpuMeter reports the process's CPU time (user and system) per op as
// cpu-ns/op: unlike ns/op, it does not grow when other processes take the
// machine's cores, and it counts every goroutine, so in BenchmarkEcho both
// ends of the connection.
type cpuMeter struct {
	start time.Duration
	ok    bool
}

// startCPU begins measuring; call it right after b.ResetTimer.
func startCPU() cpuMeter {
	t, ok := cpuTime()
	return cpuMeter{start: t, ok: ok}
}

// report adds cpu-ns/op; call it right after b.StopTimer.
func (m cpuMeter) report(b *testing.B) {
	t, ok := cpuTime()
	if m.ok && ok && b.N > 0 {
		b.ReportMetric(float64(t-m.start)/float64(b.N), "cpu-ns/op")
	}
}
