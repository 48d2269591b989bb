package chat

import "context"

// Sync pushes, through push and in seq order, every message after each
// cursor (a conversation not named starts at the caller's read position), at
// most MaxSyncPerConv per conversation, and returns the conversations.
// Cursors for conversations the caller is not in are ignored.
func (s *Service) Sync(ctx context.Context, c ConnInfo, cursors map[string]int64, push func(Message) error) ([]ConversationState, error) {
	convs, err := s.cfg.Store.UserConversations(ctx, c.UserID)
	if err != nil {
		return nil, err
	}
	for _, cs := range convs {
		after, ok := cursors[cs.ID]
		if !ok {
			after = cs.ReadSeq
		}
		if after < 0 {
			return nil, Errorf(EBadRequest, "cursor for %q is negative", cs.ID)
		}
		after = max(after, cs.Floor()) // since_join: nothing from before the member joined
		sent := 0
		for after < cs.LastSeq && sent < MaxSyncPerConv {
			limit := min(MaxHistoryLimit, MaxSyncPerConv-sent)
			// The page right after the cursor, even when the cursor is 0
			// (After: 0 alone would mean the newest page).
			ms, err := s.cfg.Store.Messages(ctx, cs.ID, HistoryQuery{Before: after + int64(limit) + 1, Limit: limit})
			if err != nil {
				return nil, err
			}
			if len(ms) == 0 || ms[len(ms)-1].Seq <= after {
				break
			}
			for _, m := range ms {
				if m.Seq <= after {
					continue // the page reaches below the cursor when few lie above it
				}
				if err := push(m); err != nil {
					return nil, err
				}
				after = m.Seq
				sent++
			}
		}
	}
	return convs, nil
}
