package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

var _ chat.PushStore = (*Store)(nil)

// VAPIDKeys returns the stored VAPID key pair, storing priv and pub first
// if there is none; nodes starting together all get the first pair kept.
func (s *Store) VAPIDKeys(ctx context.Context, priv, pub string) (string, string, error) {
	if _, err := s.pool.Exec(ctx, `INSERT INTO push_vapid (id, private_key, public_key) VALUES (1, $1, $2)
		ON CONFLICT (id) DO NOTHING`, priv, pub); err != nil {
		return "", "", dbErr(err)
	}
	err := s.pool.QueryRow(ctx, `SELECT private_key, public_key FROM push_vapid WHERE id = 1`).Scan(&priv, &pub)
	return priv, pub, dbErr(err)
}

// PutSubscription stores sub, replacing one with the same endpoint.
// ETooLarge past max per user; ENotFound for an unknown user.
func (s *Store) PutSubscription(ctx context.Context, sub chat.PushSubscription, max int) error {
	return dbErr(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The user's row lock serializes their subscribes, so the count holds.
		var id string
		if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE id = $1 FOR UPDATE`, sub.UserID).Scan(&id); errors.Is(err, pgx.ErrNoRows) {
			return chat.Errorf(chat.ENotFound, "no such user")
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM push_subscriptions WHERE endpoint = $1 AND user_id <> $2`, sub.Endpoint, sub.UserID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM push_subscriptions WHERE user_id = $1 AND endpoint <> $2`,
			sub.UserID, sub.Endpoint).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return chat.Errorf(chat.ETooLarge, "too many subscriptions")
		}
		_, err := tx.Exec(ctx, `INSERT INTO push_subscriptions (endpoint, user_id, p256dh, auth, device, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth, device = excluded.device`,
			sub.Endpoint, sub.UserID, sub.P256dh, sub.Auth, sub.Device, sub.CreatedAt)
		return err
	}))
}

// DeleteSubscription removes userID's (any user's if "") subscription at
// endpoint with its queued pushes. ENotFound.
func (s *Store) DeleteSubscription(ctx context.Context, userID, endpoint string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM push_subscriptions WHERE endpoint = $1 AND ($2 = '' OR user_id = $2)`, endpoint, userID)
	if err != nil {
		return dbErr(err)
	}
	if tag.RowsAffected() == 0 {
		return chat.Errorf(chat.ENotFound, "no such subscription")
	}
	return nil
}

const sqlEnqueuePushes = `INSERT INTO push_queue (message_id, endpoint, payload, topic, due_at)
	SELECT $1, endpoint, $2, $3, $4 FROM push_subscriptions WHERE user_id = ANY($5)
	ON CONFLICT (message_id, endpoint) DO NOTHING`

// EnqueuePushes queues one job per subscription of b.UserIDs, skipping
// those already queued for the message.
func (s *Store) EnqueuePushes(ctx context.Context, b chat.PushBatch) (int, error) {
	if len(b.UserIDs) == 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, sqlEnqueuePushes, b.MessageID, b.Payload, b.Topic, b.DueAt, b.UserIDs)
	if err != nil {
		return 0, dbErr(err)
	}
	return int(tag.RowsAffected()), nil
}

// ClaimPushes leases up to limit due jobs; SKIP LOCKED lets every node
// claim at once without waiting on, or getting, each other's rows.
func (s *Store) ClaimPushes(ctx context.Context, now, lease int64, limit int) ([]chat.PushJob, error) {
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT id FROM push_queue WHERE due_at <= $1 AND lease_until <= $1
			ORDER BY due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED),
		claimed AS (
			UPDATE push_queue q SET lease_until = $2, attempts = q.attempts + 1 FROM due WHERE q.id = due.id
			RETURNING q.id, q.message_id, q.endpoint, q.payload, q.topic, q.due_at, q.attempts)
		SELECT c.id, c.message_id, c.endpoint, c.payload, c.topic, c.due_at, c.attempts,
			s.user_id, s.p256dh, s.auth, s.device, s.created_at
		FROM claimed c JOIN push_subscriptions s ON s.endpoint = c.endpoint ORDER BY c.due_at, c.id`, now, now+lease, limit)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var jobs []chat.PushJob
	for rows.Next() {
		var j chat.PushJob
		sub := &j.Subscription
		if err := rows.Scan(&j.ID, &j.MessageID, &sub.Endpoint, &j.Payload, &j.Topic, &j.DueAt, &j.Attempts,
			&sub.UserID, &sub.P256dh, &sub.Auth, &sub.Device, &sub.CreatedAt); err != nil {
			return nil, dbErr(err)
		}
		jobs = append(jobs, j)
	}
	return jobs, dbErr(rows.Err())
}

// FinishPush removes a job.
func (s *Store) FinishPush(ctx context.Context, id int64) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM push_queue WHERE id = $1`, id)
	return dbErr(err)
}

// RetryPush makes a job due again at dueAt.
func (s *Store) RetryPush(ctx context.Context, id int64, dueAt int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE push_queue SET due_at = $1, lease_until = 0 WHERE id = $2`, dueAt, id)
	return dbErr(err)
}

// PushQueueDepth counts the queued jobs.
func (s *Store) PushQueueDepth(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM push_queue`).Scan(&n)
	return n, dbErr(err)
}
