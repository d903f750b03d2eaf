// Package websocket implements the WebSocket protocol of RFC 6455, for
// servers and clients.
//
// # Opening a connection
//
// A server calls [Upgrade] from an [http.Handler]; a client calls [Dial].
// Both return a [*Conn], and from then on the two ends are used the same
// way. Upgrade answers a request it refuses with the matching HTTP error
// itself; Dial returns the server's refusal as a [*HandshakeError] with the
// response attached. Both errors wrap [ErrBadHandshake]. Options come in
// plain structs, [UpgradeOptions] and [DialOptions]; a nil pointer means
// all defaults, and neither function modifies the struct it is given.
//
// # Concurrency
//
// Read and Reader must not be called concurrently; every other method may
// be. Control frames are handled by whichever goroutine is reading: pings
// are answered, a close frame is replied to, and pongs wake [Conn.Ping].
// A Conn therefore needs a goroutine reading it for Ping to return and for
// the peer's close to be noticed.
//
// # Reading
//
// [Conn.Read] appends the next whole message to a buffer and returns the
// extended slice; pass buf[:0] to reuse one buffer for every message.
// [Conn.Reader] streams a message instead, for messages too large to hold.
// Text messages are checked for UTF-8 as they arrive: invalid text fails
// the connection with 1007 at the first bad byte, not after buffering.
//
// Reads take a [context.Context]. When it ends, the read returns its error
// and the Conn remains usable: the bytes already read are kept, and the next
// Read returns the whole message. So a context with a timeout works as an
// idle timeout without losing data. One case differs: when the context ends
// in the middle of a compressed message, the decompressor cannot resume;
// the Conn then closes the connection with code 1001 at once, the read
// returns the context's error and later reads an error wrapping
// [net.ErrClosed]. With compression on, bound idle reads with the
// IdleTimeout option rather than a read context.
//
// # Writing
//
// [Conn.Write] sends one message in a single frame; [Conn.Writer] returns
// an [io.WriteCloser] that sends a message in fragments as its buffer
// fills, and the final frame on Close. Any number of goroutines may write
// at once: messages go out whole, one after another, and control frames
// (pongs, pings, the close frame) go out between the fragments of a long
// message rather than waiting for its end. A write whose context ends
// before its first frame has started sends nothing and leaves the Conn
// usable (with compression, the compressor forgets the message too, so the
// messages after it inflate exactly); one cut off after that closes the
// connection.
//
// # Detecting a dead peer
//
// A TCP connection can go silent without ending. Set PingInterval (and
// PongTimeout) in [UpgradeOptions] or [DialOptions] to turn on the
// heartbeat: the Conn pings on a timer, without a goroutine of its own,
// and when no pong comes in time it closes the connection; reads and
// writes then report an error wrapping [ErrPongTimeout]. IdleTimeout
// closes a connection on which no data arrives, and WriteTimeout bounds
// each frame written, so a peer that stops reading cannot block a writer.
// For a server facing the Internet, a heartbeat every 25 s (under the
// 30-60 s after which proxies commonly drop a silent connection) with a
// 15 s PongTimeout, a 30 s WriteTimeout and a 10 s HandshakeTimeout suit
// most services. [Conn.Ping] sends a single ping and waits for its pong.
//
// # Batteries
//
// Subpackages built only on this package's exported API add what many
// services need:
//   - github.com/wsforge/websocket/sendqueue: a bounded queue of outgoing
//     messages per connection, with a policy for a slow peer, and Broadcast,
//     which encodes a message once ([NewPreparedMessage]) for many queues;
//   - github.com/wsforge/websocket/conntrack: connection tracking for a
//     server, with a cap, graceful shutdown and metrics;
//   - github.com/wsforge/websocket/redial: a client that stays connected,
//     redialing with exponential backoff and jitter;
//   - github.com/wsforge/websocket/wsjson: one JSON value per message;
//   - github.com/wsforge/websocket/websockettest: connected pairs and a
//     test server, for testing code that uses this package.
//
// [NetConn] presents a Conn as a [net.Conn] carrying a byte stream, for
// code written against net.Conn.
//
// # Limits and defaults
//
// A zero option means the default constant of the same name:
// [DefaultReadLimit] (1 MiB) bounds the size of a received message, which
// is refused with 1009 and [ErrMessageTooBig] from its frame header, before
// it is buffered; [DefaultReadBufferSize] and [DefaultWriteBufferSize]
// (4 KiB each) size the I/O buffers, the write buffer being borrowed from
// a pool only while writing; [DefaultCloseTimeout] (5 s) bounds the close
// handshake. [Conn.SetReadLimit] changes the read limit of an open Conn.
//
// # Compression
//
// Setting the Compression field of [UpgradeOptions] or [DialOptions] to a
// [CompressionOptions] negotiates the permessage-deflate extension
// (RFC 7692); nil, the default, never compresses. Messages shorter than the
// threshold ([DefaultCompressionThreshold], 128 bytes, unless set) are sent
// as they are, and [Conn.SetCompression] switches compression of later
// messages off and on. The read limit applies to a message's inflated size.
//
// # Closing
//
// [Conn.Close] performs the closing handshake: it sends a close frame with
// a [StatusCode] and a reason, waits up to the CloseTimeout option for the
// peer's close frame, and closes the connection. [Conn.CloseNow] closes at
// once, without a handshake.
//
// When the peer closes, the Conn replies with the same code and the
// pending read returns a [*CloseError] holding the peer's code and reason;
// [CloseStatus] extracts the code from any error, or returns 0. A
// connection that ends without a close frame is reported as a CloseError
// with [StatusAbnormalClosure] (1006). A peer that breaks the protocol is
// sent 1002 ([ErrProtocol]), 1007 ([ErrInvalidUTF8]) or 1009
// ([ErrMessageTooBig]) before the connection is closed. Close returns nil
// only when a closing handshake completed, whichever side began it. Once a Conn is
// closed, reads keep returning the error that ended them, and writes and
// further Close or CloseNow calls return an error wrapping [net.ErrClosed].
//
// # Origin check
//
// Browsers let any web page open a WebSocket to any host, carrying the
// user's cookies. Upgrade therefore accepts a request with an Origin header
// only when the origin's host is the request's own host or matches one of
// [UpgradeOptions].OriginPatterns, and answers others with 403. Requests
// without an Origin header come from clients other than browsers and are
// accepted. InsecureSkipOriginCheck turns the check off.
//
// # Shutting down a server
//
// [http.Server.Shutdown] and [http.Server.Close] do not touch connections
// taken over by Upgrade: the server no longer tracks them. Track them
// yourself ([Conn.Context] is done once a connection has closed), or
// upgrade through the conntrack subpackage, whose Shutdown sends
// [StatusGoingAway] to every connection and waits for the close handshakes.
package websocket
