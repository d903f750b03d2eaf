// Command metrics-prometheus serves a WebSocket echo endpoint and shows a
// conntrack.Tracker's metrics to Prometheus on /metrics. It lives in its own
// module so that the library does not depend on the Prometheus client.
//
// Two small adapters do the work:
//
//   - collector reads a conntrack.Metrics snapshot at each scrape and
//     reports it as counters and a gauge: the usual shape of a Prometheus
//     collector over a system that keeps its own counts;
//   - hook, a conntrack.Hook, observes each connection as it closes,
//     here into a histogram of messages per connection, which a snapshot of
//     totals cannot give.
//
// Run it with
//
//	cd examples/metrics-prometheus && go run . -addr 127.0.0.1:8080
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/wsforge/websocket"
	"github.com/wsforge/websocket/conntrack"
)

// collector reports a conntrack.Tracker's Metrics at scrape time.
type collector struct {
	ws                                     *conntrack.Tracker
	conns, active, failures                *prometheus.Desc
	messages, bytes, connErrors, closeCode *prometheus.Desc
}

func newCollector(ws *conntrack.Tracker) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("websocket_"+name, help, labels, nil)
	}
	return &collector{
		ws:         ws,
		conns:      d("connections_total", "WebSocket connections upgraded."),
		active:     d("connections_active", "WebSocket connections open."),
		failures:   d("handshake_failures_total", "Upgrades refused or failed, by reason.", "reason"),
		messages:   d("messages_total", "Data messages, by direction.", "direction"),
		bytes:      d("payload_bytes_total", "Payload bytes of data messages, by direction.", "direction"),
		connErrors: d("connection_errors_total", "Connections that ended in an error, by kind.", "kind"),
		closeCode:  d("close_frames_total", "Close frames, by direction and code.", "direction", "code"),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	m := c.ws.Metrics()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.conns, m.ConnsTotal)
	ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(m.ConnsActive))
	for reason, n := range m.HandshakeFailures {
		counter(c.failures, n, string(reason))
	}
	counter(c.messages, m.MessagesIn, "in")
	counter(c.messages, m.MessagesOut, "out")
	counter(c.bytes, m.BytesIn, "in")
	counter(c.bytes, m.BytesOut, "out")
	counter(c.connErrors, m.ReadErrors, "read")
	counter(c.connErrors, m.WriteErrors, "write")
	counter(c.connErrors, m.PongTimeouts, "pong_timeout")
	for code, n := range m.CloseSent {
		counter(c.closeCode, n, "sent", strconv.Itoa(int(code)))
	}
	for code, n := range m.CloseReceived {
		counter(c.closeCode, n, "received", strconv.Itoa(int(code)))
	}
}

// hook observes every connection as it closes.
type hook struct{ messages prometheus.Histogram }

func (h hook) ConnOpened()                       {}
func (h hook) HandshakeFailed(conntrack.Failure) {}
func (h hook) ConnClosed(s websocket.ConnStats)  { h.messages.Observe(float64(s.MessagesIn)) }

// newHandler returns the echo endpoint on /ws and the metrics on /metrics,
// registering the adapters for ws with reg.
func newHandler(ws *conntrack.Tracker, reg *prometheus.Registry) http.Handler {
	h := hook{prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "websocket_connection_messages_in",
		Help:    "Messages received per WebSocket connection, observed when it closes.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 8),
	})}
	ws.Hook = h
	reg.MustRegister(newCollector(ws), h.messages)

	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Upgrade(w, r, upgradeOptions)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(context.Background(), nil)
			if err != nil || c.Write(context.Background(), typ, msg) != nil {
				return
			}
		}
	})
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "`host:port` to listen on")
	flag.Parse()
	ws := &conntrack.Tracker{MaxConns: 10000}
	srv := &http.Server{Addr: *addr, Handler: newHandler(ws, prometheus.NewRegistry()), ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(func() { ws.Shutdown(context.Background()) })

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		ws.Shutdown(sctx)
	}()
	log.Printf("serving ws://%s/ws, metrics on http://%[1]s/metrics", *addr)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
	<-ctx.Done()
}

// upgradeOptions give every connection a heartbeat and timeouts suited to
// the Internet.
var upgradeOptions = &websocket.UpgradeOptions{
	HandshakeTimeout: 10 * time.Second,
	PingInterval:     25 * time.Second, // under the 30-60 s after which proxies drop a silent connection
	PongTimeout:      15 * time.Second,
	WriteTimeout:     30 * time.Second,
}
