package bench_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/bench"
	"github.com/switchboard-chat/switchboard/wire"
)

func msg(conv string, seq int64, from string) wire.Message {
	return wire.Message{Conversation: conv, Seq: seq, From: from}
}

// receive feeds a Receiver a sequence of pushed messages and own acks.
type event struct {
	own bool
	m   wire.Message
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name       string
		acked      map[string]int64
		events     []event
		drop       bool
		wantFailed bool
		want       bench.Verdict
	}{
		{
			name:  "all delivered in order",
			acked: map[string]int64{"alice": 3},
			events: []event{
				{m: msg("c", 1, "alice")}, {m: msg("c", 2, "alice")}, {m: msg("c", 3, "alice")},
			},
		},
		{
			name:  "own acks interleaved",
			acked: map[string]int64{"alice": 2, "bob": 2},
			events: []event{
				{m: msg("c", 1, "alice")}, {own: true, m: msg("c", 2, "bob")},
				{m: msg("c", 3, "alice")}, {own: true, m: msg("c", 4, "bob")},
			},
		},
		{
			name:       "lost tail",
			acked:      map[string]int64{"alice": 3},
			events:     []event{{m: msg("c", 1, "alice")}, {m: msg("c", 2, "alice")}},
			wantFailed: true,
			want:       bench.Verdict{Lost: 1},
		},
		{
			name:       "lost middle",
			acked:      map[string]int64{"alice": 3},
			events:     []event{{m: msg("c", 1, "alice")}, {m: msg("c", 3, "alice")}},
			wantFailed: true,
			want:       bench.Verdict{Lost: 1},
		},
		{
			name:       "duplicate",
			acked:      map[string]int64{"alice": 2},
			events:     []event{{m: msg("c", 1, "alice")}, {m: msg("c", 2, "alice")}, {m: msg("c", 2, "alice")}},
			wantFailed: true,
			want:       bench.Verdict{Duplicates: 1, OutOfOrder: 1, Unexpected: 1},
		},
		{
			name:       "out of order",
			acked:      map[string]int64{"alice": 2},
			events:     []event{{m: msg("c", 2, "alice")}, {m: msg("c", 1, "alice")}},
			wantFailed: true,
			want:       bench.Verdict{OutOfOrder: 1},
		},
		{
			name:       "dropped connection",
			acked:      map[string]int64{"alice": 1},
			events:     []event{{m: msg("c", 1, "alice")}},
			drop:       true,
			wantFailed: true,
			want:       bench.Verdict{Dropped: 1},
		},
		{
			name:   "delivered but never acked is not a failure",
			acked:  map[string]int64{"alice": 1},
			events: []event{{m: msg("c", 1, "alice")}, {m: msg("c", 2, "alice")}},
			want:   bench.Verdict{Unexpected: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bench.NewReceiver("bob", []string{"alice"})
			for _, e := range tt.events {
				if e.own {
					r.Own(e.m)
				} else {
					r.Pushed(e.m)
				}
			}
			if tt.drop {
				r.Dropped("connection lost")
			}
			got := bench.Check(tt.acked, []bench.ReceiverStat{r.Stat()})
			if got.Failed() != tt.wantFailed {
				t.Fatalf("Failed() = %v, want %v (%+v)", got.Failed(), tt.wantFailed, got)
			}
			got.Failures = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("verdict = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckManyReceivers(t *testing.T) {
	// A group: three senders, each receiver expects the other senders'
	// messages. One receiver misses one of carol's.
	acked := map[string]int64{"alice": 2, "bob": 1, "carol": 2}
	stats := []bench.ReceiverStat{
		{User: "dave", Expect: []string{"alice", "bob", "carol"}, From: map[string]int64{"alice": 2, "bob": 1, "carol": 2}},
		{User: "alice", Expect: []string{"bob", "carol"}, From: map[string]int64{"bob": 1, "carol": 2}},
		{User: "erin", Expect: []string{"alice", "bob", "carol"}, From: map[string]int64{"alice": 2, "bob": 1, "carol": 1}},
	}
	v := bench.Check(acked, stats)
	if !v.Failed() || v.Lost != 1 {
		t.Fatalf("verdict = %+v; want failed with 1 lost", v)
	}
}

func TestCheckUpdates(t *testing.T) {
	changed := map[string]int64{"a": 3}
	for _, tc := range []struct {
		name string
		r    bench.ReceiverStat
		want []string
	}{
		{"clean", bench.ReceiverStat{Expect: []string{"a"}, UpdatesFrom: map[string]int64{"a": 3}}, nil},
		{"lost", bench.ReceiverStat{Expect: []string{"a"}, UpdatesFrom: map[string]int64{"a": 2}},
			[]string{"1 acknowledged changes never arrived as updates"}},
		{"out of order and a hole", bench.ReceiverStat{Expect: []string{"a"}, UpdatesFrom: map[string]int64{"a": 3}, UpdatesOutOfOrder: 1, UpdateHoles: 1},
			[]string{"1 updates out of rev order", "1 revs missing below the last update received"}},
		{"duplicate beyond the acks", bench.ReceiverStat{Expect: []string{"a"}, UpdatesFrom: map[string]int64{"a": 4}, UpdateDups: 1},
			[]string{"1 duplicate updates", "1 updates beyond the acknowledged changes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := bench.CheckUpdates(changed, []bench.ReceiverStat{tc.r}).Failures
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("failures %q; want %q", got, tc.want)
			}
		})
	}
}
