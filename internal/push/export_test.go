package push

import "time"

// Backoff exposes the retry delay for tests.
func Backoff(base time.Duration, attempts int, retryAfter string) time.Duration {
	s := &Sender{cfg: Config{Backoff: base}}
	return s.backoff(attempts, retryAfter)
}
