package shard

import (
	"context"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// The push outbox lives where a message is appended: each shard's append
// transaction leaves its messages' entries on that shard. The push queue
// and the subscriptions live in the directory. So a hand-off spans two
// databases: the jobs are queued in the directory first (idempotent per
// (message, subscription)), then the shard's entry is removed. A claimer
// that dies between the two leaves the entry to be claimed again when its
// lease runs out; the second hand-off queues nothing new for jobs still
// queued, and only a job already sent and finished in that window can go
// out twice (the same at-least-once window as a send cut by a crash).

// ClaimOutbox claims due entries from every shard, up to limit in all.
func (s *Store) ClaimOutbox(ctx context.Context, now, lease int64, limit int) ([]chat.PushOutboxEntry, error) {
	var out []chat.PushOutboxEntry
	for _, sh := range s.shards {
		if len(out) >= limit {
			break
		}
		es, err := sh.ClaimOutbox(ctx, now, lease, limit-len(out))
		if err != nil {
			return out, err
		}
		out = append(out, es...)
	}
	return out, nil
}

// HandOffPushes finds the shard holding the message's outbox entry, queues
// b's jobs in the directory, then removes the entry. An entry already
// handed off queues nothing.
func (s *Store) HandOffPushes(ctx context.Context, b chat.PushBatch) (int, bool, error) {
	for _, sh := range s.shards {
		ok, err := sh.HasOutboxEntry(ctx, b.MessageID)
		if err != nil {
			return 0, false, err
		}
		if !ok {
			continue
		}
		n := 0
		if len(b.UserIDs) > 0 {
			if n, err = s.dir.EnqueuePushes(ctx, b); err != nil {
				return 0, false, err
			}
		}
		_, handed, err := sh.HandOffPushes(ctx, chat.PushBatch{MessageID: b.MessageID})
		if err != nil {
			return n, false, err
		}
		return n, handed, nil
	}
	return 0, false, nil
}

// PushOutboxDepth sums the shards' outbox entries.
func (s *Store) PushOutboxDepth(ctx context.Context) (int, error) {
	total := 0
	for _, sh := range s.shards {
		n, err := sh.PushOutboxDepth(ctx)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
