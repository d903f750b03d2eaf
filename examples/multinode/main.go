// Command multinode runs the chat of examples/chat on several nodes behind
// nginx, the nodes fanning events out to each other through Redis pub/sub:
// a client on one node talks with clients on every other. It is what a chat
// does once one machine is not enough.
//
// With no flags it starts a whole cluster on this machine, for trying it:
// redis-server, two nodes and nginx in front of them, all on loopback, and
// prints the URL to open (http://127.0.0.1:8080/ unless -addr says
// otherwise). Each line of the page says which node it came through.
//
//	cd examples/multinode && go run .
//
// It needs nginx and redis-server installed (Debian: apt-get install nginx
// redis-server). On a real deployment each machine runs one node, told its
// name and the Redis address, behind the load balancer of your choice:
//
//	go run . -node a -addr 10.0.0.1:8080 -redis 10.0.0.9:6379
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsforge/websocket/examples/chat/chat"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "`host:port` to listen on: nginx's in a cluster, the node's with -node")
	node := flag.String("node", "", "run one node with this `name`, instead of a whole cluster")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis `host:port` for -node")
	nodes := flag.Int("nodes", 2, "how many nodes a cluster has")
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	if *node != "" {
		err = runNode(ctx, *node, *addr, *redisAddr, os.Stdout)
	} else {
		err = runCluster(ctx, *addr, *nodes, os.Stdout)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// runNode serves one chat node on addr until ctx ends.
func runNode(ctx context.Context, name, addr, redisAddr string, out io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	n, err := startNode(ctx, name, ln, redisAddr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "node %s: serving on http://%s/, relaying through Redis at %s\n", name, ln.Addr(), redisAddr)
	<-ctx.Done()
	return n.stop()
}

// node is one running chat node.
type node struct {
	name    string
	addr    string
	chat    *chat.Server
	http    *http.Server
	served  chan error
	rdb     *redis.Client
	cancel  context.CancelFunc
	relayed func() // waits for the relay's subscription to end
}

// startNode serves a chat node called name on ln, relaying through Redis
// at redisAddr. It returns once the node's subscription is in place.
func startNode(ctx context.Context, name string, ln net.Listener, redisAddr string) (*node, error) {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	relay := &RedisRelay{rdb: rdb}
	cs := &chat.Server{Node: name, Relay: relay}
	// Deliveries go on until stop, whatever becomes of ctx.
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	relayed, err := relay.Subscribe(rctx, cs)
	if err != nil {
		cancel()
		rdb.Close()
		ln.Close()
		return nil, fmt.Errorf("node %s: %w", name, err)
	}
	n := &node{
		name:    name,
		addr:    ln.Addr().String(),
		chat:    cs,
		rdb:     rdb,
		cancel:  cancel,
		relayed: relayed,
		served:  make(chan error, 1),
		http: &http.Server{
			Handler:           cs,
			ReadHeaderTimeout: 10 * time.Second,
		},
	}
	go func() { n.served <- n.http.Serve(ln) }()
	return n, nil
}

// stop closes the node's connections with 1001 (going away), then its
// relay.
func (n *node) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	herr := n.http.Shutdown(ctx)
	werr := n.chat.Shutdown(ctx)
	if err := <-n.served; !errors.Is(err, http.ErrServerClosed) {
		herr = err
	}
	n.cancel()
	n.relayed()
	return errors.Join(herr, werr, n.rdb.Close())
}
