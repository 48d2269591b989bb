package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// WithPushOutbox makes every newly stored message write its push outbox
// entry (chat.PushOutboxEntry) in its own transaction, due grace after
// the message. Without it (push off) appends write nothing more. Every
// node of a cluster that sends should be opened with it.
func WithPushOutbox(grace time.Duration) Option {
	return func(o *options) { o.outbox = &outbox{grace: grace.Milliseconds()} }
}

// outbox is the push outbox's setting; nil when push is off.
type outbox struct {
	grace int64 // ms added to a message's ts for its due time
}

const sqlInsertOutbox = `INSERT INTO push_outbox (message_id, conversation_id, due_at)
	SELECT id, conv, ts + $4 FROM unnest($1::text[], $2::text[], $3::bigint[]) AS n (id, conv, ts)
	ON CONFLICT (message_id) DO NOTHING`

// queueOutbox adds to b, the append's second round trip, the insert of
// the new messages' outbox entries, and returns how many statements it
// queued (0 with push off or no new message).
func (s *Store) queueOutbox(b *pgx.Batch, ins *insertArrays) int {
	if s.outbox == nil || len(ins.id) == 0 {
		return 0
	}
	b.Queue(sqlInsertOutbox, ins.id, ins.conv, ins.ts, s.outbox.grace)
	return 1
}

// ClaimOutbox leases up to limit due outbox entries; SKIP LOCKED lets
// every node claim at once without waiting on, or getting, each other's
// rows.
func (s *Store) ClaimOutbox(ctx context.Context, now, lease int64, limit int) ([]chat.PushOutboxEntry, error) {
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT message_id FROM push_outbox WHERE due_at <= $1 AND lease_until <= $1
			ORDER BY due_at, message_id LIMIT $3 FOR UPDATE SKIP LOCKED)
		UPDATE push_outbox o SET lease_until = $2, attempts = o.attempts + 1 FROM due WHERE o.message_id = due.message_id
		RETURNING o.message_id, o.conversation_id, o.due_at, o.attempts`, now, now+lease, limit)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.PushOutboxEntry, error) {
		var e chat.PushOutboxEntry
		err := row.Scan(&e.MessageID, &e.ConversationID, &e.DueAt, &e.Attempts)
		return e, err
	})
	return out, dbErr(err)
}

// HandOffPushes deletes b.MessageID's outbox entry and queues b's jobs in
// one transaction; nothing is queued if the entry was already gone. Two
// nodes handing off the same entry (a lease that ran out) serialize on its
// row lock, and the second finds it deleted.
func (s *Store) HandOffPushes(ctx context.Context, b chat.PushBatch) (int, bool, error) {
	var n int
	var handed bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		n, handed = 0, false
		tag, err := tx.Exec(ctx, `DELETE FROM push_outbox WHERE message_id = $1`, b.MessageID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		handed = true
		if len(b.UserIDs) == 0 {
			return nil
		}
		tag, err = tx.Exec(ctx, sqlEnqueuePushes, b.MessageID, b.Payload, b.Topic, b.DueAt, b.UserIDs)
		n = int(tag.RowsAffected())
		return err
	})
	if err != nil {
		return 0, false, dbErr(err)
	}
	return n, handed, nil
}

// PushOutboxDepth counts the outbox entries.
func (s *Store) PushOutboxDepth(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM push_outbox`).Scan(&n)
	return n, dbErr(err)
}

// HasOutboxEntry reports whether messageID's outbox entry is still there
// (not yet handed off): a store that queues the jobs in another database
// asks before it queues them.
func (s *Store) HasOutboxEntry(ctx context.Context, messageID string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM push_outbox WHERE message_id = $1)`, messageID).Scan(&ok)
	return ok, dbErr(err)
}
