package chat

import (
	"context"
	"time"
)

// hashSlots bounds the password hashes computed at once. Each argon2id
// hash takes its full memory cost (19 MiB by default) for tens of
// milliseconds: unbounded, forty parallel logins took a node from 29 MB to
// 1.2 GB. A request waits a short while for a slot, then is told to retry.
type hashSlots struct {
	slots chan struct{}
	wait  time.Duration
}

func newHashSlots(n int, wait time.Duration) *hashSlots {
	return &hashSlots{slots: make(chan struct{}, n), wait: wait}
}

// do runs f in a slot, or answers unavailable when none frees up in time.
func (h *hashSlots) do(ctx context.Context, f func() error) error {
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
	case <-t.C:
		e := Errorf(EUnavailable, "the server is busy checking passwords; try again shortly")
		e.RetryAfter = time.Second
		return e
	case <-ctx.Done():
		return Errorf(EUnavailable, "request cancelled")
	}
	defer func() { <-h.slots }()
	return f()
}

func (s *Service) hash(ctx context.Context, password string) (string, error) {
	var hash string
	err := s.hashing.do(ctx, func() (err error) {
		hash, err = s.cfg.Hasher.Hash(password)
		return err
	})
	return hash, err
}

func (s *Service) verify(ctx context.Context, hash, password string) (bool, error) {
	var ok bool
	err := s.hashing.do(ctx, func() (err error) {
		ok, err = s.cfg.Hasher.Verify(hash, password)
		return err
	})
	return ok, err
}
