package websocket

// The child-process harness of the scale tests and benchmarks. A process
// may have 20,000 files open here, and one that held both ends of 10,000
// connections would need them all; so the clients run in a child process:
// this test binary again, told by startChild to run only the test that
// plays them. The parent holds only the server ends, and its figures count
// only the server. Parent and child talk in lines, over the child's stdin
// and stdout; the child ends when its stdin closes.
//
// The scale runs and the tests that play their clients:
//
//   - BenchmarkIdleConns (idle_bench_test.go): TestIdleConnsChild;
//   - BenchmarkIdleHeartbeat (heartbeat_bench_test.go): TestIdleHeartbeatChild;
//   - TestManyConnectionsDropped (exhaust_test.go): TestExhaustClients.
//
// A child's test does nothing, but skip, in a normal run.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	childAddrEnv  = "WSFORGE_CHILD_ADDR"  // the server the child dials; set only in a child
	childConnsEnv = "WSFORGE_CHILD_CONNS" // how many connections the child holds at once
)

// childProc is a child process started by startChild.
type childProc struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	stdout   io.Reader
	lines    *bufio.Scanner
	stopOnce sync.Once
	stopErr  error
}

// startChild runs test, and only it, in a child process: this test binary
// with addr and conns in its environment (see childParams) and the extra
// "NAME=value" variables. The child's stderr is ours. It is stopped when tb
// ends, if it has not been already.
func startChild(tb testing.TB, test, addr string, conns int, extra ...string) *childProc {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), childAddrEnv+"="+addr, childConnsEnv+"="+strconv.Itoa(conns))
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	c := &childProc{cmd: cmd, stdin: stdin, stdout: stdout, lines: bufio.NewScanner(stdout)}
	tb.Cleanup(func() { c.stop() })
	return c
}

// tell sends the child a line on its stdin.
func (c *childProc) tell(line string) { fmt.Fprintln(c.stdin, line) }

// await reads the child's stdout until the line want. If the output ends
// first, it returns an error that holds the lines read.
func (c *childProc) await(want string) error {
	var before []string
	for c.lines.Scan() {
		if c.lines.Text() == want {
			return nil
		}
		before = append(before, c.lines.Text())
	}
	return fmt.Errorf("child ended before it said %q:\n%s", want, strings.Join(before, "\n"))
}

// stop closes the child's stdin, which tells it to end, reads the rest of
// its output and waits for it to exit. It returns how the child ended;
// calls after the first return the same.
func (c *childProc) stop() error {
	c.stopOnce.Do(func() {
		c.stdin.Close()
		io.Copy(io.Discard, c.stdout)
		c.stopErr = c.cmd.Wait()
	})
	return c.stopErr
}

// childParams returns, in a child started by startChild, the address of
// the server to dial and the number of connections to hold. Elsewhere it
// skips t, which is only the client side of parent.
func childParams(t *testing.T, parent string) (addr string, conns int) {
	addr = os.Getenv(childAddrEnv)
	if addr == "" {
		t.Skip("the client side of " + parent + ", run in a child process")
	}
	conns, err := strconv.Atoi(os.Getenv(childConnsEnv))
	if err != nil || conns <= 0 {
		t.Fatalf("%s=%q: want a positive number", childConnsEnv, os.Getenv(childConnsEnv))
	}
	return addr, conns
}

// dialRaw opens a WebSocket connection to addr with a raw handshake and
// returns the bare TCP connection, with nothing read beyond the 101.
func dialRaw(addr string) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, time.Minute)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(time.Minute))
	if err := rawClientHandshake(nc, "/"); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return nc, nil
}

// The idle benchmarks' figures.

// idleConnsEnv sets how many connections the idle benchmarks hold.
const idleConnsEnv = "WSFORGE_IDLE_CONNS"

// idleConnCount returns the number of connections of the idle benchmarks:
// idleConnsEnv, or 1000.
func idleConnCount(tb testing.TB) int {
	s := os.Getenv(idleConnsEnv)
	if s == "" {
		return 1000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive number", idleConnsEnv, s)
	}
	return n
}

// idleResult is what one measurement found, per connection.
type idleResult struct {
	heap, stack, goroutines float64
}

var (
	idleMu      sync.Mutex
	idleResults = map[string]idleResult{}
)

// reportIdle reports the figures of the measurement named key: B/conn
// (heap in use plus stacks), heap-B/conn, stack-B/conn and goroutines/conn.
// It measures only the first time; a benchmark function runs more than
// once, and its later runs report the same figures.
func reportIdle(b *testing.B, key string, measure func() idleResult) {
	idleMu.Lock()
	r, ok := idleResults[key]
	if !ok {
		r = measure()
		idleResults[key] = r
	}
	idleMu.Unlock()
	b.ReportMetric(r.heap+r.stack, "B/conn")
	b.ReportMetric(r.heap, "heap-B/conn")
	b.ReportMetric(r.stack, "stack-B/conn")
	b.ReportMetric(r.goroutines, "goroutines/conn")
	b.ReportMetric(0, "ns/op")
}

// memInUse is the memory and goroutines in use at one moment.
type memInUse struct {
	heap, stack uint64
	goroutines  int
}

// measureInUse returns the memory and goroutines in use after collecting
// garbage twice (the second empties the sync.Pools).
func measureInUse() memInUse {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memInUse{m.HeapInuse, m.StackInuse, runtime.NumGoroutine()}
}

// perConn returns what is in use now beyond before, per connection of n.
func (before memInUse) perConn(n int) idleResult {
	after := measureInUse()
	return idleResult{
		heap:       float64(int64(after.heap)-int64(before.heap)) / float64(n),
		stack:      float64(int64(after.stack)-int64(before.stack)) / float64(n),
		goroutines: float64(after.goroutines-before.goroutines) / float64(n),
	}
}
