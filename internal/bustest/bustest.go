// Package bustest is the conformance suite every chat.Bus runs.
package bustest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Opener returns the Bus of node. Buses opened within one test share one
// backing state (they reach each other); different tests do not. The suite
// opens each node at most once per test and runs each bus itself.
type Opener func(t *testing.T, node string) chat.Bus

// Kinds the suite uses for its own traffic; a bus carries any kind.
const (
	kindProbe  = "bustest.probe"
	kindMarker = "bustest.marker"
)

// wait bounds every wait so a broken bus fails instead of hanging; it is
// a guard, not a measurement.
const wait = 20 * time.Second

// Run runs the suite. multiNode says that buses of different nodes reach
// each other (a cluster implementation); without it only one node is used
// and the cross-node cases are skipped.
func Run(t *testing.T, open Opener, multiNode bool) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		for _, tc := range sampleEvents() {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				from := Start(t, open, "n1")
				to := from
				if multiNode {
					to = Start(t, open, "n2")
				}
				Ready(t, from, to)
				if err := from.Bus.Send(ctx(t), to.Node, tc.ev); err != nil {
					t.Fatalf("Send: %v", err)
				}
				wantEvent(t, to.Next(t), tc.ev)
				if err := from.Bus.Broadcast(ctx(t), tc.ev); err != nil {
					t.Fatalf("Broadcast: %v", err)
				}
				wantEvent(t, to.Next(t), tc.ev)
			})
		}
	})

	t.Run("BroadcastReachesSender", func(t *testing.T) {
		t.Parallel()
		a := Start(t, open, "n1")
		Ready(t, a)
		ev := &chat.Event{Kind: chat.EventRevoke, SessionID: "s1"}
		if err := a.Bus.Broadcast(ctx(t), ev); err != nil {
			t.Fatalf("Broadcast: %v", err)
		}
		wantEvent(t, a.Next(t), ev)
		if extra := Flush(t, a, a); len(extra) != 0 {
			t.Fatalf("sender got %d extra events after the broadcast: %v", len(extra), kinds(extra))
		}
	})

	t.Run("OrderPerSender", func(t *testing.T) {
		t.Parallel()
		from := Start(t, open, "n1")
		to := from
		if multiNode {
			to = Start(t, open, "n2")
		}
		Ready(t, from, to)
		const n = 500
		for i := range n {
			if err := from.Bus.Send(ctx(t), to.Node, seqEvent("a", i)); err != nil {
				t.Fatalf("Send %d: %v", i, err)
			}
		}
		for i := range n {
			ev := to.Next(t)
			if ev.Message == nil || ev.Message.Seq != int64(i) {
				t.Fatalf("event %d: got %s, want seq %d", i, describe(ev), i)
			}
		}
	})

	t.Run("RunReturnsWhenContextEnds", func(t *testing.T) {
		t.Parallel()
		r := Start(t, open, "n1")
		Ready(t, r)
		r.Stop(t)
		if err := r.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v, want context.Canceled", err)
		}
	})

	if !multiNode {
		return
	}

	t.Run("SendReachesOnlyTarget", func(t *testing.T) {
		t.Parallel()
		a, b, c := Start(t, open, "n1"), Start(t, open, "n2"), Start(t, open, "n3")
		Ready(t, a, b, c)
		ev := &chat.Event{Kind: chat.EventTyping, Recipients: []string{"u2"},
			Typing: &chat.TypingEvent{ConversationID: "c1", UserID: "u1", Username: "alice"}}
		if err := a.Bus.Send(ctx(t), "n2", ev); err != nil {
			t.Fatalf("Send: %v", err)
		}
		wantEvent(t, b.Next(t), ev)
		for _, r := range []*Runner{a, c} {
			if got := Flush(t, a, r); len(got) != 0 {
				t.Fatalf("node %s got %v; the event was sent to n2 only", r.Node, kinds(got))
			}
		}
	})

	t.Run("BroadcastReachesEveryNode", func(t *testing.T) {
		t.Parallel()
		rs := []*Runner{Start(t, open, "n1"), Start(t, open, "n2"), Start(t, open, "n3")}
		Ready(t, rs...)
		ev := &chat.Event{Kind: chat.EventPresence,
			Presence: &chat.PresenceInfo{UserID: "u1", Username: "alice", Online: true, LastSeen: 1700000000000}}
		if err := rs[1].Bus.Broadcast(ctx(t), ev); err != nil {
			t.Fatalf("Broadcast: %v", err)
		}
		for _, r := range rs {
			wantEvent(t, r.Next(t), ev)
		}
		for _, r := range rs {
			if extra := Flush(t, r, r); len(extra) != 0 {
				t.Fatalf("node %s got %d extra events: %v", r.Node, len(extra), kinds(extra))
			}
		}
	})

	t.Run("OrderPerSenderWithTwoSenders", func(t *testing.T) {
		t.Parallel()
		a, b, c := Start(t, open, "n1"), Start(t, open, "n2"), Start(t, open, "n3")
		Ready(t, a, b, c)
		const n = 300
		var wg sync.WaitGroup
		for _, r := range []*Runner{a, c} {
			wg.Go(func() {
				for i := range n {
					if err := r.Bus.Send(ctx(t), "n2", seqEvent(r.Node, i)); err != nil {
						t.Errorf("Send from %s: %v", r.Node, err)
						return
					}
				}
			})
		}
		wg.Wait()
		next := map[string]int64{}
		for range 2 * n {
			ev := b.Next(t)
			if ev.Message == nil {
				t.Fatalf("got %s, want a message", describe(ev))
			}
			from := ev.Message.SenderID
			if ev.Message.Seq != next[from] {
				t.Fatalf("from %s: got seq %d, want %d", from, ev.Message.Seq, next[from])
			}
			next[from]++
		}
	})
}

// Runner runs one node's bus for a test and records what its handler gets.
type Runner struct {
	Node string
	Bus  chat.Bus

	cancel context.CancelFunc
	done   chan struct{}
	err    error

	mu     sync.Mutex
	events []*chat.Event
	probes map[string]bool
	signal chan struct{}
}

// Start opens node's bus and runs it until the test ends.
func Start(t *testing.T, open Opener, node string) *Runner {
	t.Helper()
	r := &Runner{
		Node:   node,
		Bus:    open(t, node),
		done:   make(chan struct{}),
		probes: make(map[string]bool),
		signal: make(chan struct{}, 1),
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		r.err = r.Bus.Run(ctx, r.handle)
	}()
	t.Cleanup(func() { r.Stop(t) })
	return r
}

func (r *Runner) handle(ev *chat.Event) {
	r.mu.Lock()
	if ev.Kind == kindProbe {
		r.probes[ev.SessionID] = true
	} else {
		r.events = append(r.events, ev)
	}
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// Stop ends Run and waits for it to return.
func (r *Runner) Stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(wait):
		t.Fatalf("node %s: Run did not return after its context ended", r.Node)
	}
}

// Err is what Run returned; call it after Stop.
func (r *Runner) Err() error { return r.err }

// Next returns the next event the handler got, waiting for it.
func (r *Runner) Next(t *testing.T) *chat.Event {
	t.Helper()
	ev, ok := r.NextWithin(wait)
	if !ok {
		t.Fatalf("node %s: no event arrived", r.Node)
	}
	return ev
}

// NextWithin is Next with its own guard; ok is false if nothing came.
func (r *Runner) NextWithin(d time.Duration) (*chat.Event, bool) {
	deadline := time.After(d)
	for {
		r.mu.Lock()
		if len(r.events) > 0 {
			ev := r.events[0]
			r.events = r.events[1:]
			r.mu.Unlock()
			return ev, true
		}
		r.mu.Unlock()
		select {
		case <-r.signal:
		case <-deadline:
			return nil, false
		}
	}
}

func (r *Runner) sawProbe(token string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.probes[token]
}

var probeSeq atomic.Uint64

// Ready waits until each runner's Run delivers: it broadcasts probes from
// each node until that node's handler gets one. Events sent after Ready
// returns reach the runners.
func Ready(t *testing.T, rs ...*Runner) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for _, r := range rs {
		token := fmt.Sprintf("probe-%s-%d", r.Node, probeSeq.Add(1))
		for !r.sawProbe(token) {
			if time.Now().After(deadline) {
				t.Fatalf("node %s: Run never delivered a broadcast", r.Node)
			}
			_ = r.Bus.Broadcast(ctx(t), &chat.Event{Kind: kindProbe, SessionID: token})
			select {
			case <-time.After(50 * time.Millisecond):
			case <-r.signal:
			}
		}
	}
}

// Flush sends a marker from one runner to another and returns the events
// the receiver got before it. Since a bus keeps the order of one sender's
// events to one node, anything from sends made earlier is among them.
func Flush(t *testing.T, from, to *Runner) []*chat.Event {
	t.Helper()
	token := fmt.Sprintf("marker-%d", probeSeq.Add(1))
	if err := from.Bus.Send(ctx(t), to.Node, &chat.Event{Kind: kindMarker, SessionID: token}); err != nil {
		t.Fatalf("Send marker: %v", err)
	}
	var before []*chat.Event
	for {
		ev := to.Next(t)
		if ev.Kind == kindMarker && ev.SessionID == token {
			return before
		}
		before = append(before, ev)
	}
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return c
}

func seqEvent(sender string, i int) *chat.Event {
	return &chat.Event{Kind: chat.EventMessage, Recipients: []string{"u"},
		Message: &chat.Message{ID: fmt.Sprintf("%s-%d", sender, i), SenderID: sender, Seq: int64(i), Text: "x"}}
}

type sample struct {
	name string
	ev   *chat.Event
}

// sampleEvents has every kind of event with every field set.
func sampleEvents() []sample {
	return []sample{
		{"MessageWithMedia", &chat.Event{
			Kind: chat.EventMessage, Recipients: []string{"u1", "u2", "u3"}, ExceptConn: "conn-7",
			Message: &chat.Message{
				ID: "01J0000000000000000000000", ConversationID: "conv1", Seq: 42, SenderID: "u1",
				Sender: "alice", TS: 1700000000123, Text: "héllo \"world\" ✓\n<b>", ClientMsgID: "cm-1",
				Media: &chat.Media{ID: "m1", ContentType: "image/png", Size: 12345, Width: 640, Height: 480,
					SHA256: "ab12cd", UploaderID: "u1", CreatedAt: 1700000000000},
			},
		}},
		{"MessageText", &chat.Event{
			Kind: chat.EventMessage, Recipients: []string{"u2"},
			Message: &chat.Message{ID: "m2", ConversationID: "conv2", Seq: 1, SenderID: "u1", Sender: "alice",
				TS: 1, Text: "hi", ClientMsgID: "cm-2"},
		}},
		{"Receipt", &chat.Event{
			Kind: chat.EventReceipt, Recipients: []string{"u1", "u2"}, ExceptConn: "conn-1",
			Receipt: &chat.Receipt{ConversationID: "conv1", UserID: "u2", Username: "bob", Status: chat.StatusRead, Seq: 9},
		}},
		{"Presence", &chat.Event{
			Kind:     chat.EventPresence,
			Presence: &chat.PresenceInfo{UserID: "u2", Username: "bob", Online: true, LastSeen: 1700000000999},
		}},
		{"Offline", &chat.Event{
			Kind:     chat.EventPresence,
			Presence: &chat.PresenceInfo{UserID: "u2", Username: "bob", LastSeen: 1700000000999},
		}},
		{"Typing", &chat.Event{
			Kind: chat.EventTyping, Recipients: []string{"u3"},
			Typing: &chat.TypingEvent{ConversationID: "conv1", UserID: "u1", Username: "alice"},
		}},
		{"Member", &chat.Event{
			Kind: chat.EventMember, Recipients: []string{"u1", "u2"},
			Member: &chat.MemberEvent{ConversationID: "conv1", UserID: "u3", Username: "carol", Event: chat.MemberJoined, Members: 7},
		}},
		{"Revoke", &chat.Event{Kind: chat.EventRevoke, SessionID: "sess-1"}},
	}
}

func wantEvent(t *testing.T, got, want *chat.Event) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("event:\n got %s\nwant %s", describe(got), describe(want))
	}
}

func describe(ev *chat.Event) string {
	if ev == nil {
		return "<nil>"
	}
	s := fmt.Sprintf("%+v", *ev)
	for _, p := range []any{ev.Message, ev.Receipt, ev.Presence, ev.Typing, ev.Member} {
		if !reflect.ValueOf(p).IsNil() {
			s += fmt.Sprintf(" %+v", p)
		}
	}
	if ev.Message != nil && ev.Message.Media != nil {
		s += fmt.Sprintf(" media=%+v", *ev.Message.Media)
	}
	return s
}

func kinds(evs []*chat.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Kind
	}
	return out
}
