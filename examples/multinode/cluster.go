package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cluster is redis-server, the nodes and nginx, running on loopback.
type cluster struct {
	Addr  string   // nginx's, where clients connect
	Redis string   // redis-server's
	Nodes []string // each node's address, in the order of their names a, b, ...

	dir   string
	procs []*process
	nodes []*node
}

// runCluster runs a cluster of n nodes with nginx on addr until ctx ends.
func runCluster(ctx context.Context, addr string, n int, out io.Writer) error {
	// The processes' logs are left out; their errors say what went wrong.
	c, err := startCluster(ctx, addr, n, io.Discard)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "multinode chat: open http://%s/ in a browser (Ctrl-C to stop)\n", c.Addr)
	for i, a := range c.Nodes {
		fmt.Fprintf(out, "  node %s on http://%s/\n", nodeName(i), a)
	}
	fmt.Fprintf(out, "  redis-server on %s\n", c.Redis)
	<-ctx.Done()
	fmt.Fprintln(out, "multinode chat: shutting down")
	return c.Stop()
}

// nodeName names the i-th node: a, b, c...
func nodeName(i int) string { return string(rune('a' + i)) }

// startCluster starts redis-server, n nodes and nginx in front of them on
// addr, all on loopback, and returns once each accepts connections. The
// processes' logs go to log.
func startCluster(ctx context.Context, addr string, n int, log io.Writer) (_ *cluster, err error) {
	redisServer, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found (Debian: apt-get install redis-server): %w", err)
	}
	nginx, err := findNginx()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "wsforge-multinode-")
	if err != nil {
		return nil, err
	}
	c := &cluster{Addr: addr, dir: dir}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()

	if c.Redis, err = freeAddr(); err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(c.Redis)
	redisProc, err := startProcess(log, "redis-server", redisServer,
		"--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--dir", dir, "--loglevel", "warning")
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, redisProc)
	if err := redisProc.waitListening(c.Redis); err != nil {
		return nil, err
	}

	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		nd, err := startNode(ctx, nodeName(i), ln, c.Redis)
		if err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, nd)
		c.Nodes = append(c.Nodes, nd.addr)
	}

	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, nginxConfig(dir, addr, c.Nodes), 0o644); err != nil {
		return nil, err
	}
	// One process in the foreground, stopped by its PID.
	nginxProc, err := startProcess(log, "nginx", nginx, "-p", dir, "-c", conf, "-e", "stderr",
		"-g", "daemon off; master_process off;")
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, nginxProc)
	if err := nginxProc.waitListening(addr); err != nil {
		return nil, err
	}
	return c, nil
}

// Stop stops nginx, the nodes (closing their connections with 1001) and
// redis-server, and removes the cluster's files.
func (c *cluster) Stop() error {
	var errs []error
	// nginx first, so that no client comes in meanwhile; then the nodes,
	// which need Redis no more; then Redis.
	for i := len(c.procs) - 1; i >= 0; i-- {
		if c.procs[i].name == "nginx" {
			errs = append(errs, c.procs[i].stop())
		}
	}
	for _, n := range c.nodes {
		errs = append(errs, n.stop())
	}
	for _, p := range c.procs {
		if p.name != "nginx" {
			errs = append(errs, p.stop())
		}
	}
	errs = append(errs, os.RemoveAll(c.dir))
	return errors.Join(errs...)
}

// nginxConfig balances the clients over the nodes, passing WebSocket
// upgrades through as nginx's documentation says.
func nginxConfig(dir, addr string, nodes []string) []byte {
	var upstream strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&upstream, "\t\tserver %s;\n", n)
	}
	return fmt.Appendf(nil, `
pid %[1]s/nginx.pid;
error_log stderr warn;
worker_processes 1;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;

	upstream chat {
%[3]s	}
	map $http_upgrade $connection_upgrade {
		default upgrade;
		''      close;
	}
	server {
		listen %[2]s;
		location / {
			proxy_pass http://chat;
			proxy_http_version 1.1;
			proxy_set_header Upgrade $http_upgrade;
			proxy_set_header Connection $connection_upgrade;
			proxy_set_header Host $http_host;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
			# The nodes ping every 25 s; this only ends dead connections.
			proxy_read_timeout 1h;
		}
	}
}
`, dir, addr, upstream.String())
}

// findNginx returns the path of nginx, which Debian installs in /usr/sbin,
// not always on a user's PATH.
func findNginx() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx", nil
	}
	return "", errors.New("nginx not found (Debian: apt-get install nginx)")
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// process is a program the cluster runs in the foreground.
type process struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // of Wait, once exited is closed
	out    *lockedBuffer
}

func startProcess(log io.Writer, name, path string, args ...string) (*process, error) {
	p := &process{
		name:   name,
		cmd:    exec.Command(path, args...),
		exited: make(chan struct{}),
		out:    &lockedBuffer{},
	}
	w := io.MultiWriter(p.out, prefixWriter(log, name+": "))
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitListening polls addr until the process accepts connections there.
func (p *process) waitListening(addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited (%v) before listening on %s: %s", p.name, p.err, addr, p.out)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: nothing listening on %s after 10 s: %s", p.name, addr, p.out)
		}
	}
}

// stop ends the process with SIGTERM, or kills it after 5 s.
func (p *process) stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s did not stop within 5 s of SIGTERM; killed", p.name)
	}
}

// lockedBuffer is a bytes.Buffer for several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// prefixWriter writes to w each line prefixed.
func prefixWriter(w io.Writer, prefix string) io.Writer {
	return &prefixed{w: w, prefix: prefix, bol: true}
}

type prefixed struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	bol    bool // at the beginning of a line
}

func (p *prefixed) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []byte
	for _, c := range b {
		if p.bol {
			out = append(out, p.prefix...)
		}
		out = append(out, c)
		p.bol = c == '\n'
	}
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}
