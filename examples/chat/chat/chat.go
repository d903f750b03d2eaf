// Package chat is a multi-room chat server: the handler behind the
// examples/chat command, importable so that tests (the browser test in
// interop/) and examples/multinode can run it.
//
// A browser loads the page at / and opens a WebSocket to
// /ws?room=ROOM&name=NAME, offering the subprotocol "chat.v1". A text message
// it sends is a chat line; a binary message is an attachment. The server
// sends every client of the room, the sender included, each event as one JSON
// text message (an [Event]); an attachment's event is followed by its bytes
// as a binary message.
//
// Each client has a [sendqueue.Queue], and an event is encoded once and
// handed to every queue of the room with [sendqueue.Broadcast], so a slow
// client costs the others nothing: when its queue is full it is
// disconnected with 1013 (try again later). Every connection has a
// heartbeat, and a [conntrack.Tracker] tracks them for Shutdown and for the
// counters served at /metrics.
package chat

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/conntrack"
	"github.com/wsforge/websocket/sendqueue"
)

// Subprotocol is the WebSocket subprotocol the chat speaks. Clients that
// offer none are served all the same.
const Subprotocol = "chat.v1"

// MaxMessage is the largest message, text or binary, a client may send.
const MaxMessage = 4 << 20

// Event is what the server tells the clients of a room, as JSON.
type Event struct {
	Type string    `json:"type"` // "join", "leave", "message" or "attachment"
	Room string    `json:"room"`
	From string    `json:"from"`           // the client's name
	Node string    `json:"node,omitempty"` // the server instance the client is connected to
	Text string    `json:"text,omitempty"` // a message's text
	Size int       `json:"size,omitempty"` // an attachment's size in bytes
	Time time.Time `json:"time"`

	// Data is an attachment's bytes. Clients receive them as the binary
	// message that follows the event; a Relay carries them in the event.
	Data []byte `json:"data,omitempty"`
}

// A Relay carries events between the instances of a chat that runs on
// several machines. When a Server has one, it publishes the events its
// clients cause instead of delivering them itself, and the Relay calls
// Server.Deliver on every instance, this one included, for each event
// published anywhere.
type Relay interface {
	Publish(ctx context.Context, ev Event) error
}

// Seen is what the server observed of one event a client caused, for
// logging and tests.
type Seen struct {
	Event
	Subprotocol string // the subprotocol negotiated
	Extensions  string // the Sec-WebSocket-Extensions header the client offered
	// Close is, for a leave, the error that ended the connection: a
	// *websocket.CloseError with the client's code and reason when the
	// client closed.
	Close error
	// Stats is, for a leave, what the connection carried.
	Stats websocket.ConnStats
}

// Server serves the chat page and its WebSocket endpoint. Set its fields
// before serving; the zero value is ready to use.
type Server struct {
	// Node names this instance in the events it sends.
	Node string
	// Relay, if set, carries events to and from other instances.
	Relay Relay
	// Observe, if set, is called with every event a client of this
	// instance causes, before it is delivered.
	Observe func(Seen)
	// Options, if set, replaces the upgrade options (a heartbeat every 25 s,
	// timeouts, compression, this package's subprotocol and read limit).
	Options *websocket.UpgradeOptions

	ws       conntrack.Tracker
	initOnce sync.Once
	mux      *http.ServeMux
	guests   atomic.Uint64

	mu    sync.Mutex
	rooms map[string]*room
}

// room is the clients connected to one room on this instance.
type room struct {
	// mu orders the fan-out: the events of a room reach every client in
	// the same order, and an attachment's bytes follow its event.
	mu      sync.Mutex
	clients map[*client]struct{}
}

type client struct {
	name string
	c    *websocket.Conn
	q    *sendqueue.Queue
}

//go:embed static
var static embed.FS

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.rooms = make(map[string]*room)
		sub, _ := fs.Sub(static, "static")
		s.mux = http.NewServeMux()
		s.mux.Handle("GET /", http.FileServerFS(sub))
		s.mux.HandleFunc("GET /ws", s.serveWS)
		s.mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(s.ws.Metrics())
		})
	})
}

// ServeHTTP serves the page at /, the WebSocket endpoint at /ws and the
// connection counters at /metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.init()
	s.mux.ServeHTTP(w, r)
}

// Shutdown closes every chat connection with 1001 (going away) and waits
// for their close handshakes, or for ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.ws.Shutdown(ctx)
}

// Metrics returns the counters of the server's connections.
func (s *Server) Metrics() conntrack.Metrics { return s.ws.Metrics() }

var validName = regexp.MustCompile(`^[\p{L}\p{N}_.-]{1,32}$`)

func (s *Server) upgradeOptions() *websocket.UpgradeOptions {
	if s.Options != nil {
		return s.Options
	}
	return &websocket.UpgradeOptions{
		Subprotocols:     []string{Subprotocol},
		Compression:      &websocket.CompressionOptions{},
		ReadLimit:        MaxMessage,
		HandshakeTimeout: 10 * time.Second,
		PingInterval:     25 * time.Second, // under the 30-60 s after which proxies drop a silent connection
		PongTimeout:      15 * time.Second,
		WriteTimeout:     30 * time.Second,
	}
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	roomName := r.URL.Query().Get("room")
	if roomName == "" {
		roomName = "lobby"
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		name = fmt.Sprintf("guest-%d", s.guests.Add(1))
	}
	if !validName.MatchString(roomName) || !validName.MatchString(name) {
		http.Error(w, "room and name: 1 to 32 letters, digits, '_', '.' or '-'", http.StatusBadRequest)
		return
	}
	c, err := s.ws.Upgrade(w, r, s.upgradeOptions())
	if err != nil {
		return // Upgrade has answered the request
	}
	defer c.CloseNow()
	cl := &client{
		name: name,
		c:    c,
		q: sendqueue.New(c, &sendqueue.Options{
			MaxBytes:  4 * MaxMessage,
			Overflow:  sendqueue.OverflowClose,
			CloseCode: websocket.StatusTryAgainLater,
		}),
	}
	defer func() {
		// Flush what is queued for a client still connected, briefly.
		qctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		cl.q.Close(qctx)
		cancel()
	}()
	seen := Seen{Subprotocol: c.Subprotocol(), Extensions: r.Header.Get("Sec-WebSocket-Extensions")}

	ctx := r.Context()
	s.join(roomName, cl)
	s.emit(ctx, seen, Event{Type: "join", Room: roomName, From: name})
	err = s.readLoop(ctx, roomName, cl, seen)
	s.leave(roomName, cl)
	seen.Close, seen.Stats = err, c.Stats()
	s.emit(context.WithoutCancel(ctx), seen, Event{Type: "leave", Room: roomName, From: name})
}

// readLoop turns the client's messages into events until the connection
// ends, and returns what ended it.
func (s *Server) readLoop(ctx context.Context, roomName string, cl *client, seen Seen) error {
	var buf []byte
	for {
		typ, msg, err := cl.c.Read(ctx, buf[:0])
		if err != nil {
			return err
		}
		ev := Event{Room: roomName, From: cl.name}
		switch typ {
		case websocket.MessageText:
			ev.Type, ev.Text = "message", string(msg)
		case websocket.MessageBinary:
			ev.Type, ev.Size, ev.Data = "attachment", len(msg), slices.Clone(msg)
		}
		s.emit(ctx, seen, ev)
		buf = msg
		if cap(buf) > 64<<10 {
			buf = nil // do not pin a large message's buffer
		}
	}
}

// emit stamps ev, reports it to Observe, and delivers it: through the
// Relay if there is one, else to this instance's clients.
func (s *Server) emit(ctx context.Context, seen Seen, ev Event) {
	ev.Node, ev.Time = s.Node, time.Now().UTC()
	if s.Observe != nil {
		seen.Event = ev
		s.Observe(seen)
	}
	if s.Relay != nil {
		// A failed publish loses the event, as a chat may; the client
		// stays connected.
		s.Relay.Publish(ctx, ev)
		return
	}
	s.Deliver(ctx, ev)
}

// Deliver sends ev to the clients of its room connected to this instance.
// A Relay calls it for each event published.
func (s *Server) Deliver(ctx context.Context, ev Event) {
	s.init()
	s.mu.Lock()
	rm := s.rooms[ev.Room]
	s.mu.Unlock()
	if rm == nil {
		return
	}
	data := ev.Data
	ev.Data = nil
	text, err := json.Marshal(ev)
	if err != nil {
		return
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	queues := make([]*sendqueue.Queue, 0, len(rm.clients))
	for cl := range rm.clients {
		queues = append(queues, cl.q)
	}
	// The queues close a client that falls behind rather than block, so
	// Broadcast returns at once.
	sendqueue.Broadcast(ctx, websocket.MessageText, text, queues...)
	if ev.Type == "attachment" {
		sendqueue.Broadcast(ctx, websocket.MessageBinary, data, queues...)
	}
}

func (s *Server) join(name string, cl *client) {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	rm := s.rooms[name]
	if rm == nil {
		rm = &room{clients: make(map[*client]struct{})}
		s.rooms[name] = rm
	}
	rm.mu.Lock()
	rm.clients[cl] = struct{}{}
	rm.mu.Unlock()
}

func (s *Server) leave(name string, cl *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rm := s.rooms[name]
	rm.mu.Lock()
	delete(rm.clients, cl)
	empty := len(rm.clients) == 0
	rm.mu.Unlock()
	if empty {
		delete(s.rooms, name)
	}
}

// Rooms returns the names of the rooms with clients on this instance and
// how many each has, for tests and monitoring.
func (s *Server) Rooms() map[string]int {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.rooms))
	for name, rm := range s.rooms {
		rm.mu.Lock()
		m[name] = len(rm.clients)
		rm.mu.Unlock()
	}
	return m
}
