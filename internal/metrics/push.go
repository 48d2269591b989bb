package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Push is the Web Push sender's collectors.
type Push struct {
	sent    prometheus.Counter
	failed  *prometheus.CounterVec
	removed prometheus.Counter
	depth   prometheus.Gauge
	outbox  prometheus.Gauge
}

// Push registers the Web Push collectors on the node's registry.
func (m *Metrics) Push(node string) *Push {
	labels := prometheus.Labels{"node": node}
	p := &Push{
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_pushes_sent_total", Help: "Web Pushes a push service accepted.", ConstLabels: labels}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_pushes_failed_total", Help: "Web Pushes refused, by HTTP status (0: no answer).", ConstLabels: labels}, []string{"status"}),
		removed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_push_subscriptions_removed_total", Help: "Subscriptions removed after a 404 or 410.", ConstLabels: labels}),
		depth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_push_queue_depth", Help: "Pushes queued in the store, all nodes'.", ConstLabels: labels}),
		outbox: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_push_outbox_depth", Help: "Stored messages whose pushes are not queued yet (their presence grace has not passed), all nodes'.", ConstLabels: labels}),
	}
	m.reg.MustRegister(p.sent, p.failed, p.removed, p.depth, p.outbox)
	return p
}

// Sent counts a push accepted.
func (p *Push) Sent() { p.sent.Inc() }

// Failed counts a push refused with status.
func (p *Push) Failed(status int) { p.failed.WithLabelValues(strconv.Itoa(status)).Inc() }

// Removed counts a subscription removed.
func (p *Push) Removed() { p.removed.Inc() }

// Depth sets the queue depth.
func (p *Push) Depth(n int) { p.depth.Set(float64(n)) }

// Outbox sets the outbox depth.
func (p *Push) Outbox(n int) { p.outbox.Set(float64(n)) }
