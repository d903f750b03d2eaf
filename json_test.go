package websocket

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

type jsonPoint struct {
	X, Y int
	Tag  string `json:",omitempty"`
}

func TestWriteJSON(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{
			name: "struct",
			v:    jsonPoint{X: 1, Y: 2},
			want: `{"X":1,"Y":2}`,
		},
		{
			name: "string with HTML escaped as encoding/json does",
			v:    "<b>",
			want: `"\u003cb\u003e"`,
		},
		{
			name: "null",
			v:    nil,
			want: `null`,
		},
		{
			name: "larger than a frame buffer",
			v:    strings.Repeat("a", 3*DefaultWriteBufferSize),
			want: `"` + strings.Repeat("a", 3*DefaultWriteBufferSize) + `"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := newPair(t, nil, nil)
			ctx := context.Background()
			if err := WriteJSON(ctx, client, tt.v); err != nil {
				t.Fatalf("WriteJSON: %v", err)
			}
			typ, got, err := server.Read(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if typ != MessageText || string(got) != tt.want {
				t.Errorf("got %v %q, want text %q", typ, got, tt.want)
			}
		})
	}
}

func TestWriteJSONUnencodable(t *testing.T) {
	server, client := newPair(t, nil, nil)
	ctx := context.Background()
	err := WriteJSON(ctx, client, make(chan int))
	var ute *json.UnsupportedTypeError
	if !errors.As(err, &ute) {
		t.Fatalf("got %v, want a *json.UnsupportedTypeError", err)
	}
	// Nothing was sent: the next message is the next value.
	if err := WriteJSON(ctx, client, 7); err != nil {
		t.Fatal(err)
	}
	if _, got, err := server.Read(ctx, nil); err != nil || string(got) != "7" {
		t.Fatalf("got %q, %v, want %q", got, err, "7")
	}
}

func TestReadJSON(t *testing.T) {
	tests := []struct {
		name    string
		typ     MessageType
		message string
		want    jsonPoint
		wantErr string // a substring of the error, or "" for none
	}{
		{
			name:    "text",
			typ:     MessageText,
			message: `{"X":1,"Y":2,"Tag":"a"}`,
			want:    jsonPoint{X: 1, Y: 2, Tag: "a"},
		},
		{
			name:    "binary, with whitespace around",
			typ:     MessageBinary,
			message: " \n{\"X\":3}\n",
			want:    jsonPoint{X: 3},
		},
		{
			name:    "two values",
			typ:     MessageText,
			message: `{"X":1} {"X":2}`,
			wantErr: "more than one value",
		},
		{
			name:    "syntax error",
			typ:     MessageText,
			message: `{"X":}`,
			wantErr: "invalid character",
		},
		{
			name:    "wrong type",
			typ:     MessageText,
			message: `{"X":"one"}`,
			wantErr: "cannot unmarshal",
		},
		{
			name:    "cut short",
			typ:     MessageText,
			message: `{"X":1`,
			wantErr: "unexpected EOF",
		},
		{
			name:    "empty",
			typ:     MessageText,
			message: ``,
			wantErr: "unexpected EOF",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := newPair(t, nil, nil)
			ctx := context.Background()
			server.Write(ctx, tt.typ, []byte(tt.message))
			server.Write(ctx, MessageText, []byte(`{"Tag":"next"}`))
			var got jsonPoint
			err := ReadJSON(ctx, client, &got)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ReadJSON: %v", err)
			case tt.wantErr == "" && got != tt.want:
				t.Fatalf("got %+v, want %+v", got, tt.want)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			case tt.wantErr != "" && !strings.HasPrefix(err.Error(), "websocket: read JSON: "):
				t.Errorf("got error %q, want the prefix %q", err, "websocket: read JSON: ")
			}
			// The message was consumed, whatever its fate.
			var next jsonPoint
			if err := ReadJSON(ctx, client, &next); err != nil || next.Tag != "next" {
				t.Fatalf("next ReadJSON: got %+v, %v, want the next message", next, err)
			}
		})
	}
}

// TestReadJSONFragmented reads a value sent in many frames, the later ones
// written while ReadJSON is already decoding.
func TestReadJSONFragmented(t *testing.T) {
	server, client := newPair(t, nil, nil)
	ctx := context.Background()
	want := make([]string, 200)
	for i := range want {
		want[i] = strings.Repeat(string(rune('a'+i%26)), i*10)
	}
	sent := make(chan error, 1)
	go func() {
		w, err := server.Writer(ctx, MessageBinary)
		if err != nil {
			sent <- err
			return
		}
		// Each Write of the encoder goes out as it fills the buffer.
		enc := json.NewEncoder(w)
		for i, s := range want {
			sep := ","
			if i == 0 {
				sep = "["
			}
			io.WriteString(w, sep)
			enc.Encode(s)
		}
		io.WriteString(w, "]")
		sent <- w.Close()
	}()
	var got []string
	if err := ReadJSON(ctx, client, &got); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d values, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("value %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

// TestReadJSONCutOff checks that a read cut off by its context skips the
// rest of its message.
func TestReadJSONCutOff(t *testing.T) {
	server, client := newPair(t, nil, nil)
	ctx := context.Background()
	w, err := server.Writer(ctx, MessageText)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, `{"X":1,"Tag":"`+strings.Repeat("a", 2*DefaultWriteBufferSize))

	rctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	var v jsonPoint
	if err := ReadJSON(rctx, client, &v); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReadJSON: got %v, want context.DeadlineExceeded", err)
	}
	io.WriteString(w, `"}`)
	w.Close()
	WriteJSON(ctx, server, jsonPoint{Tag: "after"})
	if err := ReadJSON(ctx, client, &v); err != nil || v.Tag != "after" {
		t.Fatalf("next ReadJSON: got %+v, %v, want the next message", v, err)
	}
}

func TestReadJSONClosed(t *testing.T) {
	server, client := newPair(t, nil, nil)
	ctx := context.Background()
	go server.Close(StatusGoingAway, "bye")
	var v any
	err := ReadJSON(ctx, client, &v)
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != StatusGoingAway || ce.Reason != "bye" {
		t.Fatalf("got %v, want a CloseError with 1001 and %q", err, "bye")
	}
	if strings.Contains(err.Error(), "JSON") {
		t.Errorf("got %q: a closed connection is not a JSON error", err)
	}
}

func TestJSONRoundTripCompressed(t *testing.T) {
	server, client := newPair(t, &UpgradeOptions{Compression: &CompressionOptions{}},
		&DialOptions{Compression: &CompressionOptions{}})
	ctx := context.Background()
	want := map[string][]string{"lines": {strings.Repeat("chat ", 100), "", "é"}}
	for range 3 {
		if err := WriteJSON(ctx, server, want); err != nil {
			t.Fatal(err)
		}
		var got map[string][]string
		if err := ReadJSON(ctx, client, &got); err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if !bytes.Equal(g, w) {
			t.Fatalf("got %s, want %s", g, w)
		}
	}
}
