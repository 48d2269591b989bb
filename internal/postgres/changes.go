package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

const messageFrom = " FROM messages m JOIN users u ON u.id = m.sender_id "

// Message returns one message as it now is. ENotFound.
func (s *Store) Message(ctx context.Context, id string) (chat.Message, error) {
	return message(ctx, s.pool, id)
}

func message(ctx context.Context, q queryer, id string) (chat.Message, error) {
	if strings.IndexByte(id, 0) >= 0 {
		return chat.Message{}, chat.Errorf(chat.ENotFound, "no message %q", id)
	}
	// Through message_keys' primary key to the message's (conversation,
	// seq): messages has no index on id of its own.
	m, err := scanMessage(q.QueryRow(ctx, "SELECT "+messageColumns+` FROM message_keys k
		JOIN messages m ON m.conversation_id = k.conversation_id AND m.seq = k.seq
		JOIN users u ON u.id = m.sender_id WHERE k.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.Message{}, chat.Errorf(chat.ENotFound, "no message %q", id)
	} else if err != nil {
		return chat.Message{}, dbErr(err)
	}
	ms := []chat.Message{m}
	if err := withReactions(ctx, q, ms); err != nil {
		return chat.Message{}, dbErr(err)
	}
	return ms[0], nil
}

// ChangeMessage applies ch in one transaction; see chat.Store. The
// conversation's row is locked first, as appends lock it, so its next rev
// is gapless across nodes.
func (s *Store) ChangeMessage(ctx context.Context, ch chat.Change) (chat.ChangeResult, error) {
	if strings.IndexByte(ch.Emoji, 0) >= 0 || strings.IndexByte(ch.MessageID, 0) >= 0 {
		return chat.ChangeResult{}, chat.Errorf(chat.EBadRequest, "message ids and emoji may not contain NUL")
	}
	var res chat.ChangeResult
	var err error
	for attempt := 1; attempt <= appendAttempts; attempt++ {
		res = chat.ChangeResult{}
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return changeTx(ctx, tx, ch, &res) })
		if !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return chat.ChangeResult{}, dbErr(err)
	}
	return res, nil
}

func changeTx(ctx context.Context, tx pgx.Tx, ch chat.Change, res *chat.ChangeResult) error {
	var convID string
	var prevTS int64
	err := tx.QueryRow(ctx, `SELECT c.id, c.last_rev_at FROM conversations c
		WHERE c.id = (SELECT conversation_id FROM message_keys WHERE id = $1) FOR NO KEY UPDATE`, ch.MessageID).Scan(&convID, &prevTS)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && ch.ConversationID != "" && convID != ch.ConversationID) {
		return chat.Errorf(chat.ENotFound, "no message %q", ch.MessageID)
	} else if err != nil {
		return err
	}
	m, err := message(ctx, tx, ch.MessageID)
	if err != nil {
		return err
	}
	if m.Deleted && ch.Kind != chat.ChangeDelete {
		return chat.Errorf(chat.EConflict, "message %q was deleted", m.ID)
	}
	changed, err := applyChange(ctx, tx, m, ch, res)
	if err != nil || !changed {
		res.Message = m
		return err
	}
	var rev int64
	if err := tx.QueryRow(ctx, `UPDATE conversations SET last_rev = last_rev + 1, last_rev_at = greatest(last_rev_at, $2)
		WHERE id = $1 RETURNING last_rev`, convID, ch.TS).Scan(&rev); err != nil {
		return err
	}
	res.PrevTS = prevTS
	if _, err := tx.Exec(ctx, `UPDATE messages SET rev = $1`+whereKey(2), rev, m.ConversationID, m.Seq, m.TS); err != nil {
		return err
	}
	res.Changed = true
	res.Message, err = message(ctx, tx, m.ID)
	return err
}

// whereKey is the WHERE clause that picks one message by its primary key,
// (conversation_id, seq, ts), from parameter $n on: ts, the partition key,
// lets PostgreSQL look in one partition only.
func whereKey(n int) string {
	return fmt.Sprintf(" WHERE conversation_id = $%d AND seq = $%d AND ts = $%d", n, n+1, n+2)
}

// applyChange makes the change itself and reports whether it changed
// anything.
func applyChange(ctx context.Context, tx pgx.Tx, m chat.Message, ch chat.Change, res *chat.ChangeResult) (bool, error) {
	switch ch.Kind {
	case chat.ChangeEdit:
		if ch.Text == m.Text {
			return false, nil
		}
		_, err := tx.Exec(ctx, `UPDATE messages SET text = $1, edited_at = $2`+whereKey(3), []byte(ch.Text), ch.TS,
			m.ConversationID, m.Seq, m.TS)
		return err == nil, err
	case chat.ChangeDelete:
		if m.Deleted {
			return false, nil
		}
		return true, deleteMessage(ctx, tx, m, res)
	case chat.ChangeReact:
		return react(ctx, tx, m, ch)
	case chat.ChangePin:
		if m.Pinned == ch.On {
			return false, nil
		}
		at := int64(0)
		if ch.On {
			at = max(ch.TS, 1)
		}
		_, err := tx.Exec(ctx, `UPDATE messages SET pinned_at = $1`+whereKey(2), at, m.ConversationID, m.Seq, m.TS)
		return err == nil, err
	}
	return false, chat.Errorf(chat.EBadRequest, "unknown change %q", ch.Kind)
}

// deleteMessage clears a message's text, media, reactions, pin and
// mentions; its media's upload record goes when no message carries it.
func deleteMessage(ctx context.Context, tx pgx.Tx, m chat.Message, res *chat.ChangeResult) error {
	if _, err := tx.Exec(ctx, `UPDATE messages SET text = ''::bytea, deleted = true, pinned_at = 0, mentions = '',
		reply_to = '', media = NULL`+whereKey(1), m.ConversationID, m.Seq, m.TS); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM reactions WHERE message_id = $1`, m.ID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM mentions WHERE conversation_id = $1 AND seq = $2`, m.ConversationID, m.Seq); err != nil {
		return err
	}
	if m.Media == nil {
		return nil
	}
	var used bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM messages WHERE media ->> 'id' = $1)`, m.Media.ID).Scan(&used); err != nil {
		return err
	}
	if used {
		return nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM media WHERE id = $1`, m.Media.ID); err != nil {
		return err
	}
	res.FreedMedia = m.Media.ID
	return nil
}

func react(ctx context.Context, tx pgx.Tx, m chat.Message, ch chat.Change) (bool, error) {
	if !ch.On {
		tag, err := tx.Exec(ctx, `DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3`, m.ID, ch.Emoji, ch.UserID)
		return err == nil && tag.RowsAffected() > 0, err
	}
	var mine, emojiUsed bool
	var distinct int
	if err := tx.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3),
			EXISTS (SELECT 1 FROM reactions WHERE message_id = $1 AND emoji = $2),
			(SELECT count(DISTINCT emoji) FROM reactions WHERE message_id = $1)`,
		m.ID, ch.Emoji, ch.UserID).Scan(&mine, &emojiUsed, &distinct); err != nil {
		return false, err
	}
	if mine {
		return false, nil
	}
	if !emojiUsed && distinct >= chat.MaxReactions {
		return false, chat.Errorf(chat.ETooLarge, "a message carries at most %d distinct reactions", chat.MaxReactions)
	}
	_, err := tx.Exec(ctx, `INSERT INTO reactions (message_id, emoji, user_id, at) VALUES ($1, $2, $3, $4)`,
		m.ID, ch.Emoji, ch.UserID, ch.TS)
	return err == nil, err
}

// ChangedMessages returns the messages of convID changed after afterRev with
// seq at most maxSeq, in rev order.
func (s *Store) ChangedMessages(ctx context.Context, convID string, afterRev, maxSeq int64, limit int) ([]chat.Message, error) {
	return s.list(ctx, "SELECT "+messageColumns+messageFrom+`WHERE m.conversation_id = $1 AND m.rev > 0 AND m.rev > $2
		AND m.seq <= $3 ORDER BY m.rev LIMIT $4`, convID, afterRev, maxSeq, limit)
}

// Pins returns convID's pinned messages in seq order.
func (s *Store) Pins(ctx context.Context, convID string) ([]chat.Message, error) {
	return s.list(ctx, "SELECT "+messageColumns+messageFrom+`WHERE m.conversation_id = $1 AND m.pinned_at > 0 ORDER BY m.seq`, convID)
}

// list runs a query of messages and fills in their reactions.
func (s *Store) list(ctx context.Context, query string, args ...any) ([]chat.Message, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	ms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.Message, error) { return scanMessage(row) })
	if err != nil {
		return nil, dbErr(err)
	}
	if ms == nil {
		ms = []chat.Message{}
	}
	if err := withReactions(ctx, s.pool, ms); err != nil {
		return nil, dbErr(err)
	}
	return ms, nil
}
