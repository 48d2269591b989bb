package node

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

func msgEvent(conv string, seq int64) *chat.Event {
	return &chat.Event{Kind: chat.EventMessage, Message: &chat.Message{ConversationID: conv, Seq: seq}}
}

func TestSequencer(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []int64
		want []int64 // delivered order once everything has settled
	}{
		{"in order", []int64{1, 2, 3}, []int64{1, 2, 3}},
		{"swapped", []int64{1, 3, 2, 4}, []int64{1, 2, 3, 4}},
		{"reversed after the first", []int64{5, 9, 8, 7, 6}, []int64{5, 6, 7, 8, 9}},
		{"a lost predecessor is skipped after the hold", []int64{1, 3, 4}, []int64{1, 3, 4}},
		{"a hole filled in time", []int64{1, 3, 2}, []int64{1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []int64
			q := newSequencer(bySeq, 50*time.Millisecond, time.Now, func(ev *chat.Event) {
				mu.Lock()
				got = append(got, ev.Message.Seq)
				mu.Unlock()
			})
			for _, seq := range tc.in {
				q.push(msgEvent("c", seq))
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				mu.Lock()
				n := len(got)
				mu.Unlock()
				if n == len(tc.want) || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != len(tc.want) {
				t.Fatalf("delivered %v; want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("delivered %v; want %v", got, tc.want)
				}
			}
		})
	}
}

func TestSequencerConversationsAreIndependent(t *testing.T) {
	var got []string
	q := newSequencer(bySeq, time.Hour, time.Now, func(ev *chat.Event) { got = append(got, ev.Message.ConversationID) })
	q.push(msgEvent("a", 1))
	q.push(msgEvent("a", 3)) // held: 2 is missing
	q.push(msgEvent("b", 1)) // another conversation is not held up
	if len(got) != 2 || got[1] != "b" {
		t.Fatalf("delivered %v; want a then b", got)
	}
}

// TestSequencerFirstHeard covers a conversation this node knows nothing of
// yet: its first message sets where order starts, unless its predecessor
// was committed so recently that it may still be on the bus.
func TestSequencerFirstHeard(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	clock := func() time.Time { return now }
	recent, old := now.UnixMilli()-10, now.UnixMilli()-60_000
	ev := func(seq, prevTS int64) *chat.Event {
		e := msgEvent("c", seq)
		e.PrevTS = prevTS
		return e
	}
	for _, tc := range []struct {
		name string
		in   []*chat.Event
		want []int64 // delivered before any hold expires
	}{
		{"a quiet conversation starts at once", []*chat.Event{ev(7, old), ev(8, recent)}, []int64{7, 8}},
		{"concurrent senders: held until the predecessor comes", []*chat.Event{ev(3, recent), ev(2, recent), ev(1, 0)}, []int64{1, 2, 3}},
		{"held behind a recent predecessor", []*chat.Event{ev(5, recent), ev(6, recent)}, nil},
		{"an old predecessor after held ones", []*chat.Event{ev(5, recent), ev(4, old)}, []int64{4, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []int64
			q := newSequencer(bySeq, 30*time.Second, clock, func(ev *chat.Event) { got = append(got, ev.Message.Seq) })
			for _, e := range tc.in {
				q.push(e)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("delivered %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSequencerRevs: updates are ordered by rev, independently of the
// seq order of the messages they change.
func TestSequencerRevs(t *testing.T) {
	var got []int64
	q := newSequencer(byRev, time.Hour, time.Now, func(ev *chat.Event) { got = append(got, ev.Message.Rev) })
	update := func(seq, rev int64) *chat.Event {
		return &chat.Event{Kind: chat.EventUpdate, Message: &chat.Message{ConversationID: "c", Seq: seq, Rev: rev}}
	}
	q.push(update(5, 1))
	q.push(update(1, 3)) // held: rev 2 is missing
	q.push(update(9, 4))
	q.push(update(2, 2))
	if want := []int64{1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Fatalf("delivered revs %v; want %v", got, want)
	}
}

// TestSequencerRevsFirstHeard: an update heard first whose predecessor was
// changed moments ago waits for it; one whose predecessor is long past, or
// unknown, starts the order at once.
func TestSequencerRevsFirstHeard(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	recent, old := now.UnixMilli()-10, now.UnixMilli()-60_000
	update := func(rev, prevTS int64) *chat.Event {
		return &chat.Event{Kind: chat.EventUpdate, Message: &chat.Message{ConversationID: "c", Seq: 10 - rev, Rev: rev}, PrevTS: prevTS}
	}
	for _, tc := range []struct {
		name string
		in   []*chat.Event
		want []int64
	}{
		{"three nodes' updates heard out of order", []*chat.Event{update(3, recent), update(1, 0), update(2, recent)}, []int64{1, 2, 3}},
		{"a quiet conversation starts at once", []*chat.Event{update(3, old), update(4, recent)}, []int64{3, 4}},
		{"no time known starts at once", []*chat.Event{update(3, 0)}, []int64{3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []int64
			q := newSequencer(byRev, 30*time.Second, func() time.Time { return now }, func(ev *chat.Event) { got = append(got, ev.Message.Rev) })
			for _, e := range tc.in {
				q.push(e)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("delivered revs %v; want %v", got, tc.want)
			}
		})
	}
}
