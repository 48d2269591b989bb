package client_test

import (
	"fmt"
	"maps"
	"testing"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

func TestTracker(t *testing.T) {
	tests := []struct {
		name   string
		start  int64   // Start("c", start) first when > 0
		seqs   []int64 // observed in conversation "c", in order
		want   string  // per observation: . in order, D duplicate, G gap
		cursor int64
		stats  client.TrackerStats
	}{
		{"in order", 0, []int64{1, 2, 3}, "...", 3, client.TrackerStats{Observed: 3}},
		{"duplicate", 0, []int64{1, 2, 2, 1}, "..DD", 2, client.TrackerStats{Observed: 4, Duplicates: 2}},
		{"gap filled", 0, []int64{1, 3, 4, 2, 5}, ".GG..", 5, client.TrackerStats{Observed: 5, Gaps: 2}},
		{"gap open", 0, []int64{1, 4}, ".G", 1, client.TrackerStats{Observed: 2, Gaps: 1, Held: 1}},
		{"duplicate above a gap", 0, []int64{3, 3}, "GD", 0, client.TrackerStats{Observed: 2, Gaps: 1, Duplicates: 1, Held: 1}},
		{"started", 10, []int64{9, 11}, "D.", 11, client.TrackerStats{Observed: 2, Duplicates: 1}},
		{"reversed", 0, []int64{3, 2, 1}, "GG.", 3, client.TrackerStats{Observed: 3, Gaps: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr client.Tracker
			if tt.start > 0 {
				tr.Start("c", tt.start)
			}
			got := ""
			for _, seq := range tt.seqs {
				dup, gap := tr.Observe(wire.Message{Conversation: "c", Seq: seq})
				switch {
				case dup && gap:
					got += "?"
				case dup:
					got += "D"
				case gap:
					got += "G"
				default:
					got += "."
				}
			}
			if got != tt.want {
				t.Errorf("observations = %q, want %q", got, tt.want)
			}
			if c := tr.Cursor("c"); c != tt.cursor {
				t.Errorf("Cursor = %d, want %d", c, tt.cursor)
			}
			if s := tr.Stats(); s != tt.stats {
				t.Errorf("Stats = %+v, want %+v", s, tt.stats)
			}
		})
	}
}

func TestTrackerStartOverHeld(t *testing.T) {
	var tr client.Tracker
	for _, seq := range []int64{2, 3, 5, 7} {
		tr.Observe(wire.Message{Conversation: "c", Seq: seq})
	}
	// A history read up to 4 covers 2 and 3 and joins 5.
	tr.Start("c", 4)
	if got := tr.Cursor("c"); got != 5 {
		t.Errorf("Cursor = %d, want 5", got)
	}
	if got := tr.Stats().Held; got != 1 {
		t.Errorf("Held = %d, want 1 (seq 7)", got)
	}
	tr.Start("c", 1) // never back
	if got := tr.Cursor("c"); got != 5 {
		t.Errorf("Cursor after Start(1) = %d, want 5", got)
	}
}

func TestTrackerCursors(t *testing.T) {
	var tr client.Tracker
	for i := range 3 {
		for seq := int64(1); seq <= int64(i+1); seq++ {
			tr.Observe(wire.Message{Conversation: fmt.Sprint("c", i), Seq: seq})
		}
	}
	want := map[string]int64{"c0": 1, "c1": 2, "c2": 3}
	if got := tr.Cursors(); !maps.Equal(got, want) {
		t.Errorf("Cursors = %v, want %v", got, want)
	}
	if got := tr.Cursor("none"); got != 0 {
		t.Errorf("Cursor of an unknown conversation = %d, want 0", got)
	}
}

func TestTrackerRevs(t *testing.T) {
	tests := []struct {
		name  string
		start int64   // StartRev("c", start) first when > 0
		revs  []int64 // observed updates of conversation "c", in order
		want  string  // per observation: . in order, D duplicate, G gap
		rev   int64
		stats client.TrackerStats
	}{
		{"in order", 0, []int64{1, 2, 3}, "...", 3, client.TrackerStats{Updates: 3}},
		{"duplicate", 0, []int64{1, 1}, ".D", 1, client.TrackerStats{Updates: 2, UpdateDups: 1}},
		{"gap filled", 0, []int64{2, 1}, "G.", 2, client.TrackerStats{Updates: 2, UpdateGaps: 1}},
		{"gap open", 0, []int64{1, 3}, ".G", 1, client.TrackerStats{Updates: 2, UpdateGaps: 1, UpdatesHeld: 1}},
		{"started past a hole", 5, []int64{4, 7, 6}, "DG.", 7, client.TrackerStats{Updates: 3, UpdateDups: 1, UpdateGaps: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr client.Tracker
			if tt.start > 0 {
				tr.StartRev("c", tt.start)
			}
			got := ""
			for _, rev := range tt.revs {
				switch dup, gap := tr.ObserveUpdate("c", rev); {
				case dup:
					got += "D"
				case gap:
					got += "G"
				default:
					got += "."
				}
			}
			if got != tt.want || tr.Rev("c") != tt.rev || tr.Stats() != tt.stats {
				t.Errorf("got %q, rev %d, stats %+v; want %q, %d, %+v", got, tr.Rev("c"), tr.Stats(), tt.want, tt.rev, tt.stats)
			}
			if revs := tr.Revs(); revs["c"] != tt.rev || tr.Cursor("c") != 0 {
				t.Errorf("Revs = %v, seq cursor %d; want c: %d and seqs untouched", revs, tr.Cursor("c"), tt.rev)
			}
		})
	}
}
