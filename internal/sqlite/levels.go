package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

var _ chat.NotificationStore = (*Store)(nil)

// SetNotification stores userID's setting for convID.
func (s *Store) SetNotification(ctx context.Context, convID, userID string, ns chat.NotificationSetting) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO notification_settings (conversation_id, user_id, level, muted_until)
			VALUES (?, ?, ?, ?) ON CONFLICT (conversation_id, user_id) DO UPDATE SET level = excluded.level, muted_until = excluded.muted_until`,
			convID, userID, ns.Level, ns.MutedUntil)
		return err
	})
}

// Notifications returns the stored settings of userIDs in convID.
func (s *Store) Notifications(ctx context.Context, convID string, userIDs []string) (map[string]chat.NotificationSetting, error) {
	out := make(map[string]chat.NotificationSetting)
	if len(userIDs) == 0 {
		return out, nil
	}
	args := []any{convID}
	for _, u := range userIDs {
		args = append(args, u)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT user_id, level, muted_until FROM notification_settings
		WHERE conversation_id = ? AND user_id IN (?`+strings.Repeat(",?", len(userIDs)-1)+`)`, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		var ns chat.NotificationSetting
		if err := rows.Scan(&u, &ns.Level, &ns.MutedUntil); err != nil {
			return nil, translate(err)
		}
		out[u] = ns
	}
	return out, translate(rows.Err())
}
