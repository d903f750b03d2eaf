package bench

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkEchoCompressed is BenchmarkEcho with permessage-deflate on both
// ends, for a 1 KiB JSON-like message (sent as a binary message, so that no
// library's UTF-8 check, or lack of one, enters the figures). Every library
// runs in no-context-takeover mode, each message compressed on its own:
// the only mode gorilla/websocket and gobwas/ws implement; wsforge,
// coder/websocket and gws could keep the context, which compresses similar
// messages better at the cost of a window per connection. All compress at
// flate.BestSpeed: wsforge, gorilla, coder and gobwas (as this harness sets
// it) with the standard compress/flate, gws with klauspost/compress/flate.
// Every library's threshold (wsforge 128 bytes, coder and gws 512) lets
// 1 KiB be compressed. wireB/op is the bytes the server read per message,
// frame header included, as a check that compression happened.
func BenchmarkEchoCompressed(b *testing.B) {
	msg := jsonPayload(1024)
	for _, lib := range libraries {
		b.Run(fmt.Sprintf("lib=%s/size=%d", lib.name, len(msg)), func(b *testing.B) {
			var wire atomic.Int64
			benchEcho(b, lib, msg, options{compress: true}, &wire)
		})
	}
}
