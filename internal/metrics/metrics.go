// Package metrics holds a node's Prometheus collectors on a registry of its
// own (no global state) and hands the core and the gateway plain functions
// (wired in cmd/), so neither imports Prometheus.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Metrics is one node's set of collectors.
type Metrics struct {
	reg          *prometheus.Registry
	connections  prometheus.Gauge
	messages     prometheus.Counter
	framesIn     *prometheus.CounterVec
	framesOut    prometheus.Counter
	slowClosed   prometheus.Counter
	storeLatency *prometheus.HistogramVec
	batchSize    prometheus.Histogram
}

// New registers a node's collectors, and the Go runtime and process ones.
func New(node string) *Metrics {
	reg := prometheus.NewRegistry()
	labels := prometheus.Labels{"node": node}
	m := &Metrics{
		reg: reg,
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_connections", Help: "Open WebSocket connections.", ConstLabels: labels}),
		messages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_messages_sent_total", Help: "Messages stored by this node.", ConstLabels: labels}),
		framesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_frames_in_total", Help: "Client frames received, by type.", ConstLabels: labels}, []string{"type"}),
		framesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_frames_out_total", Help: "Event frames pushed to connections.", ConstLabels: labels}),
		slowClosed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_slow_clients_closed_total", Help: "Connections closed because their outbound queue was full.", ConstLabels: labels}),
		storeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_store_seconds", Help: "Store call latency, by operation.", ConstLabels: labels,
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}, []string{"op"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "switchboard_append_batch_messages", Help: "Messages per group-committed store transaction.", ConstLabels: labels,
			Buckets: prometheus.ExponentialBuckets(1, 2, 11)}),
	}
	reg.MustRegister(m.connections, m.messages, m.framesIn, m.framesOut, m.slowClosed, m.storeLatency, m.batchSize,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the node's registry, for adapters with collectors of their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Core returns the hooks for chat.Config.
func (m *Metrics) Core() chat.Metrics {
	return chat.Metrics{
		StoreLatency: func(op string, d time.Duration) { m.storeLatency.WithLabelValues(op).Observe(d.Seconds()) },
		MessageSent:  m.messages.Inc,
		BatchSize:    func(n int) { m.batchSize.Observe(float64(n)) },
	}
}

// Connections adds d to the open connections.
func (m *Metrics) Connections(d int) { m.connections.Add(float64(d)) }

// FrameIn counts a client frame of type typ.
func (m *Metrics) FrameIn(typ string) {
	switch typ {
	case "auth", "send", "sync", "receipt", "typing", "presence_subscribe", "ping":
	default:
		typ = "other" // keep label cardinality bounded
	}
	m.framesIn.WithLabelValues(typ).Inc()
}

// FramesOut counts n event frames pushed to connections.
func (m *Metrics) FramesOut(n int) { m.framesOut.Add(float64(n)) }

// SlowClosed counts a connection closed for a full outbound queue.
func (m *Metrics) SlowClosed() { m.slowClosed.Inc() }
