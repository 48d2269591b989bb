package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Message returns one message as it now is. ENotFound.
func (s *Store) Message(ctx context.Context, id string) (chat.Message, error) {
	return s.message(ctx, s.r, id)
}

// msgQuerier is a *sql.DB or *sql.Tx.
type msgQuerier interface {
	querier
	lister
}

func (s *Store) message(ctx context.Context, q msgQuerier, id string) (chat.Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, `SELECT `+messageCols+messageFrom+`WHERE m.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Message{}, chat.Errorf(chat.ENotFound, "no message %q", id)
	} else if err != nil {
		return chat.Message{}, translate(err)
	}
	ms := []chat.Message{m}
	if err := s.withReactions(ctx, q, ms); err != nil {
		return chat.Message{}, translate(err)
	}
	return ms[0], nil
}

// ChangeMessage applies ch in one write transaction; see chat.Store. The
// single writer serializes changes, so the conversation's rev is read and
// written without a race.
func (s *Store) ChangeMessage(ctx context.Context, ch chat.Change) (chat.ChangeResult, error) {
	var res chat.ChangeResult
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res = chat.ChangeResult{}
		m, err := s.message(ctx, tx, ch.MessageID)
		if err != nil {
			return err
		}
		if ch.ConversationID != "" && m.ConversationID != ch.ConversationID {
			return chat.Errorf(chat.ENotFound, "no message %q in conversation %q", ch.MessageID, ch.ConversationID)
		}
		if m.Deleted && ch.Kind != chat.ChangeDelete {
			return chat.Errorf(chat.EConflict, "message %q was deleted", m.ID)
		}
		changed, err := s.applyChange(ctx, tx, m, ch, &res)
		if err != nil || !changed {
			res.Message = m
			return err
		}
		// The single writer makes the read and the update one step.
		if err := tx.QueryRowContext(ctx, `SELECT last_rev_at FROM conversations WHERE id = ?`,
			m.ConversationID).Scan(&res.PrevTS); err != nil {
			return err
		}
		var rev int64
		if err := tx.QueryRowContext(ctx, `UPDATE conversations SET last_rev = last_rev + 1, last_rev_at = max(last_rev_at, ?)
			WHERE id = ? RETURNING last_rev`, ch.TS, m.ConversationID).Scan(&rev); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET rev = ? WHERE id = ?`, rev, m.ID); err != nil {
			return err
		}
		res.Changed = true
		res.Message, err = s.message(ctx, tx, m.ID)
		return err
	})
	if err != nil {
		return chat.ChangeResult{}, err
	}
	return res, nil
}

// applyChange makes the change itself and reports whether it changed
// anything.
func (s *Store) applyChange(ctx context.Context, tx *sql.Tx, m chat.Message, ch chat.Change, res *chat.ChangeResult) (bool, error) {
	switch ch.Kind {
	case chat.ChangeEdit:
		if ch.Text == m.Text {
			return false, nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE messages SET text = ?, edited_at = ? WHERE id = ?`, ch.Text, ch.TS, m.ID)
		return err == nil, err
	case chat.ChangeDelete:
		if m.Deleted {
			return false, nil
		}
		return true, s.deleteMessage(ctx, tx, m, res)
	case chat.ChangeReact:
		return s.react(ctx, tx, m, ch)
	case chat.ChangePin:
		if m.Pinned == ch.On {
			return false, nil
		}
		at := int64(0)
		if ch.On {
			at = max(ch.TS, 1)
		}
		_, err := tx.ExecContext(ctx, `UPDATE messages SET pinned_at = ? WHERE id = ?`, at, m.ID)
		return err == nil, err
	}
	return false, chat.Errorf(chat.EBadRequest, "unknown change %q", ch.Kind)
}

// deleteMessage clears a message's text, media, reactions, pin and
// mentions; its media's upload record goes when no message carries it.
func (s *Store) deleteMessage(ctx context.Context, tx *sql.Tx, m chat.Message, res *chat.ChangeResult) error {
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET text = '', deleted = 1, pinned_at = 0, mentions = '', reply_to = '',
		media_id = '', media_type = '', media_size = 0, media_width = 0, media_height = 0, media_sha256 = ''
		WHERE id = ?`, m.ID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM reactions WHERE message_id = ?`, m.ID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM mentions WHERE conversation_id = ? AND seq = ?`, m.ConversationID, m.Seq); err != nil {
		return err
	}
	if m.Media == nil {
		return nil
	}
	var used bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM messages WHERE media_id = ?)`, m.Media.ID).Scan(&used); err != nil {
		return err
	}
	if used {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM media WHERE id = ?`, m.Media.ID); err != nil {
		return err
	}
	res.FreedMedia = m.Media.ID
	return nil
}

func (s *Store) react(ctx context.Context, tx *sql.Tx, m chat.Message, ch chat.Change) (bool, error) {
	if !ch.On {
		r, err := tx.ExecContext(ctx, `DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?`, m.ID, ch.Emoji, ch.UserID)
		if err != nil {
			return false, err
		}
		n, err := r.RowsAffected()
		return n > 0, err
	}
	var mine, emojiUsed bool
	var distinct int
	if err := tx.QueryRowContext(ctx, `SELECT
			EXISTS (SELECT 1 FROM reactions WHERE message_id = ?1 AND emoji = ?2 AND user_id = ?3),
			EXISTS (SELECT 1 FROM reactions WHERE message_id = ?1 AND emoji = ?2),
			(SELECT count(DISTINCT emoji) FROM reactions WHERE message_id = ?1)`,
		m.ID, ch.Emoji, ch.UserID).Scan(&mine, &emojiUsed, &distinct); err != nil {
		return false, err
	}
	if mine {
		return false, nil
	}
	if !emojiUsed && distinct >= chat.MaxReactions {
		return false, chat.Errorf(chat.ETooLarge, "a message carries at most %d distinct reactions", chat.MaxReactions)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO reactions (message_id, emoji, user_id, at) VALUES (?, ?, ?, ?)`,
		m.ID, ch.Emoji, ch.UserID, ch.TS)
	return err == nil, err
}

// ChangedMessages returns the messages of convID changed after afterRev with
// seq at most maxSeq, in rev order.
func (s *Store) ChangedMessages(ctx context.Context, convID string, afterRev, maxSeq int64, limit int) ([]chat.Message, error) {
	// The literal rev > 0 lets SQLite use the partial index.
	return s.list(ctx, `SELECT `+messageCols+messageFrom+`WHERE m.conversation_id = ? AND m.rev > 0 AND m.rev > ? AND m.seq <= ?
		ORDER BY m.rev LIMIT ?`, convID, afterRev, maxSeq, limit)
}

// Pins returns convID's pinned messages in seq order.
func (s *Store) Pins(ctx context.Context, convID string) ([]chat.Message, error) {
	return s.list(ctx, `SELECT `+messageCols+messageFrom+`WHERE m.conversation_id = ? AND m.pinned_at > 0 ORDER BY m.seq`, convID)
}

// list runs a query of messages and fills in their reactions.
func (s *Store) list(ctx context.Context, query string, args ...any) ([]chat.Message, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	ms := []chat.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, translate(err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	if err := s.withReactions(ctx, s.r, ms); err != nil {
		return nil, translate(err)
	}
	return ms, nil
}
