package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Queries used by more than one method.
const (
	// messageCols are the columns scanMessage reads, from messages m joined
	// with the sender u.
	messageCols = `m.id, m.conversation_id, m.seq, m.sender_id, u.username, m.ts, m.text, m.client_msg_id,
		m.media_id, m.media_type, m.media_size, m.media_width, m.media_height, m.media_sha256,
		m.rev, m.edited_at, m.deleted, m.reply_to, m.mentions, m.pinned_at`
	messageFrom = ` FROM messages m JOIN users u ON u.id = m.sender_id `

	// stateQuery selects a conversation as one member (?1) sees it; the
	// caller adds the WHERE clause. Peer is the party of a direct
	// conversation who is not the member (oneself in a self conversation).
	stateQuery = `SELECT c.id, c.kind, c.name, c.title, c.created_at, c.description, c.visibility, c.history, c.last_seq,
		mb.read_seq, mb.delivered_seq,
		COALESCE(CASE WHEN c.user_a = mb.user_id THEN ub.username ELSE ua.username END, ''),
		mb.role, mb.joined_seq, c.member_count,
		c.last_rev,
		(SELECT count(*) FROM mentions mn WHERE mn.conversation_id = c.id AND mn.user_id = mb.user_id AND mn.seq > mb.read_seq)
	FROM members mb
	JOIN conversations c ON c.id = mb.conversation_id
	LEFT JOIN users ua ON ua.id = c.user_a
	LEFT JOIN users ub ON ub.id = c.user_b
	WHERE mb.user_id = ?1 `
)

// statements are the prepared statements of the hot paths: sending, history,
// sync, receipts and authenticating a request. The w* ones are prepared on
// the writer and used inside its transactions through tx.StmtContext.
type statements struct {
	all []*sql.Stmt

	wMessageByClient *sql.Stmt
	wConversation    *sql.Stmt
	wSenderName      *sql.Stmt
	wInsertMessage   *sql.Stmt
	wInsertPlain     *sql.Stmt
	wInsertMention   *sql.Stmt
	wSetLastSeq      *sql.Stmt
	wMoveSender      *sql.Stmt
	wSentInto        *sql.Stmt
	wReadTo          *sql.Stmt
	wDeliveredTo     *sql.Stmt
	wState           *sql.Stmt

	session        *sql.Stmt
	state          *sql.Stmt
	messagesAsc    *sql.Stmt
	messagesDesc   *sql.Stmt
	members        *sql.Stmt
	conversation   *sql.Stmt
	direct         *sql.Stmt
	userByID       *sql.Stmt
	userByName     *sql.Stmt
	conversationOf *sql.Stmt
}

func (st *statements) prepare(ctx context.Context, w, r *sql.DB) error {
	for _, p := range []struct {
		db    *sql.DB
		stmt  **sql.Stmt
		query string
	}{
		{w, &st.wMessageByClient, `SELECT ` + messageCols + messageFrom +
			// The literal client_msg_id <> '' lets SQLite use the partial index.
			`WHERE m.sender_id = ? AND m.client_msg_id = ? AND m.client_msg_id <> ''`},
		{w, &st.wInsertMention, `INSERT OR IGNORE INTO mentions (conversation_id, user_id, seq) VALUES (?, ?, ?)`},
		{w, &st.wConversation, `SELECT last_seq, last_ts FROM conversations WHERE id = ?`},
		{w, &st.wSenderName, `SELECT u.username FROM members mb JOIN users u ON u.id = mb.user_id
			WHERE mb.conversation_id = ? AND mb.user_id = ?`},
		{w, &st.wInsertMessage, `INSERT INTO messages (conversation_id, seq, id, sender_id, ts, text, client_msg_id,
			media_id, media_type, media_size, media_width, media_height, media_sha256, reply_to, mentions)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (sender_id, client_msg_id) WHERE client_msg_id <> '' DO NOTHING`},
		// A message of text alone, most of them: the other columns keep
		// their defaults, and the fewer arguments cost less to bind.
		{w, &st.wInsertPlain, `INSERT INTO messages (conversation_id, seq, id, sender_id, ts, text, client_msg_id)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (sender_id, client_msg_id) WHERE client_msg_id <> '' DO NOTHING`},
		{w, &st.wSetLastSeq, `UPDATE conversations SET last_seq = ?, last_ts = max(last_ts, ?) WHERE id = ?`},
		{w, &st.wMoveSender, `UPDATE members SET read_seq = max(read_seq, ?), delivered_seq = max(delivered_seq, ?)
			WHERE conversation_id = ? AND user_id = ?`},
		{w, &st.wSentInto, `INSERT OR IGNORE INTO conversation_senders (sender_id, conversation_id, first_seq) VALUES (?, ?, ?)`},
		{w, &st.wReadTo, `UPDATE members SET read_seq = ?, delivered_seq = max(delivered_seq, ?)
			WHERE conversation_id = ? AND user_id = ? AND read_seq < ?`},
		{w, &st.wDeliveredTo, `UPDATE members SET delivered_seq = ?
			WHERE conversation_id = ? AND user_id = ? AND delivered_seq < ?`},
		{w, &st.wState, stateQuery + `AND mb.conversation_id = ?2`},

		{r, &st.session, `SELECT s.id, s.token_hash, s.user_id, u.username, s.created_at, s.expires_at
			FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE s.token_hash = ? AND u.suspended_at = 0 AND u.deleted_at = 0`},
		{r, &st.state, stateQuery + `AND mb.conversation_id = ?2`},
		{r, &st.messagesAsc, `SELECT ` + messageCols + messageFrom +
			`WHERE m.conversation_id = ? AND m.seq > ? AND m.seq < ? ORDER BY m.seq LIMIT ?`},
		{r, &st.messagesDesc, `SELECT ` + messageCols + messageFrom +
			`WHERE m.conversation_id = ? AND m.seq > ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`},
		{r, &st.members, `SELECT u.id, u.username, mb.read_seq, mb.delivered_seq, mb.role FROM members mb JOIN users u ON u.id = mb.user_id
			WHERE mb.conversation_id = ? ORDER BY u.username`},
		{r, &st.conversation, `SELECT ` + conversationCols + ` FROM conversations WHERE id = ?`},
		{r, &st.direct, `SELECT ` + conversationCols + ` FROM conversations
			WHERE kind = 'direct' AND user_a = ? AND user_b = ?`},
		{r, &st.userByID, `SELECT ` + userCols + ` FROM users WHERE id = ?`},
		{r, &st.userByName, `SELECT ` + userCols + ` FROM users WHERE username = ?`},
		{r, &st.conversationOf, stateQuery + `ORDER BY c.last_ts DESC, c.id DESC`},
	} {
		s, err := p.db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("%s: %w", p.query, err)
		}
		*p.stmt = s
		st.all = append(st.all, s)
	}
	return nil
}

func (st *statements) close() error {
	var errs []error
	for _, s := range st.all {
		errs = append(errs, s.Close())
	}
	st.all = nil
	return errors.Join(errs...)
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}
