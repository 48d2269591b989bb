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
