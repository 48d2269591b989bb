package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strings"
	"unicode"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Search finds the messages userID may read whose text matches every word of
// q.Text (FTS5, unicode61 tokens), newest first. Deleted messages have no
// text and so never match. The index is kept by a background indexer; a
// search first indexes whatever was committed before it began.
func (s *Store) Search(ctx context.Context, userID string, q chat.SearchQuery) ([]chat.Message, error) {
	match := ftsQuery(q.Text)
	if match == "" {
		return []chat.Message{}, nil
	}
	// Read your writes: what was committed before the search is found.
	if err := s.catchUp(ctx); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = chat.DefaultHistoryPage
	}
	// Newest first is rowid order: rows are inserted as they are
	// committed, in time order. FTS5 walks its matches by descending rowid,
	// so a page stops after its first limit readable matches instead of
	// sorting them all. A before id that is not a message starts nowhere.
	before := int64(math.MaxInt64)
	if q.Before != "" {
		err := s.r.QueryRowContext(ctx, `SELECT rowid FROM messages WHERE id = ?`, q.Before).Scan(&before)
		if errors.Is(err, sql.ErrNoRows) {
			return []chat.Message{}, nil
		} else if err != nil {
			return nil, translate(err)
		}
	}
	return s.list(ctx, `SELECT `+messageCols+` FROM messages_fts f
		CROSS JOIN messages m ON m.rowid = f.rowid
		JOIN users u ON u.id = m.sender_id
		WHERE messages_fts MATCH ?2 AND f.rowid < ?4 AND m.deleted = 0
			AND EXISTS (SELECT 1 FROM members mb JOIN conversations c ON c.id = mb.conversation_id
				WHERE mb.user_id = ?1 AND mb.conversation_id = m.conversation_id
					AND (c.history <> 'since_join' OR m.seq > mb.joined_seq))
			AND (?3 = '' OR m.conversation_id = ?3)
		ORDER BY f.rowid DESC LIMIT ?5`, userID, match, q.Conversation, before, limit)
}

// ftsQuery turns free text into an FTS5 query that matches every word:
// each word becomes a quoted string, so no character of it is FTS5 syntax.
func ftsQuery(text string) string {
	var parts []string
	for _, w := range strings.Fields(text) {
		if !strings.ContainsFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) {
			continue // only punctuation: no token to find
		}
		parts = append(parts, `"`+strings.ReplaceAll(w, `"`, `""`)+`"`)
	}
	return strings.Join(parts, " ")
}
