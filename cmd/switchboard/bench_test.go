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

// runBench runs `switchboard bench ARGS --json` and decodes the report.
func runBench(t *testing.T, args ...string) (*loadgen.Report, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, append(append([]string{"bench"}, args...), "--json"), func(string) string { return "" }, &out, &errOut)
	var rep loadgen.Report
	if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
		t.Fatalf("bench %v: %v; output %q; stderr %q; decode: %v", args, err, out.String(), errOut.String(), jerr)
	}
	return &rep, err
}

// wantClean asserts a run with no failure, no error and every acked message
// delivered once to each recipient.
func wantClean(t *testing.T, rep *loadgen.Report, err error, sent, deliveriesPerMsg int64) {
	t.Helper()
	if err != nil || rep.Failed {
		t.Fatalf("run failed: %v %+v", err, rep.Verdict)
	}
	if rep.Sent != sent || rep.Acked != sent {
		t.Errorf("sent %d, acked %d; want %d of each", rep.Sent, rep.Acked, sent)
	}
	if rep.ErrorCount != 0 || rep.Unacked != 0 {
		t.Errorf("errors %v, unacked %d; want none", rep.Errors, rep.Unacked)
	}
	v := rep.Verdict
	if v.Lost != 0 || v.Duplicates != 0 || v.OutOfOrder != 0 || v.Dropped != 0 || v.Unexpected != 0 {
		t.Errorf("verdict %+v; want all zero", v)
	}
	if rep.MeasuredDelivered != sent*deliveriesPerMsg {
		t.Errorf("deliveries %d, want %d", rep.MeasuredDelivered, sent*deliveriesPerMsg)
	}
	if rep.AckLatency.Count != sent || rep.RecvLatency.Count != sent*deliveriesPerMsg {
		t.Errorf("latency counts %d/%d, want %d/%d", rep.AckLatency.Count, rep.RecvLatency.Count, sent, sent*deliveriesPerMsg)
	}
	if len(rep.Nodes) != 1 || rep.Nodes[0].Messages != float64(sent) || rep.Nodes[0].FramesOut < float64(sent*deliveriesPerMsg) {
		t.Errorf("node stats %+v; want %d messages and at least %d frames out", rep.Nodes, sent, sent*deliveriesPerMsg)
	}
}

func TestBenchDM(t *testing.T) {
	s := startServer(t)
	rep, err := runBench(t, "dm", "--target", s.URL, "--metrics", s.Metrics, "--pairs", "3", "--rate", "0", "--messages", "120", "--inflight", "8")
	wantClean(t, rep, err, 120, 1)
	if rep.Receivers != 6 || rep.Connections != 6 {
		t.Errorf("receivers %d, connections %d; want 6", rep.Receivers, rep.Connections)
	}
}

func TestBenchDMRateAndPlot(t *testing.T) {
	s := startServer(t)
	plot := filepath.Join(t.TempDir(), "lat.svg")
	rep, err := runBench(t, "dm", "--target", s.URL, "--metrics", s.Metrics, "--pairs", "2", "--rate", "200", "--messages", "40", "--plot", plot)
	wantClean(t, rep, err, 40, 1)
	b, err := os.ReadFile(plot)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "<svg") || !strings.Contains(string(b), "<polyline") {
		t.Errorf("plot is not an SVG with curves: %.200s", b)
	}
}

func TestBenchGroup(t *testing.T) {
	s := startServer(t)
	rep, err := runBench(t, "group", "--target", s.URL, "--metrics", s.Metrics, "--members", "12", "--senders", "3", "--rate", "0",
		"--messages", "60", "--inflight", "4")
	// Each message reaches every member but its sender.
	wantClean(t, rep, err, 60, 11)
}

func TestBenchGroupWorkers(t *testing.T) {
	// Two workers (goroutines here; processes with --procs), members split
	// between them, so deliveries are checked against the other worker's acks.
	s := startServer(t)
	rep, err := loadgen.Run(context.Background(), loadgen.Config{Scenario: loadgen.Group, Targets: []string{s.URL}, Metrics: []string{s.Metrics},
		Members: 9, Senders: 2, Messages: 40, InFlight: 4, Procs: 2})
	if err != nil {
		t.Fatal(err)
	}
	wantClean(t, rep, nil, 40, 8)
	if rep.Procs != 2 || rep.Connections != 9 {
		t.Errorf("procs %d, connections %d; want 2 and 9", rep.Procs, rep.Connections)
	}
}

func TestBenchConnections(t *testing.T) {
	s := startServer(t)
	rep, err := runBench(t, "connections", "--target", s.URL, "--metrics", s.Metrics, "--conns", "40")
	if err != nil || rep.Failed {
		t.Fatalf("run failed: %v %+v", err, rep.Verdict)
	}
	if rep.Connections != 40 || rep.DialErrors != 0 {
		t.Errorf("connections %d, dial errors %d; want 40 and 0", rep.Connections, rep.DialErrors)
	}
	if len(rep.Nodes) != 1 || rep.Nodes[0].Conns != 40 || rep.Nodes[0].ServerConns < 40 {
		t.Errorf("node stats %+v; want 40 connections", rep.Nodes)
	}
}

func TestBenchConnectionsTwoTargets(t *testing.T) {
	a, b := startServer(t), startServer(t)
	rep, err := runBench(t, "connections", "--target", a.URL, "--target", b.URL, "--metrics", a.Metrics+","+b.Metrics, "--conns", "30", "--procs", "1")
	if err != nil || rep.Failed {
		t.Fatalf("run failed: %v %+v", err, rep.Verdict)
	}
	// One row per node, then the total.
	if len(rep.Nodes) != 3 {
		t.Fatalf("nodes = %+v; want two nodes and a total", rep.Nodes)
	}
	for i, want := range []struct {
		target string
		conns  int
	}{{a.URL, 15}, {b.URL, 15}, {"total", 30}} {
		if n := rep.Nodes[i]; n.Target != want.target || n.Conns != want.conns {
			t.Errorf("node %d = %s with %d connections; want %s with %d", i, n.Target, n.Conns, want.target, want.conns)
		}
	}
}

func TestBenchBadArgs(t *testing.T) {
	tests := [][]string{
		{"bench"},
		{"bench", "nosuch", "--target", "http://127.0.0.1:1"},
		{"bench", "dm"},
		{"bench", "group", "--target", "http://127.0.0.1:1", "--members", "2", "--senders", "3"},
		{"bench", "dm", "--target", "http://127.0.0.1:1,http://127.0.0.1:2", "--metrics", "http://127.0.0.1:3"},
	}
	for _, args := range tests {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut); err == nil {
			t.Errorf("run %q: no error", args)
		}
	}
}

// TestBenchRoom runs the room scenario small: every watcher sees every
// change, and a change costs frames per watcher, not per member.
func TestBenchRoom(t *testing.T) {
	s := startServer(t, "--presence-grace", "50ms")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"bench", "room", "--target", s.URL, "--members", "60", "--watchers", "4", "--churners", "2", "--changes", "20", "--json"},
		func(string) string { return "" }, &out, &errOut)
	var rep loadgen.RoomReport
	if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil || err != nil {
		t.Fatalf("bench room: %v; output %q; stderr %q; decode: %v", err, out.String(), errOut.String(), jerr)
	}
	if rep.Failed || rep.Missing != 0 || rep.Changes < 20 {
		t.Fatalf("report %+v", rep)
	}
	if got := rep.Online.Count + rep.Offline.Count; got != int64(rep.Changes*rep.Watchers) {
		t.Errorf("%d room frames timed; want %d changes x %d watchers", got, rep.Changes, rep.Watchers)
	}
	// Each change is written to the watchers (and the churner's own frames:
	// its ready and acks), far fewer than the 60 members.
	if rep.FramesPerChange > 20 {
		t.Errorf("%.1f frames per change; want about one per watcher", rep.FramesPerChange)
	}
}

func TestBenchChanges(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		// Each sender changes its messages 0, 3, 6, ... of its own share of
		// the 60; each change reaches the other members of its conversation.
		changes             int64
		deliveriesPerChange int64
	}{
		{"dm", []string{"dm", "--pairs", "3"}, 6 * 4, 1},                           // 6 senders of 10
		{"group", []string{"group", "--members", "8", "--senders", "3"}, 3 * 7, 7}, // 3 senders of 20
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t)
			rep, err := runBench(t, append(tc.args, "--target", s.URL, "--rate", "0", "--messages", "60", "--inflight", "4", "--change-every", "3")...)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Failed || rep.Changed != tc.changes || rep.Changes.Delivered != tc.changes*tc.deliveriesPerChange {
				t.Fatalf("failed %v %v; changed %d, updates %+v; want %d changes, %d updates", rep.Failed, rep.Verdict.Failures,
					rep.Changed, rep.Changes, tc.changes, tc.changes*tc.deliveriesPerChange)
			}
		})
	}
}
