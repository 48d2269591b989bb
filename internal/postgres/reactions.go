package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// queryer is a pool, a connection or a transaction.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// withReactions fills in the reactions of ms. Only a message that changed
// (Rev > 0) and is not deleted can have any, so a page of messages that
// never changed costs no query.
func withReactions(ctx context.Context, q queryer, ms []chat.Message) error {
	idx := make(map[string]int)
	var ids []string
	for i, m := range ms {
		if m.Rev > 0 && !m.Deleted {
			idx[m.ID] = i
			ids = append(ids, m.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, `SELECT r.message_id, r.emoji, u.username
		FROM reactions r JOIN users u ON u.id = r.user_id
		WHERE r.message_id = ANY($1::text[])
		ORDER BY r.message_id, min(r.at) OVER (PARTITION BY r.message_id, r.emoji), r.emoji, r.at, u.username`, ids)
	if err != nil {
		return err
	}
	var id, emoji, user string
	_, err = pgx.ForEachRow(rows, []any{&id, &emoji, &user}, func() error {
		addReaction(&ms[idx[id]], emoji, user)
		return nil
	})
	return err
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
