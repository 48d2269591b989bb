package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	loadgen "github.com/switchboard-chat/switchboard/internal/bench"
)

// runJSON runs `switchboard ARGS --json` and decodes its output into v.
func runJSON(t *testing.T, v any, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, append(args, "--json"), func(string) string { return "" }, &out, &errOut)
	if jerr := json.Unmarshal(out.Bytes(), v); jerr != nil {
		t.Fatalf("%v: %v; output %q; stderr %q; decode: %v", args, err, out.String(), errOut.String(), jerr)
	}
	return err
}

// TestBenchMixed runs a short mixed day against a real server: every
// message reaches every online member of its conversation once and in
// order, and the report counts what the workload did.
func TestBenchMixed(t *testing.T) {
	s := startServer(t)
	var rep loadgen.MixedReport
	// 400 daily users x2000: 40 online, 185 msgs/s, 46 uploads/s and 37
	// connects/s for 2 s.
	err := runJSON(t, &rep, "bench", "mixed", "--target", s.URL, "--metrics", s.Metrics, "--users", "400",
		"--compress", "2000", "--duration", "2s", "--media-size", "2000", "--goal", "1h")
	if err != nil || rep.Failed {
		t.Fatalf("run failed: %v %+v", err, rep.Verdict)
	}
	v := rep.Verdict
	if v.Lost != 0 || v.Duplicates != 0 || v.OutOfOrder != 0 || v.Dropped != 0 || len(rep.Errors) != 0 {
		t.Errorf("verdict %+v, errors %v; want all zero", v, rep.Errors)
	}
	if !rep.Holds || rep.Users != 400 || rep.Online != 40 || rep.Groups == 0 || rep.Churners == 0 {
		t.Errorf("report %+v", rep)
	}
	if rep.Sent == 0 || rep.Acked != rep.Sent || rep.Delivered < rep.Acked {
		t.Errorf("sent %d, acked %d, delivered %d; want all acked, each delivered at least once", rep.Sent, rep.Acked, rep.Delivered)
	}
	// Every delivery is covered by a receipt; several may share one.
	if rep.ReceiptsSent == 0 || rep.ReceiptsSent > rep.Delivered {
		t.Errorf("%d receipts for %d deliveries", rep.ReceiptsSent, rep.Delivered)
	}
	if rep.Uploads == 0 || rep.UploadLatency.Count != rep.Uploads || rep.TypingSent == 0 {
		t.Errorf("uploads %d (%d timed), typing %d; want some", rep.Uploads, rep.UploadLatency.Count, rep.TypingSent)
	}
	if rep.Connects == 0 || rep.Disconnects != rep.Connects || rep.PresFrames == 0 {
		t.Errorf("connects %d, disconnects %d, presence frames %d", rep.Connects, rep.Disconnects, rep.PresFrames)
	}
	if rep.RecvLatency.Count == 0 || rep.ServerCPU <= 0 || rep.UsersPerCore <= 0 || rep.FramesOut < float64(rep.Delivered) {
		t.Errorf("latency count %d, server CPU %g, frames out %g", rep.RecvLatency.Count, rep.ServerCPU, rep.FramesOut)
	}
}

// TestBenchMixedFindMax searches with a limit the node holds at once:
// each step is a full run, and the best is the limit.
func TestBenchMixedFindMax(t *testing.T) {
	s := startServer(t)
	svg := filepath.Join(t.TempDir(), "max.svg")
	var res struct {
		Best  int            `json:"most_daily_users"`
		Steps []loadgen.Step `json:"steps"`
	}
	err := runJSON(t, &res, "bench", "mixed", "--target", s.URL, "--metrics", s.Metrics, "--users", "40", "--max-users", "60",
		"--compress", "500", "--duration", "1s", "--media-per-day", "0", "--goal", "1h", "--find-max", "--svg", svg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Best != 60 || len(res.Steps) != 2 || res.Steps[0].Users != 40 || res.Steps[1].Users != 60 {
		t.Fatalf("best %d, steps %+v; want 40 then 60", res.Best, res.Steps)
	}
	for _, st := range res.Steps {
		if !st.Holds || st.Run == nil || st.Run.Failed || st.Run.Acked == 0 {
			t.Errorf("step %d: %+v", st.Users, st.Run)
		}
	}
	b, err := os.ReadFile(svg)
	if err != nil || !strings.HasPrefix(string(b), "<svg") || strings.Count(string(b), "<circle") != 2 {
		t.Errorf("chart: %v %.300s", err, b)
	}
}

// TestBenchCurve sweeps both curves small: one clean run per value, a
// figure per point and the chart written.
func TestBenchCurve(t *testing.T) {
	s := startServer(t)
	for _, tc := range []struct {
		args   []string
		values []int
	}{
		{[]string{"fanout", "--sizes", "3,6", "--deliveries", "300", "--senders", "2", "--inflight", "4"}, []int{3, 6}},
		{[]string{"conns", "--counts", "5,10"}, []int{5, 10}},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			svg := filepath.Join(t.TempDir(), "curve.svg")
			var c loadgen.Curve
			err := runJSON(t, &c, append(append([]string{"bench", "curve"}, tc.args...), "--target", s.URL, "--metrics", s.Metrics, "--svg", svg)...)
			if err != nil {
				t.Fatal(err)
			}
			if c.Kind != tc.args[0] || len(c.Points) != len(tc.values) {
				t.Fatalf("curve %+v", c)
			}
			for i, p := range c.Points {
				if p.Value != tc.values[i] || p.Run == nil || p.Run.Failed {
					t.Fatalf("point %d: %+v", i, p)
				}
				switch c.Kind {
				case loadgen.CurveFanout:
					// 300/(size-1) messages, each to the size-1 others.
					msgs := int64(300 / (p.Value - 1))
					if p.Run.Acked != msgs || p.Run.MeasuredDelivered != msgs*int64(p.Value-1) || p.Y <= 0 {
						t.Errorf("size %d: acked %d, delivered %d, CPU/delivery %g", p.Value, p.Run.Acked, p.Run.MeasuredDelivered, p.Y)
					}
				case loadgen.CurveConns:
					if p.Run.Connections != p.Value || p.Run.DialErrors != 0 {
						t.Errorf("count %d: %d connections, %d dial errors", p.Value, p.Run.Connections, p.Run.DialErrors)
					}
				}
			}
			b, err := os.ReadFile(svg)
			if err != nil || strings.Count(string(b), "<circle") != 2*len(tc.values) {
				t.Errorf("chart: %v %.300s", err, b)
			}
		})
	}
	var out, errOut bytes.Buffer
	for _, args := range [][]string{
		{"bench", "curve"},
		{"bench", "curve", "nosuch", "--target", s.URL},
		{"bench", "curve", "fanout", "--target", s.URL, "--sizes", "1"},
		{"bench", "curve", "conns", "--target", s.URL, "--counts", "x"},
		{"bench", "mixed", "--target", s.URL, "--online", "2"},
		{"bench", "mixed", "--target", s.URL, "--group-sizes", "3:1"},
	} {
		if err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut); err == nil {
			t.Errorf("run %q: no error", args)
		}
	}
}
