package websocket

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Defaults used when an option is left at its zero value.
const (
	// DefaultReadLimit is the largest message, in bytes, that a Conn accepts
	// unless told otherwise. One MiB holds any chat line, JSON document or
	// small file a typical service exchanges, while a server with 10,000
	// connections still cannot be made to buffer more than 10 GiB even if every
	// peer sends a maximal message at once. Lift it with the ReadLimit option or
	// [Conn.SetReadLimit] when messages are known to be larger.
	DefaultReadLimit = 1 << 20

	// DefaultReadBufferSize is the size of the buffer a Conn reads through.
	// A Conn holds it for its whole life.
	DefaultReadBufferSize = 4096

	// DefaultWriteBufferSize is the size of the buffer frames are assembled
	// in. A Conn borrows it from a shared pool only while it writes, so an
	// idle Conn holds none.
	DefaultWriteBufferSize = 4096

	// DefaultCloseTimeout bounds the close handshake: how long Close waits
	// for the peer's close frame (and, on the client, for the server to end
	// the TCP connection) before it closes the connection anyway.
	DefaultCloseTimeout = 5 * time.Second
)

// minReadBufferSize lets a control frame (at most 2+4+125 bytes) sit whole in
// the read buffer, so that it can be handled atomically.
const minReadBufferSize = 256

// UpgradeOptions configure [Upgrade]. A nil *UpgradeOptions is valid and
// means all defaults. Upgrade copies what it needs and never modifies it.
type UpgradeOptions struct {
	// Subprotocols lists the application protocols the server speaks, most
	// preferred first. The first one the client also offers is chosen and
	// reported by [Conn.Subprotocol]. Nil means no subprotocol is negotiated.
	Subprotocols []string

	// OriginPatterns lists the origins, besides the request's own host, whose
	// browsers may connect. A pattern is matched with [path.Match] against
	// the origin's host (for example "*.example.com" or "localhost:8080"), or
	// against the whole origin if it contains "://" (for example
	// "https://app.example.com"). Nil means same-host requests only.
	// Requests without an Origin header (non-browser clients) are always
	// allowed.
	OriginPatterns []string

	// InsecureSkipOriginCheck accepts requests from any origin. It lets any
	// web page the user visits open a connection carrying the user's
	// cookies (cross-site WebSocket hijacking). Prefer OriginPatterns.
	InsecureSkipOriginCheck bool

	// ResponseHeader holds extra headers for the 101 response, such as
	// Set-Cookie. Headers already set on the ResponseWriter are sent too.
	ResponseHeader http.Header

	// Compression, if not nil, accepts the permessage-deflate extension
	// when the client offers it (browsers always do). Nil means messages
	// are never compressed.
	Compression *CompressionOptions

	// ReadLimit is the largest message, in bytes, the Conn accepts; a
	// larger one is refused with close code 1009 before it is buffered.
	// For a compressed message the limit applies to its inflated size.
	// Zero means DefaultReadLimit.
	ReadLimit int64

	// ReadBufferSize and WriteBufferSize size the Conn's I/O buffers.
	// Zero means DefaultReadBufferSize and DefaultWriteBufferSize. When the
	// read buffer size equals the one net/http used for the request, Upgrade
	// reuses that buffer instead of allocating another.
	ReadBufferSize, WriteBufferSize int

	// CloseTimeout bounds the close handshake. Zero means DefaultCloseTimeout.
	CloseTimeout time.Duration

	// OnPing and OnPong, if set, are called by the reading goroutine with
	// the payload of each ping or pong received. They must not block and
	// must not keep the slice. Pings are answered automatically either way.
	OnPing, OnPong func(payload []byte)

	// HandshakeTimeout bounds the part of the opening handshake that
	// Upgrade performs: writing the 101 response on the connection it took
	// over. Reading the request is net/http's business; bound it with
	// [http.Server.ReadHeaderTimeout]. Zero means no timeout.
	HandshakeTimeout time.Duration

	// PingInterval turns on the heartbeat: the Conn sends a ping this often
	// and, if the peer has not answered within PongTimeout, closes the
	// connection, after which reads and writes report an error wrapping
	// [ErrPongTimeout]. The heartbeat runs on a timer, not a goroutine, and
	// works whether the application is blocked in Read or not reading at
	// all; in the latter case the Conn reads the control frames that have
	// arrived only when the pong is due, so it answers the peer's own pings
	// late: keep a goroutine reading when the peer runs a heartbeat too.
	// Zero means no heartbeat.
	PingInterval time.Duration

	// PongTimeout is how long the heartbeat waits for the answer to each
	// ping. Zero means PingInterval. A dead peer is detected at most
	// PingInterval + PongTimeout (and a few milliseconds) after its last
	// answer.
	PongTimeout time.Duration

	// AnyDataIsPong makes the heartbeat take any bytes received from the
	// peer after a ping as its answer, not only the pong. Then a peer busy
	// sending a frame that takes longer than PongTimeout to arrive is not
	// mistaken for a dead one, but the heartbeat no longer proves that the
	// peer reads what it is sent.
	AnyDataIsPong bool

	// IdleTimeout closes the connection with StatusGoingAway when no data
	// frame has arrived from the peer for that long; pings and pongs do not
	// count, so a heartbeat does not keep an idle connection open, but data
	// waiting for the application to read it does. The close comes between
	// IdleTimeout and 1.25 × IdleTimeout after the last data frame. Zero
	// means no idle timeout.
	IdleTimeout time.Duration

	// WriteTimeout bounds the writing of each frame, so that a peer that
	// stops reading cannot block a writer forever: a frame not written in
	// time fails the connection, and the write reports an error wrapping
	// [os.ErrDeadlineExceeded]. Zero means no timeout.
	WriteTimeout time.Duration
}

// DialOptions configure [Dial]. A nil *DialOptions is valid and means all
// defaults. Dial copies what it needs and never modifies it.
type DialOptions struct {
	// Header holds extra request headers, such as Authorization or Cookie.
	Header http.Header

	// Host, if set, is sent as the Host header instead of the URL's host.
	Host string

	// Subprotocols lists the application protocols to offer, most preferred
	// first. [Conn.Subprotocol] reports the one the server chose.
	Subprotocols []string

	// TLSConfig is used for wss:// and https:// URLs and for HTTPS proxies.
	// Nil means the default configuration. ServerName defaults to the host.
	TLSConfig *tls.Config

	// NetDialContext dials the TCP connection (to the server or the proxy).
	// Nil means a [net.Dialer] with default settings.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Proxy returns the proxy for a request: an http://, https:// or
	// socks5:// URL, or nil for none. Nil means [http.ProxyFromEnvironment].
	// Credentials in the proxy URL are sent as Proxy-Authorization (HTTP) or
	// as a username and password (SOCKS5).
	Proxy func(*http.Request) (*url.URL, error)

	// ProxyConnectHeader holds extra headers for the HTTP CONNECT request.
	ProxyConnectHeader http.Header

	// Compression, if not nil, offers the permessage-deflate extension.
	// Nil means messages are never compressed.
	Compression *CompressionOptions

	// ReadLimit, ReadBufferSize, WriteBufferSize, CloseTimeout, OnPing and
	// OnPong mean what they mean in [UpgradeOptions].
	ReadLimit                       int64
	ReadBufferSize, WriteBufferSize int
	CloseTimeout                    time.Duration
	OnPing, OnPong                  func(payload []byte)

	// PingInterval, PongTimeout, AnyDataIsPong, IdleTimeout and
	// WriteTimeout mean what they mean in [UpgradeOptions]. The opening
	// handshake is bounded by the context given to Dial.
	PingInterval, PongTimeout time.Duration
	AnyDataIsPong             bool
	IdleTimeout, WriteTimeout time.Duration
}

// connConfig holds the settings a Conn keeps, with the defaults applied.
type connConfig struct {
	readLimit       int64
	readBufferSize  int
	writeBufferSize int
	closeTimeout    time.Duration
	onPing, onPong  func([]byte)
	subprotocol     string
	deflate         *deflateState // nil unless permessage-deflate was negotiated

	pingInterval, pongTimeout time.Duration // the heartbeat; zero interval for none
	anyDataIsPong             bool
	idleTimeout, writeTimeout time.Duration
}

// setTimeouts applies the heartbeat and timeout options.
func (cfg *connConfig) setTimeouts(ping, pong time.Duration, anyData bool, idle, write time.Duration) {
	cfg.pingInterval = max(ping, 0)
	cfg.pongTimeout = max(pong, 0)
	if cfg.pongTimeout == 0 {
		cfg.pongTimeout = cfg.pingInterval
	}
	cfg.anyDataIsPong = anyData
	cfg.idleTimeout = max(idle, 0)
	cfg.writeTimeout = max(write, 0)
}

func newConnConfig(readLimit int64, readBuf, writeBuf int, closeTimeout time.Duration, onPing, onPong func([]byte)) connConfig {
	cfg := connConfig{
		readLimit:       readLimit,
		readBufferSize:  readBuf,
		writeBufferSize: writeBuf,
		closeTimeout:    closeTimeout,
		onPing:          onPing,
		onPong:          onPong,
	}
	if cfg.readLimit <= 0 {
		cfg.readLimit = DefaultReadLimit
	}
	if cfg.readBufferSize <= 0 {
		cfg.readBufferSize = DefaultReadBufferSize
	}
	cfg.readBufferSize = max(cfg.readBufferSize, minReadBufferSize)
	if cfg.writeBufferSize <= 0 {
		cfg.writeBufferSize = DefaultWriteBufferSize
	}
	cfg.writeBufferSize = max(cfg.writeBufferSize, minReadBufferSize)
	if cfg.closeTimeout <= 0 {
		cfg.closeTimeout = DefaultCloseTimeout
	}
	return cfg
}

func (o *UpgradeOptions) connConfig() connConfig {
	if o == nil {
		return (&DialOptions{}).connConfig()
	}
	// The options a Conn keeps are the same on both sides.
	return (&DialOptions{
		ReadLimit: o.ReadLimit, ReadBufferSize: o.ReadBufferSize, WriteBufferSize: o.WriteBufferSize,
		CloseTimeout: o.CloseTimeout, OnPing: o.OnPing, OnPong: o.OnPong,
		PingInterval: o.PingInterval, PongTimeout: o.PongTimeout, AnyDataIsPong: o.AnyDataIsPong,
		IdleTimeout: o.IdleTimeout, WriteTimeout: o.WriteTimeout,
	}).connConfig()
}

func (o *DialOptions) connConfig() connConfig {
	if o == nil {
		o = &DialOptions{}
	}
	cfg := newConnConfig(o.ReadLimit, o.ReadBufferSize, o.WriteBufferSize, o.CloseTimeout, o.OnPing, o.OnPong)
	cfg.setTimeouts(o.PingInterval, o.PongTimeout, o.AnyDataIsPong, o.IdleTimeout, o.WriteTimeout)
	return cfg
}
