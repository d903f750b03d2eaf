package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsforge/websocket"
)

// syncBuffer is a bytes.Buffer safe for the command's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// testServer upgrades with opts and hands each connection to serve.
func testServer(t *testing.T, tls bool, opts *websocket.UpgradeOptions, serve func(r *http.Request, c *websocket.Conn)) string {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, opts)
		if err != nil {
			return
		}
		defer c.CloseNow()
		serve(r, c)
	})
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused TLS handshakes
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// echo sends every message back, and closes as the client does.
func echo(r *http.Request, c *websocket.Conn) {
	for {
		typ, msg, err := c.Read(r.Context(), nil)
		if err != nil {
			return
		}
		if c.Write(r.Context(), typ, msg) != nil {
			return
		}
	}
}

// runWscat runs the command with args and returns its exit status,
// standard output and standard error. Its input is input, which ends once
// standard output ends with wantStdout: a Close from another goroutine may
// drop messages still on their way (see Conn.Close), so the input stays
// open until the replies are in.
// With hold, the input stays open until the command ends.
func runWscat(t *testing.T, input, wantStdout string, hold bool, args ...string) (int, string, string) {
	t.Helper()
	stdin, inputW := io.Pipe()
	stdout := &watchWriter{want: wantStdout, seen: make(chan struct{})}
	if wantStdout == "" && !hold {
		close(stdout.seen)
		stdout.once.Do(func() {})
	}
	go func() {
		io.WriteString(inputW, input)
		<-stdout.seen
		inputW.Close()
	}()
	var stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, append([]string{"-wait", "0"}, args...), stdin, stdout, &stderr)
	inputW.CloseWithError(io.ErrClosedPipe) // if the command ended first
	return code, stdout.String(), stderr.String()
}

func TestWscat(t *testing.T) {
	var gotHeader atomic.Value
	plain := testServer(t, false, &websocket.UpgradeOptions{
		Subprotocols: []string{"chat.v1"},
		Compression:  &websocket.CompressionOptions{},
	}, func(r *http.Request, c *websocket.Conn) {
		if h := r.Header.Get("X-Token"); h != "" {
			gotHeader.Store(h)
		}
		echo(r, c)
	})
	secure := testServer(t, true, nil, echo)
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no token, no chat", http.StatusUnauthorized)
	}))
	defer refusing.Close()
	closing := testServer(t, false, nil, func(r *http.Request, c *websocket.Conn) {
		c.Close(4000, "go away")
	})
	tests := []struct {
		name       string
		args       []string
		input      string
		holdInput  bool // keep the input open until the command ends
		wantCode   int
		wantStdout string
		wantStderr string // a substring of standard error
	}{
		{
			name:       "lines are echoed",
			args:       []string{plain},
			input:      "hello\nworld\n",
			wantCode:   exitOK,
			wantStdout: "hello\nworld\n",
			wantStderr: "closed; the server answered 1000",
		},
		{
			name:       "header, subprotocol and compression",
			args:       []string{"-H", "X-Token: s3cret", "-s", "other,chat.v1", "-compress", plain},
			input:      strings.Repeat("compressible ", 50) + "\n",
			wantCode:   exitOK,
			wantStdout: strings.Repeat("compressible ", 50) + "\n",
			wantStderr: "(subprotocol chat.v1)",
		},
		{
			name:       "binary lines",
			args:       []string{"-binary", plain},
			input:      "\x01\x02\n",
			wantCode:   exitOK,
			wantStdout: "0102\n",
		},
		{
			name:       "TLS verification skipped",
			args:       []string{"-k", secure},
			input:      "over tls\n",
			wantCode:   exitOK,
			wantStdout: "over tls\n",
		},
		{
			name:       "TLS verification fails",
			args:       []string{secure},
			wantCode:   exitError,
			wantStderr: "wscat: cannot connect to " + secure + ": ",
		},
		{
			name:       "handshake refused",
			args:       []string{"ws" + strings.TrimPrefix(refusing.URL, "http")},
			wantCode:   exitError,
			wantStderr: "wscat: the server answered 401 Unauthorized: no token, no chat",
		},
		{
			name:       "nobody listening",
			args:       []string{"ws://127.0.0.1:1/"},
			wantCode:   exitError,
			wantStderr: "wscat: cannot connect to ws://127.0.0.1:1/",
		},
		{
			name:       "server closes with a code",
			args:       []string{closing},
			holdInput:  true,
			wantCode:   exitError,
			wantStderr: `wscat: the server closed the connection: 4000 "go away"`,
		},
		{
			name:       "usage",
			args:       []string{},
			wantCode:   exitUsage,
			wantStderr: "usage: wscat [flags] ws://",
		},
		{
			name:       "bad header flag",
			args:       []string{"-H", "no colon", plain},
			wantCode:   exitUsage,
			wantStderr: `want "Name: value"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runWscat(t, tt.input, tt.wantStdout, tt.holdInput, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit status: got %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if tt.wantStdout != "" && stdout != tt.wantStdout {
				t.Errorf("stdout: got %q, want %q", stdout, tt.wantStdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr: got %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
	if got := gotHeader.Load(); got != "s3cret" {
		t.Errorf("header X-Token: got %v, want s3cret", got)
	}
}

// TestWscatPing checks that -ping makes the client ping the server. The
// server sends a binary message, then "pinged" once the first ping has
// come; the input stays open until then.
func TestWscatPing(t *testing.T) {
	pinged := make(chan struct{}, 1)
	url := testServer(t, false, &websocket.UpgradeOptions{
		OnPing: func([]byte) {
			select {
			case pinged <- struct{}{}:
			default:
			}
		},
	}, func(r *http.Request, c *websocket.Conn) {
		c.Write(r.Context(), websocket.MessageBinary, []byte{0xca, 0xfe})
		go func() {
			<-pinged
			c.Write(r.Context(), websocket.MessageText, []byte("pinged"))
		}()
		echo(r, c)
	})
	stdin, endInput := io.Pipe()
	stdout := &watchWriter{want: "pinged\n", seen: make(chan struct{})}
	go func() {
		<-stdout.seen
		endInput.Close()
	}()
	var stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, []string{"-wait", "0", "-ping", "20ms", url}, stdin, stdout, &stderr)
	if got, want := stdout.String(), "cafe\npinged\n"; code != exitOK || got != want {
		t.Fatalf("got %d, stdout %q (stderr %q), want %d, %q", code, got, stderr.String(), exitOK, want)
	}
}

// watchWriter closes seen once what was written ends with want.
type watchWriter struct {
	syncBuffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *watchWriter) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	if strings.HasSuffix(w.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

// TestWscatWait checks that replies arriving within -wait of the end of
// the input are printed: the input here ends at once.
func TestWscatWait(t *testing.T) {
	url := testServer(t, false, nil, echo)
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, []string{"-wait", "500ms", url}, strings.NewReader("one\ntwo\n"), &stdout, &stderr)
	if got, want := stdout.String(), "one\ntwo\n"; code != exitOK || got != want {
		t.Fatalf("got %d, stdout %q (stderr %q), want %d, %q", code, got, stderr.String(), exitOK, want)
	}
}
