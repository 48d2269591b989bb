package shard

import (
	"cmp"
	"context"
	"slices"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/postgres"
)

// AppendMessages splits the batch by shard and appends each part in one
// transaction on its shard, the parts in parallel. The membership check,
// the seq, the sender's positions and the (sender, client_msg_id) lookup
// are all on the conversation's shard, so a retry of a send finds its
// original whenever it goes to the same conversation (or to another
// conversation on the same shard; across shards it is stored again).
// A part that fails as a whole fails its items (Err) and leaves the other
// parts stored; the returned error means that every part failed.
func (s *Store) AppendMessages(ctx context.Context, batch []*chat.Append) error {
	if len(batch) == 0 {
		return nil
	}
	parts := make(map[int][]*chat.Append)
	var order []int
	for _, a := range batch {
		_, n, err := s.route(ctx, a.Message.ConversationID)
		if err != nil {
			return err
		}
		n = max(n, 0)
		if _, ok := parts[n]; !ok {
			order = append(order, n)
		}
		parts[n] = append(parts[n], a)
	}
	if len(order) == 1 {
		return s.shards[order[0]].AppendMessages(ctx, parts[order[0]])
	}
	errs := make([]error, len(order))
	_ = fanOut(len(order), func(i int) error {
		errs[i] = s.shards[order[i]].AppendMessages(ctx, parts[order[i]])
		return nil
	})
	failed := 0
	for i, err := range errs {
		if err == nil {
			continue
		}
		failed++
		for _, a := range parts[order[i]] {
			a.Err = err
		}
	}
	if failed == len(order) {
		for _, a := range batch {
			a.Err = nil
		}
		return errs[0]
	}
	return nil
}

// Messages returns a page of history from the conversation's shard.
func (s *Store) Messages(ctx context.Context, convID string, q chat.HistoryQuery) ([]chat.Message, error) {
	sh, _, err := s.route(ctx, convID)
	if err != nil {
		return nil, err
	}
	return sh.Messages(ctx, convID, q)
}

// Message asks every shard for the message, in parallel: a message id
// alone does not say where it is. ENotFound.
func (s *Store) Message(ctx context.Context, id string) (chat.Message, error) {
	found := make([]*chat.Message, len(s.shards))
	err := s.each(ctx, func(ctx context.Context, n int, sh *postgres.Store) error {
		m, err := sh.Message(ctx, id)
		if chat.ErrorCode(err) == chat.ENotFound {
			return nil
		} else if err != nil {
			return err
		}
		found[n] = &m
		return nil
	})
	if err != nil {
		return chat.Message{}, err
	}
	for _, m := range found {
		if m != nil {
			return *m, nil
		}
	}
	return chat.Message{}, chat.Errorf(chat.ENotFound, "no message %q", id)
}

// ChangeMessage applies the change on the conversation's shard. A delete
// that frees media there frees it only if no other shard's message carries
// it; then its upload record goes from the directory.
func (s *Store) ChangeMessage(ctx context.Context, ch chat.Change) (chat.ChangeResult, error) {
	if ch.ConversationID == "" {
		m, err := s.Message(ctx, ch.MessageID)
		if err != nil {
			return chat.ChangeResult{}, err
		}
		ch.ConversationID = m.ConversationID
	}
	sh, n, err := s.route(ctx, ch.ConversationID)
	if err != nil {
		return chat.ChangeResult{}, err
	}
	res, err := sh.ChangeMessage(ctx, ch)
	if err != nil || res.FreedMedia == "" {
		return res, err
	}
	var used bool
	for i, other := range s.shards {
		if i == n {
			continue
		}
		if used, err = other.MediaInUse(ctx, res.FreedMedia); err != nil {
			return chat.ChangeResult{}, err
		} else if used {
			res.FreedMedia = ""
			return res, nil
		}
	}
	return res, s.dir.DeleteMediaRecord(ctx, res.FreedMedia)
}

// ChangedMessages reads the conversation's changes from its shard.
func (s *Store) ChangedMessages(ctx context.Context, convID string, afterRev, maxSeq int64, limit int) ([]chat.Message, error) {
	sh, _, err := s.route(ctx, convID)
	if err != nil {
		return nil, err
	}
	return sh.ChangedMessages(ctx, convID, afterRev, maxSeq, limit)
}

// Pins reads the conversation's pins from its shard.
func (s *Store) Pins(ctx context.Context, convID string) ([]chat.Message, error) {
	sh, _, err := s.route(ctx, convID)
	if err != nil {
		return nil, err
	}
	return sh.Pins(ctx, convID)
}

// Search asks, in parallel, each shard that holds some of the user's
// conversations for its newest q.Limit matches older than q.Before, and
// keeps the newest q.Limit of them all (message ids sort by time). Within
// one conversation it asks that conversation's shard only.
func (s *Store) Search(ctx context.Context, userID string, q chat.SearchQuery) ([]chat.Message, error) {
	if q.Conversation != "" {
		sh, _, err := s.route(ctx, q.Conversation)
		if err != nil {
			return nil, err
		}
		return sh.Search(ctx, userID, q)
	}
	byShard, err := s.dir.UserShards(ctx, userID)
	if err != nil {
		return nil, err
	}
	nums := make([]int, 0, len(byShard))
	for n := range byShard {
		if n < len(s.shards) {
			nums = append(nums, n)
		}
	}
	if len(nums) == 0 {
		// Still one query, for the store's answer to bad input.
		nums = append(nums, 0)
	}
	parts := make([][]chat.Message, len(nums))
	err = fanOut(len(nums), func(i int) error {
		var err error
		parts[i], err = s.shards[nums[i]].Search(ctx, userID, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	all := slices.Concat(parts...)
	slices.SortFunc(all, func(a, b chat.Message) int { return cmp.Compare(b.ID, a.ID) })
	limit := q.Limit
	if limit <= 0 {
		limit = chat.DefaultHistoryPage
	}
	if len(all) > limit {
		all = all[:limit]
	}
	if all == nil {
		all = []chat.Message{}
	}
	return all, nil
}

// AdvanceReceipt moves a position on the conversation's shard.
// Senders asks the conversation's shard.
func (s *Store) Senders(ctx context.Context, convID string, after, upTo int64) ([]string, error) {
	sh, _, err := s.route(ctx, convID)
	if err != nil {
		return nil, err
	}
	return sh.Senders(ctx, convID, after, upTo)
}

func (s *Store) AdvanceReceipt(ctx context.Context, userID, convID, status string, seq int64) (chat.ConversationState, bool, error) {
	sh, _, err := s.route(ctx, convID)
	if err != nil {
		return chat.ConversationState{}, false, err
	}
	return sh.AdvanceReceipt(ctx, userID, convID, status, seq)
}

// SetNotification stores a member's setting on the conversation's shard.
func (s *Store) SetNotification(ctx context.Context, convID, userID string, ns chat.NotificationSetting) error {
	sh, _, err := s.route(ctx, convID)
	if err != nil {
		return err
	}
	return sh.SetNotification(ctx, convID, userID, ns)
}

// Notifications reads members' settings from the conversation's shard.
func (s *Store) Notifications(ctx context.Context, convID string, userIDs []string) (map[string]chat.NotificationSetting, error) {
	sh, _, err := s.route(ctx, convID)
	if err != nil {
		return nil, err
	}
	return sh.Notifications(ctx, convID, userIDs)
}
