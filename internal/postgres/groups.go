package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// UpdateGroup stores c's title, description, visibility and history.
// ENotFound if the group does not exist.
func (s *Store) UpdateGroup(ctx context.Context, c chat.Conversation) error {
	tag, err := s.pool.Exec(ctx, `UPDATE conversations SET title = $2, description = $3, visibility = $4, history = $5
		WHERE id = $1 AND kind = 'group'`, c.ID, c.Title, c.Description, c.Visibility, c.History)
	if err != nil {
		return dbErr(err)
	}
	if tag.RowsAffected() == 0 {
		return chat.Errorf(chat.ENotFound, "no group %q", c.ID)
	}
	return nil
}

// DeleteGroup removes a group with its members, messages and bans.
// ENotFound if it does not exist.
func (s *Store) DeleteGroup(ctx context.Context, convID string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// messages has no foreign key (see 0001): remove them explicitly.
		tag, err := tx.Exec(ctx, `DELETE FROM conversations WHERE id = $1 AND kind = 'group'`, convID)
		if err != nil {
			return dbErr(err)
		}
		if tag.RowsAffected() == 0 {
			return chat.Errorf(chat.ENotFound, "no group %q", convID)
		}
		if _, err = tx.Exec(ctx, `DELETE FROM messages WHERE conversation_id = $1`, convID); err != nil {
			return dbErr(err)
		}
		// Shared with edits, exclusive for index passes: a pass running now
		// has committed its entries before this looks, one starting later
		// no longer sees the messages.
		if _, err = tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, int64(searchIndexLock)); err != nil {
			return dbErr(err)
		}
		_, err = tx.Exec(ctx, `DELETE FROM message_search WHERE conversation_id = $1`, convID)
		return dbErr(err)
	})
}

// SetRole gives member userID role; RoleOwner makes the owner an admin.
// ENotFound if userID is not a member.
func (s *Store) SetRole(ctx context.Context, convID, userID, role string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE members SET role = CASE WHEN user_id = $2 THEN $3 ELSE 'admin' END
		WHERE conversation_id = $1 AND (user_id = $2 OR ($3 = 'owner' AND role = 'owner'))
			AND EXISTS (SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $2)`, convID, userID, role)
	if err != nil {
		return dbErr(err)
	}
	if tag.RowsAffected() == 0 {
		return chat.Errorf(chat.ENotFound, "not a member")
	}
	return nil
}

// Ban keeps userID out of a group, removing it if it is a member.
func (s *Store) Ban(ctx context.Context, convID, userID string, ts int64) (wasMember bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The conversation's row lock orders this against AddMember.
		var id string
		if err := tx.QueryRow(ctx, `SELECT id FROM conversations WHERE id = $1 AND kind = 'group' FOR NO KEY UPDATE`, convID).Scan(&id); err != nil {
			return dbErr(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO bans (conversation_id, user_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, convID, userID, ts); err != nil {
			return dbErr(err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM members WHERE conversation_id = $1 AND user_id = $2`, convID, userID)
		if err != nil {
			return dbErr(err)
		}
		wasMember = tag.RowsAffected() == 1
		return s.countMembers(ctx, tx, convID, -int(tag.RowsAffected()))
	})
	if chat.ErrorCode(err) == chat.ENotFound {
		return false, chat.Errorf(chat.ENotFound, "no such group or user")
	}
	return wasMember, err
}

// Unban lifts a ban; lifted is false if there was none.
func (s *Store) Unban(ctx context.Context, convID, userID string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM bans WHERE conversation_id = $1 AND user_id = $2`, convID, userID)
	if err != nil {
		return false, dbErr(err)
	}
	return tag.RowsAffected() == 1, nil
}

// Bans lists a group's banned users, ordered by username.
func (s *Store) Bans(ctx context.Context, convID string) ([]chat.Ban, error) {
	rows, err := s.pool.Query(ctx, `SELECT u.id, u.username, b.created_at FROM bans b JOIN users u ON u.id = b.user_id
		WHERE b.conversation_id = $1 ORDER BY u.username`, convID)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.Ban, error) {
		var b chat.Ban
		return b, row.Scan(&b.UserID, &b.Username, &b.CreatedAt)
	})
	return out, dbErr(err)
}

// SearchGroups returns public groups whose name or title contains q, most
// members first.
func (s *Store) SearchGroups(ctx context.Context, q string, limit int) ([]chat.ConversationState, error) {
	pattern := "%" + likeEscaper.Replace(strings.ToLower(q)) + "%"
	rows, err := s.pool.Query(ctx, `SELECT `+convColumns+`, c.last_seq, c.member_count FROM conversations c
		WHERE c.kind = 'group' AND c.visibility = 'public'
			AND (c.name LIKE $1 OR lower(c.title) LIKE $1)
		ORDER BY c.member_count DESC, c.name LIMIT $2`, pattern, limit)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.ConversationState, error) {
		var c chat.ConversationState
		return c, row.Scan(append(convDest(&c.Conversation), &c.LastSeq, &c.MemberCount)...)
	})
	return out, dbErr(err)
}

// likeEscaper escapes LIKE's wildcards (and its default escape, '\') so a
// search matches them literally.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
