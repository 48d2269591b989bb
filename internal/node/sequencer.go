package node

import (
	"slices"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// sequencer puts a node's pushes of each conversation's messages in seq
// order. One node dispatches its own commits in order, but in a cluster two
// nodes commit messages of one group concurrently and fan them out
// independently, so seq 7 from one node can reach a third before seq 6 from
// another. A message whose predecessor has not arrived is held until it has,
// or until hold passes (the predecessor was lost on the bus, or had no
// recipient here): then what is held goes out in order and clients fill any
// gap with sync.
//
// The same type orders a conversation's updates by rev: pos says which
// counter an event carries (its message's Seq, or its Rev).
type sequencer struct {
	pos     func(*chat.Event) int64
	hold    time.Duration
	now     func() time.Time
	deliver func(*chat.Event)

	mu    sync.Mutex
	convs map[string]*convOrder
	swept time.Time
}

type convOrder struct {
	next  int64 // the seq expected next; 0 when unknown
	seen  time.Time
	held  []*chat.Event
	timer *time.Timer
}

func newSequencer(pos func(*chat.Event) int64, hold time.Duration, now func() time.Time, deliver func(*chat.Event)) *sequencer {
	return &sequencer{pos: pos, hold: hold, now: now, deliver: deliver, convs: make(map[string]*convOrder)}
}

// bySeq and byRev are the counters a sequencer orders by.
func bySeq(ev *chat.Event) int64 { return ev.Message.Seq }
func byRev(ev *chat.Event) int64 { return ev.Message.Rev }

// push delivers a message event now, or holds it until its predecessors
// have been delivered.
func (q *sequencer) push(ev *chat.Event) {
	now := q.now()
	m := ev.Message
	pos := q.pos(ev)
	q.mu.Lock()
	defer q.mu.Unlock()
	if now.Sub(q.swept) > time.Minute {
		q.sweep(now)
	}
	c := q.convs[m.ConversationID]
	if c == nil {
		c = &convOrder{}
		q.convs[m.ConversationID] = c
	}
	// A conversation this node has not heard for a while starts afresh:
	// messages sent meanwhile had no recipient here and will not come.
	if len(c.held) == 0 && now.Sub(c.seen) > 4*q.hold {
		c.next = 0
	}
	c.seen = now
	switch {
	case c.next == 0 && !q.inFlight(ev, now):
		// The first message heard of this conversation, with nothing before
		// it recent enough to be on its way: it sets where order starts.
		q.deliver(ev)
		c.next = pos + 1
		q.release(c, false)
	case c.next == 0:
		// First heard, but its predecessor was committed moments ago and may
		// still be crossing the bus (concurrent senders on other nodes):
		// hold it until the predecessor sets the start, or the hold passes.
		q.hold1(c, ev)
	case pos == c.next:
		q.deliver(ev)
		c.next = pos + 1
		q.release(c, false)
	case pos < c.next:
		q.deliver(ev) // late after a timeout: out of order, but not lost
	default:
		q.hold1(c, ev)
	}
}

// inFlight reports whether ev's predecessor was committed so recently that
// it may not have reached this node yet.
func (q *sequencer) inFlight(ev *chat.Event, now time.Time) bool {
	return q.pos(ev) > 1 && ev.PrevTS > 0 && now.UnixMilli()-ev.PrevTS < q.hold.Milliseconds()
}

// hold1 holds ev until its predecessors come or the hold passes.
func (q *sequencer) hold1(c *convOrder, ev *chat.Event) {
	c.held = append(c.held, ev)
	if c.timer == nil {
		conv := ev.Message.ConversationID
		c.timer = time.AfterFunc(q.hold, func() { q.expire(conv) })
	}
}

// release delivers the held messages that are next in line; with all set
// it delivers every held message, in seq order, skipping the holes.
func (q *sequencer) release(c *convOrder, all bool) {
	slices.SortFunc(c.held, func(a, b *chat.Event) int { return int(q.pos(a) - q.pos(b)) })
	i := 0
	for ; i < len(c.held); i++ {
		seq := q.pos(c.held[i])
		if seq > c.next && !all {
			break
		}
		if seq >= c.next {
			c.next = seq + 1
		}
		q.deliver(c.held[i])
	}
	c.held = c.held[i:]
	if len(c.held) == 0 && c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

func (q *sequencer) expire(conv string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if c := q.convs[conv]; c != nil {
		c.timer = nil
		q.release(c, true)
	}
}

// sweep forgets conversations not heard from in a while.
func (q *sequencer) sweep(now time.Time) {
	for id, c := range q.convs {
		if len(c.held) == 0 && now.Sub(c.seen) > time.Minute {
			delete(q.convs, id)
		}
	}
	q.swept = now
}
