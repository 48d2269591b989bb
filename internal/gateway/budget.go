package gateway

import (
	"strings"
	"time"
)

// Frame limits a connection lives under. A frame costs the server at least
// its parse, and some (typing, receipts) fan out to every member's devices,
// so each connection has a budget of frames and some kinds a budget of
// their own. The read loop handles one frame at a time, so none of this
// needs a lock.
const (
	// refusalsToClose: a client that goes on past this many refused frames
	// in a row ignores the rate_limited errors, and is closed (4029).
	refusalsToClose = 200
	// typingEvery: one typing frame per conversation is passed on in this
	// time; the rest repeat what the members were just told.
	typingEvery = 2 * time.Second
	// maxTypingConvs bounds the per-connection map of typing times.
	maxTypingConvs = 64
)

// bucket is a token bucket measured in nanoseconds of a monotonic clock.
type bucket struct {
	tokens float64
	last   int64
	primed bool
}

// take spends one token at now (ns), refilling rate per second up to
// burst; false when none is left.
func (b *bucket) take(now int64, rate float64, burst int) bool {
	if rate <= 0 {
		return true
	}
	if !b.primed {
		b.tokens, b.last, b.primed = float64(burst), now, true
	}
	b.tokens = min(float64(burst), b.tokens+float64(now-b.last)/1e9*rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// limits is one connection's frame accounting.
type limits struct {
	frames   bucket
	presence bucket
	refused  int              // frames refused in a row
	typing   map[string]int64 // conversation -> when typing was last passed on
}

// typingDue reports whether a typing frame for conv should be passed on at
// now, and records it if so.
func (l *limits) typingDue(conv string, now int64) bool {
	if last, ok := l.typing[conv]; ok && now-last < int64(typingEvery) {
		return false
	}
	if l.typing == nil || len(l.typing) >= maxTypingConvs {
		l.typing = make(map[string]int64, 4)
	}
	l.typing[conv] = now
	return true
}

// uniqueNames returns names without repeats (case-insensitively, as
// usernames compare), keeping the first spelling and the order.
func uniqueNames(names []string) []string {
	seen := make(map[string]struct{}, len(names))
	out := names[:0:0]
	for _, n := range names {
		k := strings.ToLower(n)
		if _, ok := seen[k]; ok {
			continue
		}
		seen[k] = struct{}{}
		out = append(out, n)
	}
	return out
}
