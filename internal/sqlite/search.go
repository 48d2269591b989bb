package sqlite

import (
	"context"
	"strings"
	"unicode"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Search finds the messages userID may read whose text matches every word of
// q.Text (FTS5, unicode61 tokens), newest first. Deleted messages have no
// text and so never match.
func (s *Store) Search(ctx context.Context, userID string, q chat.SearchQuery) ([]chat.Message, error) {
	match := ftsQuery(q.Text)
	if match == "" {
		return []chat.Message{}, nil
	}
	limit := q.Limit
	if limit <= 0 {
		limit = chat.DefaultHistoryPage
	}
	return s.list(ctx, `SELECT `+messageCols+` FROM messages_fts f
		JOIN messages m ON m.rowid = f.rowid
		JOIN users u ON u.id = m.sender_id
		JOIN members mb ON mb.conversation_id = m.conversation_id AND mb.user_id = ?1
		WHERE messages_fts MATCH ?2 AND m.deleted = 0
			AND (?3 = '' OR m.conversation_id = ?3)
			AND (?4 = '' OR m.id < ?4)
		ORDER BY m.id DESC LIMIT ?5`, userID, match, q.Conversation, q.Before, limit)
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
