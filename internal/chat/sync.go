package chat

import "context"

// SyncRequest is a device's positions: per conversation, the last seq it
// has (Cursors) and the last rev it has seen (Revs).
type SyncRequest struct {
	Cursors map[string]int64
	Revs    map[string]int64
}

// Sync pushes, through push and in seq order, every message after each
// cursor (a conversation not named starts at the caller's read position), at
// most MaxSyncPerConv per conversation; then, for each conversation named
// in Revs, one update (push with update set) per message at or below the
// cursor changed after that rev, in rev order, at most MaxSyncPerConv. It
// returns the conversations; each one's LastRev is the rev the device has
// now seen everything up to. Positions for conversations the caller is not
// in are ignored.
func (s *Service) Sync(ctx context.Context, c ConnInfo, req SyncRequest, push func(m Message, update bool) error) ([]ConversationState, error) {
	convs, err := s.cfg.Store.UserConversations(ctx, c.UserID)
	if err != nil {
		return nil, err
	}
	for i := range convs {
		cs := &convs[i]
		cursor, ok := req.Cursors[cs.ID]
		if !ok {
			cursor = cs.ReadSeq
		}
		if cursor < 0 {
			return nil, Errorf(EBadRequest, "cursor for %q is negative", cs.ID)
		}
		if err := s.syncMessages(ctx, cs, cursor, push); err != nil {
			return nil, err
		}
		rev, ok := req.Revs[cs.ID]
		if !ok {
			continue
		}
		if rev < 0 {
			return nil, Errorf(EBadRequest, "rev for %q is negative", cs.ID)
		}
		if err := s.syncUpdates(ctx, cs, rev, cursor, push); err != nil {
			return nil, err
		}
	}
	return convs, nil
}

func (s *Service) syncMessages(ctx context.Context, cs *ConversationState, after int64, push func(Message, bool) error) error {
	after = max(after, cs.Floor()) // since_join: nothing from before the member joined
	sent := 0
	for after < cs.LastSeq && sent < MaxSyncPerConv {
		limit := min(MaxHistoryLimit, MaxSyncPerConv-sent)
		// The page right after the cursor, even when the cursor is 0
		// (After: 0 alone would mean the newest page).
		ms, err := s.cfg.Store.Messages(ctx, cs.ID, HistoryQuery{Before: after + int64(limit) + 1, Limit: limit})
		if err != nil {
			return err
		}
		if len(ms) == 0 || ms[len(ms)-1].Seq <= after {
			break
		}
		for _, m := range ms {
			if m.Seq <= after {
				continue // the page reaches below the cursor when few lie above it
			}
			if err := push(m, false); err != nil {
				return err
			}
			after = m.Seq
			sent++
		}
	}
	return nil
}

// syncUpdates pushes the changes after rev to messages at or below cursor
// (the messages above it were just pushed as they now are) and sets
// cs.LastRev to the rev the device has then seen everything up to.
func (s *Service) syncUpdates(ctx context.Context, cs *ConversationState, rev, cursor int64, push func(Message, bool) error) error {
	if rev >= cs.LastRev {
		cs.LastRev = max(cs.LastRev, rev)
		return nil
	}
	sent := 0
	for sent < MaxSyncPerConv {
		limit := min(MaxHistoryLimit, MaxSyncPerConv-sent)
		ms, err := s.cfg.Store.ChangedMessages(ctx, cs.ID, rev, cursor, limit)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.Seq > cs.Floor() { // since_join: not the changes to what came before
				if err := push(m, true); err != nil {
					return err
				}
			}
			rev = m.Rev
			sent++
		}
		if len(ms) < limit {
			// Everything changed up to the last rev read at the start (and
			// perhaps beyond) has been pushed.
			cs.LastRev = max(cs.LastRev, rev)
			return nil
		}
	}
	// Capped: the device has seen up to rev and syncs again for the rest.
	cs.LastRev = rev
	return nil
}
