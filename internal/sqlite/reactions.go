package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// lister is a *sql.DB or *sql.Tx.
type lister interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// withReactions fills in the reactions of ms. Only a message that changed
// (Rev > 0) and is not deleted can have any, so a page of messages that
// never changed costs no query.
func (s *Store) withReactions(ctx context.Context, q lister, ms []chat.Message) error {
	idx := make(map[string]int)
	var args []any
	for i, m := range ms {
		if m.Rev > 0 && !m.Deleted {
			idx[m.ID] = i
			args = append(args, m.ID)
		}
	}
	if len(args) == 0 {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT r.message_id, r.emoji, u.username,
			min(r.at) OVER (PARTITION BY r.message_id, r.emoji) AS first
		FROM reactions r JOIN users u ON u.id = r.user_id
		WHERE r.message_id IN (?`+strings.Repeat(", ?", len(args)-1)+`)
		ORDER BY r.message_id, first, r.emoji, r.at, u.username`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, emoji, user string
		var first int64
		if err := rows.Scan(&id, &emoji, &user, &first); err != nil {
			return err
		}
		addReaction(&ms[idx[id]], emoji, user)
	}
	return rows.Err()
}

// addReaction counts user's emoji on m; rows come ordered by emoji, then
// by when each user reacted.
func addReaction(m *chat.Message, emoji, user string) {
	n := len(m.Reactions)
	if n == 0 || m.Reactions[n-1].Emoji != emoji {
		m.Reactions = append(m.Reactions, chat.Reaction{Emoji: emoji})
		n++
	}
	r := &m.Reactions[n-1]
	r.Count++
	if len(r.Users) < chat.MaxReactionUsers {
		r.Users = append(r.Users, user)
	}
}
