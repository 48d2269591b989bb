package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Report is a run's result.
type Report struct {
	Scenario string   `json:"scenario"`
	Prefix   string   `json:"prefix"`
	Targets  []string `json:"targets"`
	Procs    int      `json:"procs"`
	Conns    int      `json:"conns_flag,omitempty"`
	Pairs    int      `json:"pairs,omitempty"`
	Members  int      `json:"members,omitempty"`
	Senders  int      `json:"senders,omitempty"`
	Rate     float64  `json:"rate"`
	Duration string   `json:"duration"`
	Messages int      `json:"messages,omitempty"`
	Warmup   string   `json:"warmup"`
	Size     int      `json:"size"`

	Failed  bool    `json:"failed"`
	Verdict Verdict `json:"verdict"`

	// ChangeEvery, Changed and Changes report message changes (edits and
	// reactions): how many changed a message, and what the members got.
	ChangeEvery int           `json:"change_every,omitempty"`
	Changed     int64         `json:"changed,omitempty"`
	Changes     UpdateVerdict `json:"changes,omitzero"`
	receivers   []ReceiverStat

	Connections int     `json:"connections"`
	DialErrors  int64   `json:"dial_errors"`
	DialSeconds float64 `json:"dial_seconds"`
	ConnectRate float64 `json:"connect_rate"` // connections per second
	Receivers   int     `json:"receivers"`

	Sent              int64            `json:"sent"`
	Acked             int64            `json:"acked"`
	Unacked           int64            `json:"unacked"`
	ErrorCount        int64            `json:"error_count"`
	Errors            map[string]int64 `json:"errors"`
	MeasuredAcked     int64            `json:"measured_acked"`
	MeasuredDelivered int64            `json:"measured_delivered"`
	Window            float64          `json:"window_seconds"` // end of warmup to last measured ack
	Throughput        float64          `json:"throughput"`     // measured acks per second
	DeliveryRate      float64          `json:"delivery_rate"`  // measured deliveries per second

	AckLatency  Latency `json:"send_to_ack"`
	RecvLatency Latency `json:"send_to_receive"`

	Nodes []NodeStats `json:"nodes"`

	// ClientCPU is the CPU time the load generator spent during the load,
	// and per message and per delivery: on a shared machine it competes
	// with the server.
	ClientCPU         float64 `json:"client_cpu_seconds"`
	ClientCPUPerMsg   float64 `json:"client_cpu_us_per_message"`
	ClientCPUPerDeliv float64 `json:"client_cpu_us_per_delivery"`

	ackHist, recvHist *hdrhistogram.Histogram
}

// NodeStats is what one node's /metrics said changed during the load.
type NodeStats struct {
	Target      string  `json:"target"`
	Conns       int     `json:"conns"` // the run's connections to it
	RSSDelta    float64 `json:"rss_delta_bytes"`
	HeapDelta   float64 `json:"heap_inuse_delta_bytes"`
	StackDelta  float64 `json:"stack_inuse_delta_bytes"`
	Goroutines  float64 `json:"goroutines_delta"`
	RSSPerConn  float64 `json:"rss_per_conn_bytes"`
	HeapPerConn float64 `json:"heap_stack_per_conn_bytes"` // heap + stack in use
	CPUSeconds  float64 `json:"cpu_seconds"`
	Messages    float64 `json:"messages"`
	FramesOut   float64 `json:"frames_out"`
	CPUPerMsg   float64 `json:"cpu_us_per_message"`
	CPUPerFrame float64 `json:"cpu_us_per_delivery"`
	RSSAfter    float64 `json:"rss_after_bytes"`
	ServerConns float64 `json:"server_connections_after"`
}

func nodeStats(target string, b, a Sample, conns int) NodeStats {
	n := NodeStats{Target: target, Conns: conns,
		RSSDelta: a[mRSS] - b[mRSS], HeapDelta: a[mHeap] - b[mHeap], StackDelta: a[mStack] - b[mStack],
		Goroutines: a[mGoroutines] - b[mGoroutines], CPUSeconds: a[mCPU] - b[mCPU],
		Messages: a[mMessages] - b[mMessages], FramesOut: a[mFramesOut] - b[mFramesOut],
		RSSAfter: a[mRSS], ServerConns: a[mConns]}
	n.finish()
	return n
}

func (n *NodeStats) add(o NodeStats) {
	n.Conns += o.Conns
	n.RSSDelta += o.RSSDelta
	n.HeapDelta += o.HeapDelta
	n.StackDelta += o.StackDelta
	n.Goroutines += o.Goroutines
	n.CPUSeconds += o.CPUSeconds
	n.Messages += o.Messages
	n.FramesOut += o.FramesOut
	n.RSSAfter += o.RSSAfter
	n.ServerConns += o.ServerConns
}

func (n *NodeStats) finish() {
	if n.Conns > 0 {
		n.RSSPerConn = n.RSSDelta / float64(n.Conns)
		n.HeapPerConn = (n.HeapDelta + n.StackDelta) / float64(n.Conns)
	}
	if n.Messages > 0 {
		n.CPUPerMsg = n.CPUSeconds / n.Messages * 1e6
	}
	if n.FramesOut > 0 {
		n.CPUPerFrame = n.CPUSeconds / n.FramesOut * 1e6
	}
}

func (r *Report) clientPer() {
	if r.Sent > 0 {
		r.ClientCPUPerMsg = r.ClientCPU / float64(r.Sent) * 1e6
	}
	var deliv float64
	for _, n := range r.Nodes {
		if n.Target != "total" {
			deliv += n.FramesOut
		}
	}
	if deliv > 0 {
		r.ClientCPUPerDeliv = r.ClientCPU / deliv * 1e6
	}
}

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as a table for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	status := "PASSED"
	if r.Failed {
		status = "FAILED"
	}
	fmt.Fprintf(&b, "scenario   %s  (prefix %s, %d target(s), %d proc(s))\n", r.Scenario, r.Prefix, len(r.Targets), r.Procs)
	switch r.Scenario {
	case DM:
		fmt.Fprintf(&b, "load       %d pairs, rate %s, %s\n", r.Pairs, rateStr(r.Rate), r.lengthStr())
	case Group:
		fmt.Fprintf(&b, "load       %d members, %d sender(s), rate %s, %s\n", r.Members, r.Senders, rateStr(r.Rate), r.lengthStr())
	}
	fmt.Fprintf(&b, "result     %s\n", status)
	for _, f := range r.Verdict.Failures {
		fmt.Fprintf(&b, "  failure: %s\n", f)
	}
	fmt.Fprintf(&b, "connections %d in %.2fs (%.0f/s), dial errors %d\n", r.Connections, r.DialSeconds, r.ConnectRate, r.DialErrors)
	if r.Scenario != Connections {
		fmt.Fprintf(&b, "messages   sent %d  acked %d  unanswered %d  errors %d %s\n", r.Sent, r.Acked, r.Unacked, r.ErrorCount, errStr(r.Errors))
		fmt.Fprintf(&b, "throughput %.0f msgs/s acked, %.0f deliveries/s (measured %d msgs, %d deliveries over %.2fs)\n",
			r.Throughput, r.DeliveryRate, r.MeasuredAcked, r.MeasuredDelivered, r.Window)
		fmt.Fprintf(&b, "client CPU %.2fs (%.1f µs/msg, %.1f µs/delivery)\n", r.ClientCPU, r.ClientCPUPerMsg, r.ClientCPUPerDeliv)
		fmt.Fprintf(&b, "checks     receivers %d  lost %d  duplicates %d  out-of-order %d  dropped %d  unacked-but-delivered %d\n",
			r.Receivers, r.Verdict.Lost, r.Verdict.Duplicates, r.Verdict.OutOfOrder, r.Verdict.Dropped, r.Verdict.Unexpected)
		if r.ChangeEvery > 0 {
			fmt.Fprintf(&b, "changes    every %d msgs: %d changed, %d updates pushed  lost %d  duplicates %d  out-of-rev-order %d  unexpected %d\n",
				r.ChangeEvery, r.Changed, r.Changes.Delivered, r.Changes.Lost, r.Changes.Duplicates, r.Changes.OutOfOrder, r.Changes.Unexpected)
		}
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	if r.Scenario != Connections {
		fmt.Fprintln(&b)
		fmt.Fprintln(tw, "latency (ms)\tcount\tp50\tp90\tp99\tp99.9\tmax\t")
		for _, l := range []struct {
			name string
			l    Latency
		}{{"send->ack", r.AckLatency}, {"send->receive", r.RecvLatency}} {
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", l.name, l.l.Count, l.l.P50, l.l.P90, l.l.P99, l.l.P999, l.l.Max)
		}
		tw.Flush()
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(tw, "node\tconns\tRSS Δ MiB\theap+stack Δ MiB\tRSS/conn KiB\theap+stack/conn KiB\tgoroutines Δ\tCPU s\tmsgs\tframes out\tCPU µs/msg\tCPU µs/delivery\t")
	for _, n := range r.Nodes {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.2f\t%.2f\t%.0f\t%.2f\t%.0f\t%.0f\t%.1f\t%.1f\t\n", n.Target, n.Conns,
			n.RSSDelta/(1<<20), (n.HeapDelta+n.StackDelta)/(1<<20), n.RSSPerConn/1024, n.HeapPerConn/1024, n.Goroutines,
			n.CPUSeconds, n.Messages, n.FramesOut, n.CPUPerMsg, n.CPUPerFrame)
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) lengthStr() string {
	if r.Messages > 0 {
		return fmt.Sprintf("%d messages (warmup %s)", r.Messages, r.Warmup)
	}
	return fmt.Sprintf("%s after a %s warmup", r.Duration, r.Warmup)
}

func rateStr(r float64) string {
	if r == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%.0f/s", r)
}

func errStr(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return "(" + strings.Join(parts, " ") + ")"
}

// WriteSVG draws the latency percentile curves (send->ack and
// send->receive) as a small SVG: percentile on a log scale of 1/(1-p) on
// x, milliseconds on y.
func (r *Report) WriteSVG(w io.Writer) error {
	const (
		W, H                 = 720.0, 420.0
		left, right, top, bo = 70.0, 45.0, 40.0, 50.0
		xMaxDecades          = 5.0 // up to 99.999%
	)
	hists := []struct {
		name, color string
		h           *hdrhistogram.Histogram
	}{{"send->ack", "#1f77b4", r.ackHist}, {"send->receive", "#d62728", r.recvHist}}
	maxMS := 1.0
	for _, h := range hists {
		if h.h != nil && h.h.TotalCount() > 0 {
			maxMS = math.Max(maxMS, float64(h.h.Max())/1000)
		}
	}
	maxMS = niceCeil(maxMS)
	x := func(p float64) float64 { // p in percent
		d := -math.Log10(1 - p/100)
		return left + (W-left-right)*math.Min(d, xMaxDecades)/xMaxDecades
	}
	y := func(ms float64) float64 { return H - bo - (H-top-bo)*ms/maxMS }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", W, H)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="20" font-size="14">switchboard bench %s: latency by percentile</text>`+"\n", left, r.Scenario)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`+"\n", left, H-bo, W-right, H-bo)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`+"\n", left, top, left, H-bo)
	for _, p := range []float64{0, 90, 99, 99.9, 99.99, 99.999} {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#ddd"/><text x="%.1f" y="%.0f" text-anchor="middle">%g%%</text>`+"\n",
			x(p), top, x(p), H-bo, x(p), H-bo+16, p)
	}
	for i := 0; i <= 5; i++ {
		ms := maxMS * float64(i) / 5
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#ddd"/><text x="%.0f" y="%.1f" text-anchor="end">%g</text>`+"\n",
			left, y(ms), W-right, y(ms), left-6, y(ms)+4, ms)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">percentile</text>`+"\n", (left+W-right)/2, H-12)
	fmt.Fprintf(&b, `<text x="16" y="%.0f" transform="rotate(-90 16 %.0f)" text-anchor="middle">latency (ms)</text>`+"\n", (top+H-bo)/2, (top+H-bo)/2)
	for i, h := range hists {
		if h.h == nil || h.h.TotalCount() == 0 {
			continue
		}
		var pts []string
		for s := 0; s <= 200; s++ {
			p := 100 * (1 - math.Pow(10, -xMaxDecades*float64(s)/200))
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p), y(float64(h.h.ValueAtQuantile(p))/1000)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", h.color, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<rect x="%.0f" y="%d" width="12" height="3" fill="%s"/><text x="%.0f" y="%d">%s (n=%d)</text>`+"\n",
			left+12, int(top)+10+i*16, h.color, left+30, int(top)+14+i*16, h.name, h.h.TotalCount())
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}
