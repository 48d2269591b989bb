package postgres

import (
	"context"
	"strings"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Search finds the messages userID may read whose text holds every word of
// q.Text (full-text search on message_search's GIN index of message_tsv,
// 'simple' configuration), newest first. Deleted messages have no text and
// so never match. The index is kept by a background indexer; a search
// first indexes whatever was committed before it began.
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
	// Read your writes: what was committed before the search is indexed
	// before it looks.
	if err := s.catchUp(ctx); err != nil {
		return nil, err
	}
	// The matches are gathered first, through the (conversation_id, tsv)
	// GIN index of message_search restricted to the caller's
	// conversations, then checked against the messages and sorted: left to
	// itself the planner walks the id index backwards testing every
	// message, which for a rare word means the whole table.
	return s.list(ctx, `WITH hits AS MATERIALIZED (
			SELECT x.search_id FROM message_search x
			WHERE x.conversation_id = ANY (ARRAY(SELECT conversation_id FROM members WHERE user_id = $1))
				AND x.tsv @@ plainto_tsquery('simple', $2)
				AND ($3 = '' OR x.conversation_id = $3))
		SELECT `+messageColumns+` FROM hits h JOIN messages m ON m.search_id = h.search_id JOIN users u ON u.id = m.sender_id
		WHERE NOT m.deleted AND ($4 = '' OR m.id < $4)
			-- since_join: nothing from before the caller joined
			AND m.seq > (SELECT CASE WHEN c.history = 'since_join' THEN mb.joined_seq ELSE 0 END
				FROM members mb JOIN conversations c ON c.id = mb.conversation_id
				WHERE mb.user_id = $1 AND mb.conversation_id = m.conversation_id)
		ORDER BY m.id DESC LIMIT $5`, userID, q.Text, q.Conversation, q.Before, limit)
}
