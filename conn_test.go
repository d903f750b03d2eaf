package websocket

// End to end: messages of every length class echoed between the two Conns
// of a real connection (newPair), from either side. The rules of reading
// and writing are tested in read_test.go and write_test.go.

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

func TestEchoSmoke(t *testing.T) {
	ctx := context.Background()
	server, client := newPair(t, nil, nil)
	go func() {
		for {
			typ, msg, err := server.Read(ctx, nil)
			if err != nil {
				return
			}
			server.Write(ctx, typ, msg)
		}
	}()
	for _, size := range []int{0, 1, 125, 126, 65535, 65536, 1 << 20} {
		msg := []byte(strings.Repeat("x", size))
		if err := client.Write(ctx, MessageText, msg); err != nil {
			t.Fatal(err)
		}
		typ, got, err := client.Read(ctx, nil)
		if err != nil || typ != MessageText || string(got) != string(msg) {
			t.Fatalf("size %d: got %v %d bytes %v", size, typ, len(got), err)
		}
	}
	if err := client.Close(StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestEchoSizes(t *testing.T) {
	ctx := context.Background()
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20}
	for _, fromClient := range []bool{true, false} {
		for _, typ := range []MessageType{MessageText, MessageBinary} {
			t.Run(fmt.Sprintf("fromClient=%v/%v", fromClient, typ), func(t *testing.T) {
				server, client := newPair(t, nil, nil)
				sender, echoer := client, server
				if !fromClient {
					sender, echoer = server, client
				}
				done := startEcho(echoer)
				for _, size := range sizes {
					msg := pattern(size)
					if typ == MessageText {
						s := strings.Repeat("aé€😀", size/10) // 10 bytes each
						msg = []byte(s + strings.Repeat("x", size-len(s)))
					}
					if err := sender.Write(ctx, typ, msg); err != nil {
						t.Fatalf("size %d: Write: %v", size, err)
					}
					gotType, got, err := sender.Read(ctx, nil)
					if err != nil {
						t.Fatalf("size %d: Read: %v", size, err)
					}
					if gotType != typ || !bytes.Equal(got, msg) {
						t.Fatalf("size %d: got %v of %d bytes, want %v of %d bytes", size, gotType, len(got), typ, len(msg))
					}
				}
				if err := sender.Close(StatusNormalClosure, "done"); err != nil {
					t.Errorf("Close: %v", err)
				}
				<-done
			})
		}
	}
}
