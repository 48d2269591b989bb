package postgres

import (
	"context"
	"strings"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Search finds the messages userID may read whose text holds every word of
// q.Text (full-text search on the GIN index of message_tsv, 'simple'
// configuration), newest first. Deleted messages have no text and so never
// match.
func (s *Store) Search(ctx context.Context, userID string, q chat.SearchQuery) ([]chat.Message, error) {
	for _, f := range []string{q.Text, q.Conversation, q.Before, userID} {
		if strings.IndexByte(f, 0) >= 0 {
			return nil, chat.Errorf(chat.EBadRequest, "search fields may not contain NUL")
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = chat.DefaultHistoryPage
	}
	// The expression must be the index's, message_tsv(m.text), to use it.
	return s.list(ctx, "SELECT "+messageColumns+messageFrom+`
		JOIN members mb ON mb.conversation_id = m.conversation_id AND mb.user_id = $1
		WHERE message_tsv(m.text) @@ plainto_tsquery('simple', $2) AND NOT m.deleted
			AND ($3 = '' OR m.conversation_id = $3)
			AND ($4 = '' OR m.id < $4)
		ORDER BY m.id DESC LIMIT $5`, userID, q.Text, q.Conversation, q.Before, limit)
}
