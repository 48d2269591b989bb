package postgres

import (
	"context"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

var _ chat.NotificationStore = (*Store)(nil)

// SetNotification stores userID's setting for convID.
func (s *Store) SetNotification(ctx context.Context, convID, userID string, ns chat.NotificationSetting) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO notification_settings (conversation_id, user_id, level, muted_until)
		VALUES ($1, $2, $3, $4) ON CONFLICT (conversation_id, user_id) DO UPDATE SET level = excluded.level, muted_until = excluded.muted_until`,
		convID, userID, ns.Level, ns.MutedUntil)
	return dbErr(err)
}

// Notifications returns the stored settings of userIDs in convID.
func (s *Store) Notifications(ctx context.Context, convID string, userIDs []string) (map[string]chat.NotificationSetting, error) {
	out := make(map[string]chat.NotificationSetting)
	if len(userIDs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT user_id, level, muted_until FROM notification_settings
		WHERE conversation_id = $1 AND user_id = ANY($2)`, convID, userIDs)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		var ns chat.NotificationSetting
		if err := rows.Scan(&u, &ns.Level, &ns.MutedUntil); err != nil {
			return nil, dbErr(err)
		}
		out[u] = ns
	}
	return out, dbErr(rows.Err())
}
