package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

const conversationCols = `id, kind, name, title, created_at, description, visibility, history`

func scanConversation(row scanner) (chat.Conversation, error) {
	var c chat.Conversation
	err := row.Scan(&c.ID, &c.Kind, &c.Name, &c.Title, &c.CreatedAt, &c.Description, &c.Visibility, &c.History)
	return c, err
}

func scanState(row scanner) (chat.ConversationState, error) {
	var c chat.ConversationState
	err := row.Scan(&c.ID, &c.Kind, &c.Name, &c.Title, &c.CreatedAt, &c.Description, &c.Visibility, &c.History,
		&c.LastSeq, &c.ReadSeq, &c.DeliveredSeq, &c.Peer, &c.Role, &c.JoinedSeq, &c.MemberCount, &c.LastRev, &c.UnreadMentions)
	return c, err
}

// DirectConversation returns the direct conversation of users a and b (a
// may equal b), creating it with the given id and both as members if it does
// not exist. ENotFound if either user does not exist.
func (s *Store) DirectConversation(ctx context.Context, id, a, b string, ts int64) (chat.Conversation, error) {
	if b < a {
		a, b = b, a
	}
	// Almost always the conversation exists: find it without the write lock.
	c, err := scanConversation(s.stmts.direct.QueryRowContext(ctx, a, b))
	if !errors.Is(err, sql.ErrNoRows) {
		return c, translate(err)
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// Looked up again under the write lock: another call may have just
		// created it.
		c, err = scanConversation(tx.QueryRowContext(ctx, `SELECT `+conversationCols+` FROM conversations
			WHERE kind = 'direct' AND user_a = ? AND user_b = ?`, a, b))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id IN (?, ?)`, a, b).Scan(&n); err != nil {
			return err
		}
		if n == 0 || (n == 1 && a != b) {
			return chat.Errorf(chat.ENotFound, "no such user")
		}
		c = chat.Conversation{ID: id, Kind: chat.KindDirect, CreatedAt: ts}
		count := 2
		if a == b {
			count = 1
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO conversations (id, kind, created_at, last_ts, user_a, user_b, member_count)
			VALUES (?, 'direct', ?, ?, ?, ?, ?)`, id, ts, ts, a, b, count); err != nil {
			return err
		}
		// INSERT OR IGNORE: a self conversation has one member.
		_, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO members (conversation_id, user_id, joined_at)
			VALUES (?, ?, ?), (?, ?, ?)`, id, a, ts, id, b, ts)
		return err
	})
	if err != nil {
		return chat.Conversation{}, err
	}
	return c, nil
}

// CreateGroup stores c (Kind group) with creatorID as its first member.
// EConflict if the name (or id) is taken, ENotFound if the creator does not
// exist.
func (s *Store) CreateGroup(ctx context.Context, c chat.Conversation, creatorID string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO conversations (id, kind, name, title, created_at, last_ts,
			description, visibility, history, member_count)
			VALUES (?, 'group', ?, ?, ?, ?, ?, ?, ?, 1)`, c.ID, c.Name, c.Title, c.CreatedAt, c.CreatedAt,
			c.Description, c.Visibility, c.History)
		if isConstraint(err) {
			return chat.Errorf(chat.EConflict, "group %q exists", c.Name)
		} else if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO members (conversation_id, user_id, joined_at, role) VALUES (?, ?, ?, 'owner')`,
			c.ID, creatorID, c.CreatedAt)
		if isConstraint(err) {
			return chat.Errorf(chat.ENotFound, "no user with id %q", creatorID)
		}
		return err
	})
}

// GroupByName returns a group. ENotFound.
func (s *Store) GroupByName(ctx context.Context, name string) (chat.Conversation, error) {
	c, err := scanConversation(s.r.QueryRowContext(ctx, `SELECT `+conversationCols+` FROM conversations
		WHERE kind = 'group' AND name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Conversation{}, chat.Errorf(chat.ENotFound, "no group %q", name)
	}
	return c, translate(err)
}

// Conversation returns a conversation. ENotFound.
func (s *Store) Conversation(ctx context.Context, id string) (chat.Conversation, error) {
	c, err := scanConversation(s.stmts.conversation.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Conversation{}, chat.Errorf(chat.ENotFound, "no conversation %q", id)
	}
	return c, translate(err)
}

// AddMember makes userID a member of a group; added is false if it already
// was. The new member starts with read and delivered at the current last
// seq. ENotFound if the conversation or user does not exist, EBadRequest for
// a direct conversation, whose parties are fixed.
func (s *Store) AddMember(ctx context.Context, convID, userID string, ts int64) (added bool, err error) {
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var kind string
		var lastSeq int64
		err := tx.QueryRowContext(ctx, `SELECT kind, last_seq FROM conversations WHERE id = ?`, convID).Scan(&kind, &lastSeq)
		if errors.Is(err, sql.ErrNoRows) {
			return chat.Errorf(chat.ENotFound, "no conversation %q", convID)
		} else if err != nil {
			return err
		}
		if kind != chat.KindGroup {
			return chat.Errorf(chat.EBadRequest, "only groups take new members")
		}
		var banned bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM bans WHERE conversation_id = ? AND user_id = ?)`,
			convID, userID).Scan(&banned); err != nil {
			return err
		}
		if banned {
			return chat.Errorf(chat.EForbidden, "banned from this group")
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO members (conversation_id, user_id, joined_at, read_seq, delivered_seq, joined_seq)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, convID, userID, ts, lastSeq, lastSeq, lastSeq)
		if isConstraint(err) {
			return chat.Errorf(chat.ENotFound, "no user with id %q", userID)
		} else if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		added = n == 1
		return s.countMembers(ctx, tx, convID, int(n))
	})
	return added, err
}

// RemoveMember removes userID; removed is false if it was not a member.
func (s *Store) RemoveMember(ctx context.Context, convID, userID string) (removed bool, err error) {
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM members WHERE conversation_id = ? AND user_id = ?`, convID, userID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		removed = n == 1
		return s.countMembers(ctx, tx, convID, -int(n))
	})
	return removed, err
}

// Members lists the members of a conversation, ordered by username; none
// for a conversation that does not exist.
func (s *Store) Members(ctx context.Context, convID string) ([]chat.Member, error) {
	rows, err := s.stmts.members.QueryContext(ctx, convID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	ms := []chat.Member{}
	for rows.Next() {
		var m chat.Member
		if err := rows.Scan(&m.UserID, &m.Username, &m.ReadSeq, &m.DeliveredSeq, &m.Role); err != nil {
			return nil, translate(err)
		}
		ms = append(ms, m)
	}
	return ms, translate(rows.Err())
}

// UserConversations lists the user's conversations with its positions, most
// recently active (latest message, or creation) first.
func (s *Store) UserConversations(ctx context.Context, userID string) ([]chat.ConversationState, error) {
	rows, err := s.stmts.conversationOf.QueryContext(ctx, userID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []chat.ConversationState{}
	for rows.Next() {
		c, err := scanState(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, c)
	}
	return out, translate(rows.Err())
}

// ConversationState returns one conversation as userID sees it.
// EForbidden if userID is not a member, ENotFound if it does not exist.
func (s *Store) ConversationState(ctx context.Context, convID, userID string) (chat.ConversationState, error) {
	c, err := scanState(s.stmts.state.QueryRowContext(ctx, userID, convID))
	if errors.Is(err, sql.ErrNoRows) {
		return chat.ConversationState{}, s.notMember(ctx, s.r, convID)
	}
	return c, translate(err)
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// notMember returns the error for a user who is not a member of convID:
// ENotFound if the conversation does not exist, else EForbidden.
func (s *Store) notMember(ctx context.Context, q querier, convID string) error {
	var exists bool
	if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM conversations WHERE id = ?)`, convID).Scan(&exists); err != nil {
		return translate(err)
	}
	if !exists {
		return chat.Errorf(chat.ENotFound, "no conversation %q", convID)
	}
	return chat.Errorf(chat.EForbidden, "not a member of conversation %q", convID)
}

// countMembers moves a conversation's member_count by delta.
func (s *Store) countMembers(ctx context.Context, tx *sql.Tx, convID string, delta int) error {
	if delta == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE conversations SET member_count = member_count + ? WHERE id = ?`, delta, convID)
	return err
}
