package push

import (
	"context"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// handOffRound claims one batch of due outbox entries and hands each off
// to the push queue.
func (s *Sender) handOffRound(ctx context.Context) (int, error) {
	es, err := s.cfg.Store.ClaimOutbox(ctx, time.Now().UnixMilli(), s.cfg.Lease.Milliseconds(), s.cfg.Batch)
	if err != nil || len(es) == 0 {
		return 0, err
	}
	sem := make(chan struct{}, s.cfg.Workers)
	var wg sync.WaitGroup
	for _, e := range es {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.handOff(ctx, e)
		}()
	}
	wg.Wait()
	return len(es), nil
}

// handOff queues e's pushes and removes it in one transaction. An entry
// that cannot be worked out (the store or presence failing) stays leased
// and is claimed again after the lease, up to MaxAttempts; then it is
// removed with nothing queued.
func (s *Sender) handOff(ctx context.Context, e chat.PushOutboxEntry) {
	b, err := s.cfg.Service.DuePushes(ctx, e, s.cfg.Preview)
	if err != nil {
		if e.Attempts < s.cfg.MaxAttempts {
			s.log.Debug("push hand-off", "message", e.MessageID, "attempts", e.Attempts, "err", err)
			return
		}
		s.log.Warn("push hand-off given up", "message", e.MessageID, "attempts", e.Attempts, "err", err)
		b = chat.PushBatch{MessageID: e.MessageID}
	}
	if _, _, err := s.cfg.Store.HandOffPushes(context.WithoutCancel(ctx), b); err != nil {
		s.log.Warn("push hand-off", "message", e.MessageID, "err", err)
	}
}
