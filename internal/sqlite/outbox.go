package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Option changes how Open sets up the store.
type Option func(*Store)

// WithPushOutbox makes every newly stored message write its push outbox
// entry (chat.PushOutboxEntry) in its own transaction, due grace after
// the message. Without it (push off) appends write nothing more.
func WithPushOutbox(grace time.Duration) Option {
	return func(s *Store) { s.outbox = &outbox{grace: grace.Milliseconds()} }
}

// outbox is the push outbox's setting; nil when push is off.
type outbox struct {
	grace int64 // ms added to a message's ts for its due time
}

// outboxRows is the most rows one INSERT takes (3 variables each, far
// under SQLite's limit of 32766).
const outboxRows = 500

// outboxAppended writes the outbox entries of the batch's newly stored
// messages (not duplicates, not failed ones) inside the append's tx.
func (s *Store) outboxAppended(ctx context.Context, tx *sql.Tx, batch []*chat.Append) error {
	if s.outbox == nil {
		return nil
	}
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		q := `INSERT INTO push_outbox (message_id, conversation_id, due_at) VALUES (?, ?, ?)` +
			strings.Repeat(", (?, ?, ?)", len(args)/3-1) + ` ON CONFLICT (message_id) DO NOTHING`
		_, err := tx.ExecContext(ctx, q, args...)
		args = args[:0]
		return err
	}
	for _, a := range batch {
		if a.Err != nil || a.Duplicate || a.Result.ID == "" {
			continue
		}
		args = append(args, a.Result.ID, a.Result.ConversationID, a.Result.TS+s.outbox.grace)
		if len(args) == 3*outboxRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// ClaimOutbox leases up to limit due outbox entries. SQLite has one
// writer, so the claim is atomic without row locks.
func (s *Store) ClaimOutbox(ctx context.Context, now, lease int64, limit int) ([]chat.PushOutboxEntry, error) {
	var out []chat.PushOutboxEntry
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `UPDATE push_outbox SET lease_until = ?, attempts = attempts + 1
			WHERE message_id IN (SELECT message_id FROM push_outbox WHERE due_at <= ? AND lease_until <= ?
				ORDER BY due_at, message_id LIMIT ?)
			RETURNING message_id, conversation_id, due_at, attempts`, now+lease, now, now, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e chat.PushOutboxEntry
			if err := rows.Scan(&e.MessageID, &e.ConversationID, &e.DueAt, &e.Attempts); err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, translate(err)
	}
	return out, nil
}

// HandOffPushes deletes b.MessageID's outbox entry and queues b's jobs in
// one transaction; nothing is queued if the entry was already gone.
func (s *Store) HandOffPushes(ctx context.Context, b chat.PushBatch) (int, bool, error) {
	var n int
	var handed bool
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		n, handed = 0, false
		res, err := tx.ExecContext(ctx, `DELETE FROM push_outbox WHERE message_id = ?`, b.MessageID)
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			return err
		}
		handed = true
		n, err = enqueueTx(ctx, tx, b)
		return err
	})
	if err != nil {
		return 0, false, translate(err)
	}
	return n, handed, nil
}

// PushOutboxDepth counts the outbox entries.
func (s *Store) PushOutboxDepth(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM push_outbox`).Scan(&n)
	return n, translate(err)
}
