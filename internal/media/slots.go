package media

import (
	"context"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// slots bounds the image decodes under way: at most cap(global) at once on
// this node, and at most perUser of them (running or waiting) for any one
// uploader, so that one user sending many large images cannot take every
// slot and keep the others waiting. A user over their share is told to
// retry rather than queued.
type slots struct {
	global  chan struct{}
	perUser int

	mu   sync.Mutex
	used map[string]int // user id -> decodes running or waiting
}

func newSlots(total, perUser int) *slots {
	return &slots{global: make(chan struct{}, total), perUser: perUser, used: make(map[string]int)}
}

// acquire takes a slot for user, waiting for one to be free; release
// gives it back. ERateLimited (with a retry delay) if the user already
// holds their share; EUnavailable if ctx ends first.
func (s *slots) acquire(ctx context.Context, user string) (release func(), err error) {
	s.mu.Lock()
	if s.used[user] >= s.perUser {
		s.mu.Unlock()
		return nil, retryAfter(time.Second, "%d of your images are being processed; send the next when one is done", s.perUser)
	}
	s.used[user]++
	s.mu.Unlock()
	select {
	case s.global <- struct{}{}:
		return func() { <-s.global; s.done(user) }, nil
	case <-ctx.Done():
		s.done(user)
		return nil, chat.Errorf(chat.EUnavailable, "request cancelled")
	}
}

func (s *slots) done(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used[user]--; s.used[user] <= 0 {
		delete(s.used, user)
	}
}

// retryAfter returns an ERateLimited error that says when to try again;
// the HTTP layer sends that as Retry-After (httpjson.Error).
func retryAfter(after time.Duration, format string, args ...any) error {
	e := chat.Errorf(chat.ERateLimited, format, args...)
	e.RetryAfter = after
	return e
}
