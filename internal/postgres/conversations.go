package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

const convColumns = "c.id, c.kind, coalesce(c.name, ''), c.title, c.created_at, c.description, c.visibility, c.history"

func convDest(c *chat.Conversation) []any {
	return []any{&c.ID, &c.Kind, &c.Name, &c.Title, &c.CreatedAt, &c.Description, &c.Visibility, &c.History}
}

// stateTail ends every select that stateDest scans: the member m's role and
// join position, the member count, the last rev and m's unread mentions.
const stateTail = ", m.role, m.joined_seq, c.member_count, c.last_rev, " + unreadMentions

// stateSelect selects a conversation as the member m sees it: the
// conversation, its last seq, m's positions and, for a direct conversation,
// the other party's username (one's own in a conversation with oneself).
const stateSelect = "SELECT " + convColumns + `, c.last_seq, m.read_seq, m.delivered_seq, coalesce(p.username, '')` + stateTail + `
	FROM members m
	JOIN conversations c ON c.id = m.conversation_id
	LEFT JOIN users p ON c.kind = 'direct'
		AND p.id = CASE WHEN c.direct_a = m.user_id THEN c.direct_b ELSE c.direct_a END`

// unreadMentions counts the mentions of member m after its read position.
const unreadMentions = `(SELECT count(*) FROM mentions mn
		WHERE mn.conversation_id = c.id AND mn.user_id = m.user_id AND mn.seq > m.read_seq)`

func stateDest(st *chat.ConversationState) []any {
	return append(convDest(&st.Conversation), &st.LastSeq, &st.ReadSeq, &st.DeliveredSeq, &st.Peer, &st.Role, &st.JoinedSeq, &st.MemberCount, &st.LastRev, &st.UnreadMentions)
}

// DirectConversation returns the direct conversation of users a and b,
// creating it with id and both as members if it does not exist. Nodes that
// create the same pair at once end up with the one that committed first.
// ENotFound if either user does not exist.
func (s *Store) DirectConversation(ctx context.Context, id, a, b string, ts int64) (chat.Conversation, error) {
	if b < a {
		a, b = b, a
	}
	c, err := s.directByPair(ctx, a, b)
	if err == nil || chat.ErrorCode(err) != chat.ENotFound {
		return c, err
	}
	// One statement, so the conversation never exists without its members.
	// On a conflict the insert waits for the other transaction and skips.
	tag, err := s.pool.Exec(ctx, `WITH c AS (
			INSERT INTO conversations (id, kind, title, direct_a, direct_b, created_at, last_ts, member_count)
			VALUES ($1, 'direct', '', $2, $3, $4, $4, CASE WHEN $2 = $3 THEN 1 ELSE 2 END)
			ON CONFLICT (direct_a, direct_b) DO NOTHING
			RETURNING id)
		INSERT INTO members (conversation_id, user_id, joined_at)
		SELECT c.id, u.id, $4 FROM c, (SELECT DISTINCT id FROM (VALUES ($2), ($3)) AS v(id)) AS u`,
		id, a, b, ts)
	if err != nil {
		if chat.ErrorCode(dbErr(err)) == chat.ENotFound {
			return chat.Conversation{}, chat.Errorf(chat.ENotFound, "no such user")
		}
		return chat.Conversation{}, dbErr(err)
	}
	if tag.RowsAffected() > 0 {
		return chat.Conversation{ID: id, Kind: chat.KindDirect, CreatedAt: ts}, nil
	}
	return s.directByPair(ctx, a, b)
}

func (s *Store) directByPair(ctx context.Context, a, b string) (chat.Conversation, error) {
	var c chat.Conversation
	err := s.pool.QueryRow(ctx, "SELECT "+convColumns+
		" FROM conversations c WHERE c.direct_a = $1 AND c.direct_b = $2", a, b).Scan(convDest(&c)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.Conversation{}, chat.Errorf(chat.ENotFound, "no direct conversation")
	}
	return c, dbErr(err)
}

// CreateGroup stores c (Kind group) with creatorID as its first member.
// EConflict if the name is taken, ENotFound if the creator does not exist.
func (s *Store) CreateGroup(ctx context.Context, c chat.Conversation, creatorID string) error {
	_, err := s.pool.Exec(ctx, `WITH c AS (
			INSERT INTO conversations (id, kind, name, title, created_at, last_ts, description, visibility, history, member_count)
			VALUES ($1, 'group', $2, $3, $4, $4, $6, $7, $8, 1)
			RETURNING id)
		INSERT INTO members (conversation_id, user_id, joined_at, role) SELECT c.id, $5, $4, 'owner' FROM c`,
		c.ID, c.Name, c.Title, c.CreatedAt, creatorID, c.Description, c.Visibility, c.History)
	switch chat.ErrorCode(dbErr(err)) {
	case chat.EConflict:
		return chat.Errorf(chat.EConflict, "group %q exists", c.Name)
	case chat.ENotFound:
		return chat.Errorf(chat.ENotFound, "no user with id %q", creatorID)
	}
	return dbErr(err)
}

// GroupByName returns a group. ENotFound.
func (s *Store) GroupByName(ctx context.Context, name string) (chat.Conversation, error) {
	var c chat.Conversation
	err := s.pool.QueryRow(ctx, "SELECT "+convColumns+
		" FROM conversations c WHERE c.kind = 'group' AND c.name = $1", name).Scan(convDest(&c)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.Conversation{}, chat.Errorf(chat.ENotFound, "no group %q", name)
	}
	return c, dbErr(err)
}

// Conversation returns a conversation. ENotFound.
func (s *Store) Conversation(ctx context.Context, id string) (chat.Conversation, error) {
	var c chat.Conversation
	err := s.pool.QueryRow(ctx, "SELECT "+convColumns+" FROM conversations c WHERE c.id = $1", id).Scan(convDest(&c)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.Conversation{}, chat.Errorf(chat.ENotFound, "no conversation %q", id)
	}
	return c, dbErr(err)
}

// AddMember makes userID a member, starting with read, delivered and
// joined_seq at the conversation's last seq; added is false if it already
// was one. ENotFound if the conversation or the user does not exist,
// EForbidden if the user is banned, EBadRequest for a direct conversation.
func (s *Store) AddMember(ctx context.Context, convID, userID string, ts int64) (added bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The conversation's row first, as AppendMessages takes it: the same
		// lock order everywhere, and it orders this against a Ban.
		var kind string
		var lastSeq int64
		err := tx.QueryRow(ctx, `SELECT kind, last_seq FROM conversations WHERE id = $1 FOR NO KEY UPDATE`, convID).Scan(&kind, &lastSeq)
		if errors.Is(err, pgx.ErrNoRows) {
			return chat.Errorf(chat.ENotFound, "no conversation %q", convID)
		} else if err != nil {
			return dbErr(err)
		}
		if kind != chat.KindGroup {
			return chat.Errorf(chat.EBadRequest, "only groups take new members")
		}
		var banned bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM bans WHERE conversation_id = $1 AND user_id = $2)`,
			convID, userID).Scan(&banned); err != nil {
			return dbErr(err)
		}
		if banned {
			return chat.Errorf(chat.EForbidden, "banned from this group")
		}
		tag, err := tx.Exec(ctx, `INSERT INTO members (conversation_id, user_id, joined_at, read_seq, delivered_seq, joined_seq)
			VALUES ($1, $2, $3, $4, $4, $4) ON CONFLICT DO NOTHING`, convID, userID, ts, lastSeq)
		if err != nil {
			if chat.ErrorCode(dbErr(err)) == chat.ENotFound {
				return chat.Errorf(chat.ENotFound, "no user with id %q", userID)
			}
			return dbErr(err)
		}
		added = tag.RowsAffected() == 1
		return s.countMembers(ctx, tx, convID, int(tag.RowsAffected()))
	})
	return added, err
}

// RemoveMember removes userID; removed is false if it was not a member.
func (s *Store) RemoveMember(ctx context.Context, convID, userID string) (removed bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM conversations WHERE id = $1 FOR NO KEY UPDATE`, convID); err != nil {
			return dbErr(err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM members WHERE conversation_id = $1 AND user_id = $2`, convID, userID)
		if err != nil {
			return dbErr(err)
		}
		removed = tag.RowsAffected() == 1
		return s.countMembers(ctx, tx, convID, -int(tag.RowsAffected()))
	})
	return removed, err
}

// countMembers moves a conversation's member_count by delta; the caller
// holds the conversation's row lock.
func (s *Store) countMembers(ctx context.Context, tx pgx.Tx, convID string, delta int) error {
	if delta == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE conversations SET member_count = member_count + $2 WHERE id = $1`, convID, delta)
	return dbErr(err)
}

// Members lists the members of a conversation, ordered by username; none
// for a conversation that does not exist.
func (s *Store) Members(ctx context.Context, convID string) ([]chat.Member, error) {
	rows, err := s.pool.Query(ctx, `SELECT m.user_id, u.username, m.read_seq, m.delivered_seq, m.role FROM members m JOIN users u ON u.id = m.user_id
		WHERE m.conversation_id = $1 ORDER BY u.username`, convID)
	if err != nil {
		return nil, dbErr(err)
	}
	ms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.Member, error) {
		var m chat.Member
		return m, row.Scan(&m.UserID, &m.Username, &m.ReadSeq, &m.DeliveredSeq, &m.Role)
	})
	return ms, dbErr(err)
}

// UserConversations lists the user's conversations with its positions, most
// recently active (last message, or creation) first.
func (s *Store) UserConversations(ctx context.Context, userID string) ([]chat.ConversationState, error) {
	rows, err := s.pool.Query(ctx, stateSelect+" WHERE m.user_id = $1 ORDER BY c.last_ts DESC, c.id DESC", userID)
	if err != nil {
		return nil, dbErr(err)
	}
	cs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.ConversationState, error) {
		var st chat.ConversationState
		return st, row.Scan(stateDest(&st)...)
	})
	return cs, dbErr(err)
}

// ConversationState returns one conversation as userID sees it. EForbidden
// if userID is not a member, ENotFound if the conversation does not exist.
func (s *Store) ConversationState(ctx context.Context, convID, userID string) (chat.ConversationState, error) {
	var (
		st     chat.ConversationState
		member bool
	)
	// A left join answers all three cases in one round trip.
	err := s.pool.QueryRow(ctx, "SELECT "+convColumns+`, c.last_seq,
			coalesce(m.read_seq, 0), coalesce(m.delivered_seq, 0), coalesce(p.username, ''),
			coalesce(m.role, ''), coalesce(m.joined_seq, 0), c.member_count, c.last_rev, `+unreadMentions+`,
			m.user_id IS NOT NULL
		FROM conversations c
		LEFT JOIN members m ON m.conversation_id = c.id AND m.user_id = $2
		LEFT JOIN users p ON c.kind = 'direct'
			AND p.id = CASE WHEN c.direct_a = $2 THEN c.direct_b ELSE c.direct_a END
		WHERE c.id = $1`, convID, userID).Scan(append(stateDest(&st), &member)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.ConversationState{}, chat.Errorf(chat.ENotFound, "no conversation %q", convID)
	}
	if err != nil {
		return chat.ConversationState{}, dbErr(err)
	}
	if !member {
		return chat.ConversationState{}, chat.Errorf(chat.EForbidden, "not a member of conversation %q", convID)
	}
	return st, nil
}
