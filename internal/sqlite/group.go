package sqlite

import (
	"context"
	"database/sql"

	"strings"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// UpdateGroup stores c's title, description, visibility and history.
// ENotFound if the group does not exist.
func (s *Store) UpdateGroup(ctx context.Context, c chat.Conversation) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE conversations SET title = ?, description = ?, visibility = ?, history = ?
			WHERE id = ? AND kind = 'group'`, c.Title, c.Description, c.Visibility, c.History, c.ID)
		if err != nil {
			return err
		}
		return mustAffect(res, "no group %q", c.ID)
	})
}

// DeleteGroup removes a group; its members, messages and bans go with it.
// ENotFound if it does not exist.
func (s *Store) DeleteGroup(ctx context.Context, convID string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM conversations WHERE id = ? AND kind = 'group'`, convID)
		if err != nil {
			return err
		}
		return mustAffect(res, "no group %q", convID)
	})
}

// SetRole gives member userID role; RoleOwner makes the owner an admin.
// ENotFound if userID is not a member.
func (s *Store) SetRole(ctx context.Context, convID, userID, role string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM members WHERE conversation_id = ? AND user_id = ?)`,
			convID, userID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return chat.Errorf(chat.ENotFound, "not a member")
		}
		if role == chat.RoleOwner {
			if _, err := tx.ExecContext(ctx, `UPDATE members SET role = 'admin' WHERE conversation_id = ? AND role = 'owner'`, convID); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE members SET role = ? WHERE conversation_id = ? AND user_id = ?`, role, convID, userID)
		return err
	})
}

// Ban keeps userID out of a group, removing it if it is a member.
func (s *Store) Ban(ctx context.Context, convID, userID string, ts int64) (wasMember bool, err error) {
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO bans (conversation_id, user_id, created_at) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, convID, userID, ts)
		if isConstraint(err) {
			return chat.Errorf(chat.ENotFound, "no such group or user")
		} else if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM members WHERE conversation_id = ? AND user_id = ?`, convID, userID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		wasMember = n == 1
		return s.countMembers(ctx, tx, convID, -int(n))
	})
	return wasMember, err
}

// Unban lifts a ban; lifted is false if there was none.
func (s *Store) Unban(ctx context.Context, convID, userID string) (lifted bool, err error) {
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM bans WHERE conversation_id = ? AND user_id = ?`, convID, userID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		lifted = n == 1
		return err
	})
	return lifted, err
}

// Bans lists a group's banned users, ordered by username.
func (s *Store) Bans(ctx context.Context, convID string) ([]chat.Ban, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT u.id, u.username, b.created_at FROM bans b JOIN users u ON u.id = b.user_id
		WHERE b.conversation_id = ? ORDER BY u.username`, convID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []chat.Ban{}
	for rows.Next() {
		var b chat.Ban
		if err := rows.Scan(&b.UserID, &b.Username, &b.CreatedAt); err != nil {
			return nil, translate(err)
		}
		out = append(out, b)
	}
	return out, translate(rows.Err())
}

// SearchGroups returns public groups whose name or title contains q, most
// members first.
func (s *Store) SearchGroups(ctx context.Context, q string, limit int) ([]chat.ConversationState, error) {
	pattern := "%" + likeEscaper.Replace(strings.ToLower(q)) + "%"
	rows, err := s.r.QueryContext(ctx, `SELECT `+conversationCols+`, last_seq, member_count FROM conversations
		WHERE kind = 'group' AND visibility = 'public'
			AND (name LIKE ?1 ESCAPE '\' OR lower(title) LIKE ?1 ESCAPE '\')
		ORDER BY member_count DESC, name LIMIT ?2`, pattern, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []chat.ConversationState{}
	for rows.Next() {
		var c chat.ConversationState
		if err := rows.Scan(&c.ID, &c.Kind, &c.Name, &c.Title, &c.CreatedAt, &c.Description, &c.Visibility, &c.History,
			&c.LastSeq, &c.MemberCount); err != nil {
			return nil, translate(err)
		}
		out = append(out, c)
	}
	return out, translate(rows.Err())
}

// likeEscaper escapes LIKE's wildcards so a search matches them literally.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// mustAffect returns ENotFound when res changed no row.
func mustAffect(res sql.Result, format string, args ...any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return chat.Errorf(chat.ENotFound, format, args...)
	}
	return nil
}
