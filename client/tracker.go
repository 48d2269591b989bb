package client

import (
	"sync"

	"github.com/switchboard-chat/switchboard/wire"
)

// Tracker follows which seqs of each conversation a client has seen, to
// check the delivery invariants: no gap, no duplicate, in order. Its
// cursors are what Sync takes. It follows revs (update frames and the
// acks of the client's own changes) the same way: Revs is what SyncRevs
// takes. The zero Tracker is ready to use; it is safe for concurrent use.
type Tracker struct {
	mu    sync.Mutex
	convs map[string]*seqTrack
	revs  map[string]*seqTrack
	stats TrackerStats
}

// TrackerStats counts what a Tracker has seen.
type TrackerStats struct {
	Observed   int64 // messages observed
	Duplicates int64 // observed messages whose seq had been seen already
	Gaps       int64 // observed messages that arrived with an unseen seq below them
	Held       int   // seqs seen above a hole that is not filled yet

	Updates     int64 // updates observed
	UpdateDups  int64 // updates whose rev had been seen already
	UpdateGaps  int64 // updates that arrived with an unseen rev below them
	UpdatesHeld int   // revs seen above a hole that is not filled yet
}

type seqTrack struct {
	cursor int64              // every seq up to cursor has been seen
	ahead  map[int64]struct{} // seen seqs above cursor+1
}

func (t *Tracker) track(conv string) *seqTrack {
	if t.convs == nil {
		t.convs = make(map[string]*seqTrack)
	}
	return trackIn(t.convs, conv)
}

func trackIn(m map[string]*seqTrack, conv string) *seqTrack {
	s := m[conv]
	if s == nil {
		s = &seqTrack{}
		m[conv] = s
	}
	return s
}

// advance moves the cursor over positions held just above it and returns
// how many it took.
func (s *seqTrack) advance() int {
	n := 0
	for {
		if _, ok := s.ahead[s.cursor+1]; !ok {
			return n
		}
		delete(s.ahead, s.cursor+1)
		n++
		s.cursor++
	}
}

// start moves the cursor up to pos (never back) and returns how many held
// positions it dropped.
func (s *seqTrack) start(pos int64) int {
	if pos <= s.cursor {
		return 0
	}
	s.cursor = pos
	n := 0
	for held := range s.ahead {
		if held <= pos {
			delete(s.ahead, held)
			n++
		}
	}
	return n + s.advance()
}

// observe records position pos: dup if seen already, gap if a lower one
// is still unseen; held is the change in positions held above a hole.
func (s *seqTrack) observe(pos int64) (dup, gap bool, held int) {
	switch {
	case pos <= s.cursor:
		return true, false, 0
	case pos == s.cursor+1:
		s.cursor++
		return false, false, -s.advance()
	}
	if _, seen := s.ahead[pos]; seen {
		return true, false, 0
	}
	if s.ahead == nil {
		s.ahead = make(map[int64]struct{})
	}
	s.ahead[pos] = struct{}{}
	return false, true, 1
}

// Start counts every seq of conv up to seq as seen, for a client that
// already holds them (from history, or a conversation's read position). It
// never moves a cursor back.
func (t *Tracker) Start(conv string, seq int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats.Held -= t.track(conv).start(seq)
}

// Observe records m. dup is true when its seq had been seen already; gap is
// true when it arrived while a lower seq of its conversation was still
// unseen (a gap, or out-of-order delivery). A later message that fills the
// hole moves the cursor over everything held above it.
func (t *Tracker) Observe(m wire.Message) (dup, gap bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats.Observed++
	dup, gap, held := t.track(m.Conversation).observe(m.Seq)
	t.stats.Held += held
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

// StartRev counts every rev of conv up to rev as seen, as after a sync ack's
// last_rev. It never moves a rev cursor back.
func (t *Tracker) StartRev(conv string, rev int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.revs == nil {
		t.revs = make(map[string]*seqTrack)
	}
	t.stats.UpdatesHeld -= trackIn(t.revs, conv).start(rev)
}

// ObserveUpdate records a change of rev in conv: an update frame, or the
// ack of the client's own change (when it changed something: its rev is
// then above the cursor). dup is true when the rev had been seen already;
// gap when a lower rev is still unseen.
func (t *Tracker) ObserveUpdate(conv string, rev int64) (dup, gap bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.revs == nil {
		t.revs = make(map[string]*seqTrack)
	}
	t.stats.Updates++
	dup, gap, held := trackIn(t.revs, conv).observe(rev)
	t.stats.UpdatesHeld += held
	if dup {
		t.stats.UpdateDups++
	}
	if gap {
		t.stats.UpdateGaps++
	}
	return dup, gap
}

// Rev returns the highest rev of conv up to which every rev was seen.
func (t *Tracker) Rev(conv string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.revs[conv]; s != nil {
		return s.cursor
	}
	return 0
}

// Revs returns every conversation's rev cursor, as SyncRevs takes them.
func (t *Tracker) Revs() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int64, len(t.revs))
	for conv, s := range t.revs {
		out[conv] = s.cursor
	}
	return out
}
