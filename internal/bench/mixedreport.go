package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// MixedReport is a mixed run's result.
type MixedReport struct {
	Users    int     `json:"daily_users"`
	Compress float64 `json:"compress"`
	Online   int     `json:"online"`   // steady connections
	Churners int     `json:"churners"` // pool of users coming and going
	Groups   int     `json:"groups"`
	// GroupSizes counts the groups by daily size bin ("3-10": n, ...);
	// GroupOnline is the mean and largest online member count.
	GroupSizes     map[string]int   `json:"group_sizes"`
	GroupOnlineAvg float64          `json:"group_online_mean"`
	GroupOnlineMax int              `json:"group_online_max"`
	Rate           float64          `json:"rate"`          // planned messages per second
	Duration       string           `json:"duration"`      // sending, warmup included
	SetupSeconds   float64          `json:"setup_seconds"` // signups, groups, dials
	Goal           float64          `json:"goal_p99_ms"`   // the p99 send->receive a run must stay under
	Holds          bool             `json:"holds"`         // passed and p99 under the goal
	Failed         bool             `json:"failed"`        // a delivery guarantee broken or a request failed
	Verdict        Verdict          `json:"verdict"`       //
	Errors         map[string]int64 `json:"errors"`        // by "what:code"

	Sent       int64   `json:"sent"`
	Acked      int64   `json:"acked"`
	Delivered  int64   `json:"delivered"`
	Throughput float64 `json:"throughput"`    // measured acks per second
	Deliveries float64 `json:"delivery_rate"` // measured deliveries per second

	Uploads       int64 `json:"uploads"`
	TypingSent    int64 `json:"typing_sent"`
	ReceiptsSent  int64 `json:"receipts_sent"`
	ReceiptFrames int64 `json:"receipt_frames"`
	TypingFrames  int64 `json:"typing_frames"`
	PresFrames    int64 `json:"presence_frames"`
	Connects      int64 `json:"connects"`
	Disconnects   int64 `json:"disconnects"`
	ChurnSkipped  int64 `json:"churn_skipped"` // connects due while every churner was online

	AckLatency    Latency `json:"send_to_ack"`
	RecvLatency   Latency `json:"send_to_receive"`
	UploadLatency Latency `json:"upload"`

	// Server figures, summed over the nodes: CPU seconds, per message and
	// as cores used over the load; RSS after the load.
	ServerCPU       float64 `json:"server_cpu_seconds"`
	ServerCPUPerMsg float64 `json:"server_cpu_us_per_message"`
	ServerCores     float64 `json:"server_cores"`
	FramesOut       float64 `json:"server_frames_out"`
	RSSAfter        float64 `json:"server_rss_after_bytes"`
	// UsersPerCore is the daily users one core of server CPU carries at
	// this compression, from the CPU the run used: a figure that depends
	// far less on other load on the machine than the latencies do.
	UsersPerCore float64 `json:"daily_users_per_server_core"`
	ClientCPU    float64 `json:"client_cpu_seconds"`
}

// report fills rep from the run.
func (r *mixedRun) report(rep *MixedReport, start time.Time, before, after []Sample) {
	cfg, p := r.cfg, r.plan
	rep.Users, rep.Compress, rep.Online, rep.Churners = p.Users, cfg.Compress, p.Online, p.Churners
	rep.Groups, rep.Rate = len(p.Groups), p.Rate
	rep.Duration = (cfg.Warmup + cfg.Duration).String()
	rep.Goal = float64(cfg.Goal) / float64(time.Millisecond)
	rep.GroupSizes = map[string]int{}
	var online int
	for k, g := range p.Groups {
		online += len(g)
		rep.GroupOnlineMax = max(rep.GroupOnlineMax, len(g))
		for _, b := range cfg.Workload.GroupSizes {
			if p.Sizes[k] >= b.Min && p.Sizes[k] <= b.Max {
				rep.GroupSizes[fmt.Sprintf("%d-%d", b.Min, b.Max)]++
				break
			}
		}
	}
	if len(p.Groups) > 0 {
		rep.GroupOnlineAvg = float64(online) / float64(len(p.Groups))
	}
	rep.Sent, rep.Acked, rep.Delivered = r.sent.Load(), r.ackedN.Load(), r.delivered.Load()
	rep.Uploads, rep.TypingSent, rep.ReceiptsSent = r.uploads.Load(), r.typingSent.Load(), r.receiptsSent.Load()
	rep.ReceiptFrames, rep.TypingFrames, rep.PresFrames = r.receiptFrames.Load(), r.typingFrames.Load(), r.presFrames.Load()
	rep.Connects, rep.Disconnects, rep.ChurnSkipped = r.connects.Load(), r.disconnects.Load(), r.churnSkipped.Load()
	if n, last := r.ackHist.totals(); last > r.warmEnd {
		rep.Throughput = float64(n) / (float64(last-r.warmEnd) / 1e9)
	}
	if n, last := r.recvHist.totals(); last > r.warmEnd {
		rep.Deliveries = float64(n) / (float64(last-r.warmEnd) / 1e9)
	}
	rep.AckLatency = summarize(r.ackHist.merged())
	rep.RecvLatency = summarize(r.recvHist.merged())
	rep.UploadLatency = summarize(r.uploadHist.merged())

	// Each (recipient, conversation) is its own receiver; keys name the
	// conversation so Check compares it with that conversation's acks.
	var stats []ReceiverStat
	for _, u := range r.users {
		for key, rc := range u.rcv {
			st := rc.Stat()
			from := make(map[string]int64, len(st.From))
			for s, n := range st.From {
				from[key+"/"+s] = n
			}
			expect := make([]string, len(st.Expect))
			for i, s := range st.Expect {
				expect[i] = key + "/" + s
			}
			st.From, st.Expect = from, expect
			if err := u.conn.Err(); err != nil {
				st.Dropped = err.Error()
			}
			stats = append(stats, st)
		}
	}
	r.amu.Lock()
	rep.Verdict = Check(r.acked, stats)
	r.amu.Unlock()
	r.emu.Lock()
	rep.Errors = r.errs
	r.emu.Unlock()
	if n := rep.Sent - rep.Acked - sumPrefix(rep.Errors, "send:"); n > 0 {
		rep.Verdict.Failures = append(rep.Verdict.Failures, fmt.Sprintf("%d sends never answered", n))
	}
	if len(rep.Errors) > 0 {
		rep.Verdict.Failures = append(rep.Verdict.Failures, "requests failed: "+errStr(rep.Errors))
	}
	rep.Failed = rep.Verdict.Failed()
	rep.Holds = !rep.Failed && rep.RecvLatency.Count > 0 && rep.RecvLatency.P99 < rep.Goal

	var msgs float64
	for i := range before {
		rep.ServerCPU += after[i][mCPU] - before[i][mCPU]
		rep.FramesOut += after[i][mFramesOut] - before[i][mFramesOut]
		rep.RSSAfter += after[i][mRSS]
		msgs += after[i][mMessages] - before[i][mMessages]
	}
	if msgs > 0 {
		rep.ServerCPUPerMsg = rep.ServerCPU / msgs * 1e6
	}
	if secs := time.Since(start).Seconds(); secs > 0 {
		rep.ServerCores = rep.ServerCPU / secs
	}
	if rep.ServerCores > 0 {
		rep.UsersPerCore = float64(p.Users) / rep.ServerCores
	}
}

func sumPrefix(m map[string]int64, prefix string) int64 {
	var n int64
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// WriteText writes the report for people.
func (rep *MixedReport) WriteText(w io.Writer) error {
	var b strings.Builder
	verdict := "HOLDS"
	switch {
	case rep.Failed:
		verdict = "FAILED: " + strings.Join(rep.Verdict.Failures, "; ")
	case !rep.Holds:
		verdict = fmt.Sprintf("too slow: p99 send->receive %.1f ms, goal %.0f ms", rep.RecvLatency.P99, rep.Goal)
	}
	bins := make([]string, 0, len(rep.GroupSizes))
	for k, v := range rep.GroupSizes {
		bins = append(bins, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(bins)
	lat := func(l Latency) string {
		return fmt.Sprintf("p50 %.1f  p90 %.1f  p99 %.1f  max %.1f ms (%d)", l.P50, l.P90, l.P99, l.Max, l.Count)
	}
	fmt.Fprintf(&b, "mixed      %d daily users x%g in time: %d online, %d churners, %.1f msgs/s for %s (setup %.1fs)\n",
		rep.Users, rep.Compress, rep.Online, rep.Churners, rep.Rate, rep.Duration, rep.SetupSeconds)
	fmt.Fprintf(&b, "groups     %d (daily sizes %s), online members mean %.1f, max %d\n",
		rep.Groups, strings.Join(bins, ", "), rep.GroupOnlineAvg, rep.GroupOnlineMax)
	fmt.Fprintf(&b, "verdict    %s\n", verdict)
	fmt.Fprintf(&b, "messages   sent %d  acked %d  delivered %d  (%.0f msgs/s, %.0f deliveries/s)  errors %s\n",
		rep.Sent, rep.Acked, rep.Delivered, rep.Throughput, rep.Deliveries, errStr(rep.Errors))
	fmt.Fprintf(&b, "checks     lost %d  duplicates %d  out-of-order %d  dropped %d\n",
		rep.Verdict.Lost, rep.Verdict.Duplicates, rep.Verdict.OutOfOrder, rep.Verdict.Dropped)
	fmt.Fprintf(&b, "also       %d uploads, %d typing, %d receipts sent; pushed %d receipt, %d typing, %d presence frames; %d connects, %d disconnects (%d skipped)\n",
		rep.Uploads, rep.TypingSent, rep.ReceiptsSent, rep.ReceiptFrames, rep.TypingFrames, rep.PresFrames, rep.Connects, rep.Disconnects, rep.ChurnSkipped)
	fmt.Fprintf(&b, "send->recv %s\nsend->ack  %s\nupload     %s\n", lat(rep.RecvLatency), lat(rep.AckLatency), lat(rep.UploadLatency))
	fmt.Fprintf(&b, "server     CPU %.2fs (%.0f µs/msg, %.2f cores: %.0f daily users per core), %.0f frames out, RSS %.0f MiB; generator CPU %.2fs\n",
		rep.ServerCPU, rep.ServerCPUPerMsg, rep.ServerCores, rep.UsersPerCore, rep.FramesOut, rep.RSSAfter/(1<<20), rep.ClientCPU)
	_, err := io.WriteString(w, b.String())
	return err
}
