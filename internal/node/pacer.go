package node

import "time"

// pacer decides when the writer waits before a commit so that the next
// messages share it (Config.CommitWait). A commit's fixed cost (on SQLite
// the WAL pages of every B-tree a message touches, and an fsync) is most
// of what a message costs the store when messages come one at a time, so
// under a steady stream a short wait makes each commit carry several.
//
// Waiting helps only if messages arrive meanwhile. Senders that wait for
// their ack before sending again (a bot, a closed-loop client) are all in
// the batch already, and a wait would only slow them down; so the pacer
// keeps a moving average of what its waits gathered and stops waiting
// while that is under worthMin messages (a few senders in lockstep gather
// one another and little else), trying again once per probe period.
type pacer struct {
	wait time.Duration
	full int // a batch this large commits without waiting

	last  time.Time // when the previous commit started
	worth float64   // moving average of the messages a wait gathered
	retry time.Time // with worth under worthMin, when to try waiting again
}

const (
	// waitBelow is the batch size from which a commit does not wait for
	// more: that many already share its fixed cost, and under a closed
	// loop, where batches are this large, a wait would leave the store
	// idle.
	waitBelow = 32
	// worthMin is how many messages a wait must gather, on average, to go on.
	worthMin = 2
	// probe is how long the pacer stops waiting once waits fell under
	// worthMin, before it tries one again.
	probe = time.Second
)

// newPacer paces commits of at most maxBatch messages.
func newPacer(wait time.Duration, maxBatch int) *pacer {
	return &pacer{wait: wait, full: min(waitBelow, maxBatch), worth: worthMin}
}

// delay is how long the writer should wait at now for more messages
// before committing a batch of n; 0 means commit at once.
func (p *pacer) delay(now time.Time, n int) time.Duration {
	if p.wait <= 0 || n >= p.full {
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
		p.retry = now.Add(probe)
	}
}

// committing records that a commit starts at now.
func (p *pacer) committing(now time.Time) { p.last = now }
