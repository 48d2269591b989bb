package node

import (
	"iter"
	"time"
)

// pacer decides when the writer waits before a commit so that the next
// messages share it (Config.CommitWait). A commit's fixed cost (on SQLite
// the WAL pages of every B-tree a message touches, and an fsync) is most
// of what a message costs the store when messages come one at a time, so
// under a steady stream a short wait makes each commit carry several.
//
// Waiting helps only if messages arrive meanwhile. Senders that wait for
// their ack before sending again (a bot, a closed-loop client) cannot add
// to a batch that holds their message, and a wait would only slow them
// down. So a wait ends as soon as the batch holds a message of every
// sender of the previous batch when each of those had one message in it
// (senders in lockstep: nothing more will come), and the pacer keeps a
// moving average of what its waits gathered and stops waiting while that
// is under worthMin messages, trying again once per probe period.
type pacer struct {
	wait  time.Duration
	probe time.Duration

	last  time.Time // when the previous commit started
	worth float64   // moving average of the messages a wait gathered
	retry time.Time // with worth under worthMin, when to try waiting again

	// prev holds the senders of the previous batch if each had one
	// message in it and there were at most maxLockstep of them, else nil;
	// a sender's value says whether the batch being built has its
	// message yet, and missing counts those that do not.
	prev, spare map[string]bool
	missing     int
}

// maxLockstep bounds the senders the pacer keeps from a batch.
const maxLockstep = 64

// worthMin is how many messages a wait must gather, on average, to go on.
const worthMin = 2

func newPacer(wait time.Duration) *pacer {
	return &pacer{wait: wait, probe: time.Second, worth: worthMin}
}

// delay is how long the writer should wait at now for more messages
// before committing; 0 means commit at once.
func (p *pacer) delay(now time.Time) time.Duration {
	if p.wait <= 0 {
		return 0
	}
	rest := p.wait - now.Sub(p.last)
	if rest <= 0 || p.worth < worthMin && now.Before(p.retry) {
		return 0
	}
	return rest
}

// waited records that a wait gathered n messages, at now.
func (p *pacer) waited(n int, now time.Time) {
	p.worth = (p.worth + float64(n)) / 2
	if p.worth < worthMin {
		p.retry = now.Add(p.probe)
	}
}

// start begins a batch.
func (p *pacer) start() {
	for id := range p.prev {
		p.prev[id] = false
	}
	p.missing = len(p.prev)
}

// saw records that the batch holds a message of the connection id.
func (p *pacer) saw(id string) {
	if seen, ok := p.prev[id]; ok && !seen {
		p.prev[id] = true
		p.missing--
	}
}

// complete reports whether the batch holds a message of every sender of
// the previous batch, which were in lockstep: waiting gathers no more.
func (p *pacer) complete() bool { return p.prev != nil && p.missing == 0 }

// committing records that a commit of the messages from senders (a
// connection id per message) starts at now.
func (p *pacer) committing(now time.Time, senders iter.Seq[string]) {
	p.last = now
	next := p.spare
	if next == nil {
		next = make(map[string]bool)
	}
	clear(next)
	p.spare, p.prev = p.prev, nil
	for id := range senders {
		if _, twice := next[id]; twice || len(next) == maxLockstep {
			p.spare = next
			return
		}
		next[id] = false
	}
	p.prev = next
}
