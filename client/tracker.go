package client

import (
	"sync"

	"github.com/switchboard-chat/switchboard/wire"
)

// Tracker follows which seqs of each conversation a client has seen, to
// check the delivery invariants: no gap, no duplicate, in order. Its
// cursors are what Sync takes. The zero Tracker is ready to use; it is safe
// for concurrent use.
type Tracker struct {
	mu    sync.Mutex
	convs map[string]*seqTrack
	stats TrackerStats
}

// TrackerStats counts what a Tracker has seen.
type TrackerStats struct {
	Observed   int64 // messages observed
	Duplicates int64 // observed messages whose seq had been seen already
	Gaps       int64 // observed messages that arrived with an unseen seq below them
	Held       int   // seqs seen above a hole that is not filled yet
}

type seqTrack struct {
	cursor int64              // every seq up to cursor has been seen
	ahead  map[int64]struct{} // seen seqs above cursor+1
}

func (t *Tracker) track(conv string) *seqTrack {
	if t.convs == nil {
		t.convs = make(map[string]*seqTrack)
	}
	s := t.convs[conv]
	if s == nil {
		s = &seqTrack{}
		t.convs[conv] = s
	}
	return s
}

// advance moves the cursor over seqs held just above it.
func (t *Tracker) advance(s *seqTrack) {
	for {
		if _, ok := s.ahead[s.cursor+1]; !ok {
			return
		}
		delete(s.ahead, s.cursor+1)
		t.stats.Held--
		s.cursor++
	}
}

// Start counts every seq of conv up to seq as seen, for a client that
// already holds them (from history, or a conversation's read position). It
// never moves a cursor back.
func (t *Tracker) Start(conv string, seq int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.track(conv)
	if seq <= s.cursor {
		return
	}
	s.cursor = seq
	for held := range s.ahead {
		if held <= seq {
			delete(s.ahead, held)
			t.stats.Held--
		}
	}
	t.advance(s)
}

// Observe records m. dup is true when its seq had been seen already; gap is
// true when it arrived while a lower seq of its conversation was still
// unseen (a gap, or out-of-order delivery). A later message that fills the
// hole moves the cursor over everything held above it.
func (t *Tracker) Observe(m wire.Message) (dup, gap bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats.Observed++
	s := t.track(m.Conversation)
	switch {
	case m.Seq <= s.cursor:
		dup = true
	case m.Seq == s.cursor+1:
		s.cursor++
		t.advance(s)
	default:
		if _, seen := s.ahead[m.Seq]; seen {
			dup = true
			break
		}
		gap = true
		if s.ahead == nil {
			s.ahead = make(map[int64]struct{})
		}
		s.ahead[m.Seq] = struct{}{}
		t.stats.Held++
	}
	if dup {
		t.stats.Duplicates++
	}
	if gap {
		t.stats.Gaps++
	}
	return dup, gap
}

// Cursor returns the highest seq of conv up to which every seq was seen.
func (t *Tracker) Cursor(conv string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.convs[conv]; s != nil {
		return s.cursor
	}
	return 0
}

// Cursors returns every conversation's cursor, as Sync takes them.
func (t *Tracker) Cursors() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int64, len(t.convs))
	for conv, s := range t.convs {
		out[conv] = s.cursor
	}
	return out
}

// Stats returns the counts so far.
func (t *Tracker) Stats() TrackerStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}
