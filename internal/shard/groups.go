package shard

import (
	"context"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// UpdateGroup stores the settings on the shard, then in the directory's
// copy (which GroupByName and SearchGroups read).
func (s *Store) UpdateGroup(ctx context.Context, c chat.Conversation) error {
	sh, n, err := s.route(ctx, c.ID)
	if err != nil {
		return err
	}
	if err := sh.UpdateGroup(ctx, c); err != nil || n < 0 {
		return err
	}
	return s.dir.UpdateGroup(ctx, c)
}

// DeleteGroup removes the group from the directory (its name is free and
// nothing routes to it any more), then its rows from the shard.
func (s *Store) DeleteGroup(ctx context.Context, convID string) error {
	sh, n, err := s.route(ctx, convID)
	if err != nil {
		return err
	}
	if n < 0 {
		return chat.Errorf(chat.ENotFound, "no group %q", convID)
	}
	if err := s.dir.DeleteGroup(ctx, convID); err != nil {
		return err
	}
	s.routes.drop(convID)
	if err := sh.DeleteGroup(ctx, convID); err != nil && chat.ErrorCode(err) != chat.ENotFound {
		return err
	}
	return nil
}

// SetRole sets a member's role on the shard (roles are not indexed).
func (s *Store) SetRole(ctx context.Context, convID, userID, role string) error {
	sh, _, err := s.route(ctx, convID)
	if err != nil {
		return err
	}
	return sh.SetRole(ctx, convID, userID, role)
}

// Ban bans on the shard (which removes the membership there), then takes
// the membership out of the directory's index.
func (s *Store) Ban(ctx context.Context, convID, userID string, ts int64) (bool, error) {
	sh, n, err := s.route(ctx, convID)
	if err != nil {
		return false, err
	}
	if n < 0 {
		return false, chat.Errorf(chat.ENotFound, "no such group or user")
	}
	if err := s.ensureUsers(ctx, n, userID); err != nil {
		return false, chat.Errorf(chat.ENotFound, "no such group or user")
	}
	was, err := sh.Ban(ctx, convID, userID, ts)
	if err != nil {
		return false, err
	}
	return was, s.dir.IndexMember(ctx, convID, userID, 0, false)
}

// Unban lifts a ban on the shard.
func (s *Store) Unban(ctx context.Context, convID, userID string) (bool, error) {
	sh, _, err := s.route(ctx, convID)
	if err != nil {
		return false, err
	}
	return sh.Unban(ctx, convID, userID)
}

// Bans lists a group's bans from the shard.
func (s *Store) Bans(ctx context.Context, convID string) ([]chat.Ban, error) {
	sh, _, err := s.route(ctx, convID)
	if err != nil {
		return nil, err
	}
	return sh.Bans(ctx, convID)
}

// SearchGroups searches the directory's copy of the groups and fills in
// each one's last seq from its shard.
func (s *Store) SearchGroups(ctx context.Context, q string, limit int) ([]chat.ConversationState, error) {
	gs, err := s.dir.SearchGroups(ctx, q, limit)
	if err != nil || len(gs) == 0 {
		return gs, err
	}
	byShard := make(map[int][]string)
	for _, g := range gs {
		_, n, err := s.route(ctx, g.ID)
		if err != nil {
			return nil, err
		}
		if n >= 0 {
			byShard[n] = append(byShard[n], g.ID)
		}
	}
	nums := make([]int, 0, len(byShard))
	for n := range byShard {
		nums = append(nums, n)
	}
	seqs := make([]map[string]int64, len(nums))
	err = fanOut(len(nums), func(i int) error {
		var err error
		seqs[i], err = s.shards[nums[i]].LastSeqs(ctx, byShard[nums[i]])
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range gs {
		for _, m := range seqs {
			if seq, ok := m[gs[i].ID]; ok {
				gs[i].LastSeq = seq
			}
		}
	}
	return gs, nil
}

// Block records a block in the directory.
func (s *Store) Block(ctx context.Context, userID, blockedID string, ts int64) error {
	return s.dir.Block(ctx, userID, blockedID, ts)
}

// Unblock lifts a block in the directory.
func (s *Store) Unblock(ctx context.Context, userID, blockedID string) (bool, error) {
	return s.dir.Unblock(ctx, userID, blockedID)
}

// Blocks lists the users userID blocks, from the directory.
func (s *Store) Blocks(ctx context.Context, userID string) ([]chat.User, error) {
	return s.dir.Blocks(ctx, userID)
}

// Blockers lists who blocks userID, from the directory.
func (s *Store) Blockers(ctx context.Context, userID string) ([]string, error) {
	return s.dir.Blockers(ctx, userID)
}
