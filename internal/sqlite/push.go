package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

var _ chat.PushStore = (*Store)(nil)

// VAPIDKeys returns the stored VAPID key pair, storing priv and pub first
// if there is none.
func (s *Store) VAPIDKeys(ctx context.Context, priv, pub string) (string, string, error) {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO push_vapid (id, private_key, public_key) VALUES (1, ?, ?)
			ON CONFLICT (id) DO NOTHING`, priv, pub); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT private_key, public_key FROM push_vapid WHERE id = 1`).Scan(&priv, &pub)
	})
	return priv, pub, translate(err)
}

// PutSubscription stores sub, replacing one with the same endpoint.
// ETooLarge past max per user; ENotFound for an unknown user.
func (s *Store) PutSubscription(ctx context.Context, sub chat.PushSubscription, max int) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// An endpoint that changes hands drops what was queued for the
		// previous user.
		if _, err := tx.ExecContext(ctx, `DELETE FROM push_subscriptions WHERE endpoint = ? AND user_id <> ?`, sub.Endpoint, sub.UserID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM push_subscriptions WHERE user_id = ? AND endpoint <> ?`,
			sub.UserID, sub.Endpoint).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return chat.Errorf(chat.ETooLarge, "too many subscriptions")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO push_subscriptions (endpoint, user_id, p256dh, auth, device, created_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth, device = excluded.device`,
			sub.Endpoint, sub.UserID, sub.P256dh, sub.Auth, sub.Device, sub.CreatedAt)
		return err
	})
}

// DeleteSubscription removes userID's (any user's if "") subscription at
// endpoint with its queued pushes. ENotFound.
func (s *Store) DeleteSubscription(ctx context.Context, userID, endpoint string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM push_subscriptions WHERE endpoint = ? AND (? = '' OR user_id = ?)`, endpoint, userID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return chat.Errorf(chat.ENotFound, "no such subscription")
		}
		return nil
	})
}

// EnqueuePushes queues one job per subscription of b.UserIDs, skipping
// those already queued for the message.
func (s *Store) EnqueuePushes(ctx context.Context, b chat.PushBatch) (int, error) {
	if len(b.UserIDs) == 0 {
		return 0, nil
	}
	var n int
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		n, err = enqueueTx(ctx, tx, b)
		return err
	})
	return n, translate(err)
}

// enqueueTx is EnqueuePushes inside tx.
func enqueueTx(ctx context.Context, tx *sql.Tx, b chat.PushBatch) (int, error) {
	if len(b.UserIDs) == 0 {
		return 0, nil
	}
	args := []any{b.MessageID, b.Payload, b.Topic, b.DueAt}
	for _, u := range b.UserIDs {
		args = append(args, u)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO push_queue (message_id, endpoint, payload, topic, due_at)
		SELECT ?, endpoint, ?, ?, ? FROM push_subscriptions WHERE user_id IN (?`+strings.Repeat(",?", len(b.UserIDs)-1)+`)
		ON CONFLICT (message_id, endpoint) DO NOTHING`, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ClaimPushes leases up to limit due jobs. SQLite has one writer, so the
// claim is atomic without row locks.
func (s *Store) ClaimPushes(ctx context.Context, now, lease int64, limit int) ([]chat.PushJob, error) {
	var jobs []chat.PushJob
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		jobs = jobs[:0]
		rows, err := tx.QueryContext(ctx, `UPDATE push_queue SET lease_until = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM push_queue WHERE due_at <= ? AND lease_until <= ? ORDER BY due_at, id LIMIT ?)
			RETURNING id, message_id, endpoint, payload, topic, due_at, attempts`, now+lease, now, now, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var j chat.PushJob
			if err := rows.Scan(&j.ID, &j.MessageID, &j.Subscription.Endpoint, &j.Payload, &j.Topic, &j.DueAt, &j.Attempts); err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range jobs {
			sub := &jobs[i].Subscription
			if err := tx.QueryRowContext(ctx, `SELECT user_id, p256dh, auth, device, created_at FROM push_subscriptions WHERE endpoint = ?`,
				sub.Endpoint).Scan(&sub.UserID, &sub.P256dh, &sub.Auth, &sub.Device, &sub.CreatedAt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, translate(err)
	}
	return jobs, nil
}

// FinishPush removes a job.
func (s *Store) FinishPush(ctx context.Context, id int64) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM push_queue WHERE id = ?`, id)
		return err
	})
}

// RetryPush makes a job due again at dueAt.
func (s *Store) RetryPush(ctx context.Context, id int64, dueAt int64) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE push_queue SET due_at = ?, lease_until = 0 WHERE id = ?`, dueAt, id)
		return err
	})
}

// PushQueueDepth counts the queued jobs.
func (s *Store) PushQueueDepth(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM push_queue`).Scan(&n)
	return n, translate(err)
}
