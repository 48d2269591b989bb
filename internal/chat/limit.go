package chat

import (
	"sync"
	"time"
)

// limiter is a per-key token bucket: rate tokens a second, burst at most.
// Idle buckets are dropped so memory follows active users, not all users.
type limiter struct {
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), buckets: make(map[string]*bucket)}
}

// allow takes one token for key at now, reporting false if none is left.
// A zero rate means no limit.
func (l *limiter) allow(key string, now time.Time) bool {
	return l.take(key, now, true)
}

// ready reports whether key has a token at now, without taking it.
func (l *limiter) ready(key string, now time.Time) bool {
	return l.take(key, now, false)
}

func (l *limiter) take(key string, now time.Time, spend bool) bool {
	if l == nil || l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.sweep(now)
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens += now.Sub(b.last).Seconds() * l.rate
	if b.tokens > l.burst {
		b.tokens = l.burst
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	if spend {
		b.tokens--
	}
	return true
}

// give returns one token to key, as when a spent attempt turned out not to
// count (a login with the right password).
func (l *limiter) give(key string) {
	if l == nil || l.rate <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buckets[key]; b != nil {
		b.tokens = min(b.tokens+1, l.burst)
	}
}

// wait returns how long key has to wait for its next token at now.
func (l *limiter) wait(key string, now time.Time) time.Duration {
	if l == nil || l.rate <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		return 0
	}
	tokens := b.tokens + now.Sub(b.last).Seconds()*l.rate
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / l.rate * float64(time.Second))
}

// refuse returns the rate_limited error for key, with when to retry.
func (l *limiter) refuse(key string, now time.Time, format string, args ...any) *Error {
	e := Errorf(ERateLimited, format, args...)
	e.RetryAfter = max(l.wait(key, now), time.Second)
	return e
}

// sweep drops buckets that have refilled: they behave like new ones.
func (l *limiter) sweep(now time.Time) {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) > full {
			delete(l.buckets, k)
		}
	}
	l.swept = now
}
