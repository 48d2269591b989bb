package shard

import (
	"cmp"
	"context"
	"slices"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/postgres"
)

// DirectConversation returns the direct conversation of a and b, creating
// it on the shard its pair hashes to and then registering it in the
// directory. If another node registered the pair first (possible only
// while nodes disagree on the number of shards), its conversation is the
// answer and this one stays unused on its shard.
func (s *Store) DirectConversation(ctx context.Context, id, a, b string, ts int64) (chat.Conversation, error) {
	if b < a {
		a, b = b, a
	}
	c, n, err := s.dir.DirectShard(ctx, a, b)
	if err == nil {
		s.routes.put(c.ID, n)
		return c, nil
	} else if chat.ErrorCode(err) != chat.ENotFound {
		return chat.Conversation{}, err
	}
	n = s.place("d\x00" + a + "\x00" + b)
	if err := s.ensureUsers(ctx, n, a, b); err != nil {
		return chat.Conversation{}, err
	}
	// On the shard first: it may already hold the pair (a creation that
	// stopped before the directory, or a racing node), and then gives that.
	c, err = s.shards[n].DirectConversation(ctx, id, a, b, ts)
	if err != nil {
		return chat.Conversation{}, err
	}
	c, n, err = s.dir.RegisterDirect(ctx, c, a, b, n)
	if err != nil {
		return chat.Conversation{}, err
	}
	s.routes.put(c.ID, n)
	return c, nil
}

// CreateGroup creates the group on the shard its name hashes to, then
// registers it in the directory, which owns the name. EConflict if the
// name is taken, ENotFound if the creator does not exist.
func (s *Store) CreateGroup(ctx context.Context, c chat.Conversation, creatorID string) error {
	n := s.place("g\x00" + c.Name)
	sh := s.shards[n]
	if err := s.ensureUsers(ctx, n, creatorID); err != nil {
		return err
	}
	for range 2 {
		err := sh.CreateGroup(ctx, c, creatorID)
		if err == nil {
			if err := s.dir.RegisterGroup(ctx, c, []string{creatorID}, n); err != nil {
				if chat.ErrorCode(err) == chat.EConflict {
					// The directory gives the name to a group on another
					// shard (placed when there were fewer shards).
					_ = sh.DeleteGroup(ctx, c.ID)
				}
				return err
			}
			s.routes.put(c.ID, n)
			return nil
		}
		if chat.ErrorCode(err) != chat.EConflict {
			return err
		}
		// The shard holds the name: a registered group, one a node is
		// creating now, or one whose creation stopped before the
		// directory. Registering it settles all three.
		held, err := sh.GroupByName(ctx, c.Name)
		if chat.ErrorCode(err) == chat.ENotFound {
			continue // deleted meanwhile
		} else if err != nil {
			return err
		}
		members, err := sh.Members(ctx, held.ID)
		if err != nil {
			return err
		}
		ids := make([]string, len(members))
		for i, m := range members {
			ids[i] = m.UserID
		}
		err = s.dir.RegisterGroup(ctx, held, ids, n)
		if err == nil || chat.ErrorCode(err) != chat.EConflict {
			if err == nil {
				err = chat.Errorf(chat.EConflict, "group %q exists", c.Name)
			}
			return err
		}
		// The directory gives the name to another conversation, so the
		// shard's can never be registered: remove it and try again.
		if err := sh.DeleteGroup(ctx, held.ID); err != nil && chat.ErrorCode(err) != chat.ENotFound {
			return err
		}
	}
	return chat.Errorf(chat.EConflict, "group %q exists", c.Name)
}

// GroupByName returns a group from the directory. ENotFound.
func (s *Store) GroupByName(ctx context.Context, name string) (chat.Conversation, error) {
	return s.dir.GroupByName(ctx, name)
}

// Conversation returns a conversation from its shard. ENotFound.
func (s *Store) Conversation(ctx context.Context, id string) (chat.Conversation, error) {
	sh, _, err := s.route(ctx, id)
	if err != nil {
		return chat.Conversation{}, err
	}
	return sh.Conversation(ctx, id)
}

// AddMember adds the member on the conversation's shard, then to the
// directory's index (also when the shard had it: that repairs an index
// write that did not happen).
func (s *Store) AddMember(ctx context.Context, convID, userID string, ts int64) (bool, error) {
	sh, n, err := s.route(ctx, convID)
	if err != nil {
		return false, err
	}
	if n < 0 {
		return false, chat.Errorf(chat.ENotFound, "no conversation %q", convID)
	}
	if err := s.ensureUsers(ctx, n, userID); err != nil {
		return false, err
	}
	added, err := sh.AddMember(ctx, convID, userID, ts)
	if err != nil {
		return false, err
	}
	return added, s.dir.IndexMember(ctx, convID, userID, ts, true)
}

// RemoveMember removes the member on the shard, then from the index.
func (s *Store) RemoveMember(ctx context.Context, convID, userID string) (bool, error) {
	sh, n, err := s.route(ctx, convID)
	if err != nil {
		return false, err
	}
	removed, err := sh.RemoveMember(ctx, convID, userID)
	if err != nil || n < 0 {
		return removed, err
	}
	return removed, s.dir.IndexMember(ctx, convID, userID, 0, false)
}

// Members lists a conversation's members from its shard.
func (s *Store) Members(ctx context.Context, convID string) ([]chat.Member, error) {
	sh, _, err := s.route(ctx, convID)
	if err != nil {
		return nil, err
	}
	return sh.Members(ctx, convID)
}

// ConversationState returns one conversation as userID sees it, from its
// shard.
func (s *Store) ConversationState(ctx context.Context, convID, userID string) (chat.ConversationState, error) {
	sh, _, err := s.route(ctx, convID)
	if err != nil {
		return chat.ConversationState{}, err
	}
	return sh.ConversationState(ctx, convID, userID)
}

// UserConversations asks each shard that holds some of the user's
// conversations (by the directory's index) for them, in parallel, and
// merges the lists, most recently active first.
func (s *Store) UserConversations(ctx context.Context, userID string) ([]chat.ConversationState, error) {
	byShard, err := s.dir.UserShards(ctx, userID)
	if err != nil {
		return nil, err
	}
	var (
		nums  []int
		parts [][]postgres.ShardState
	)
	for n := range byShard {
		if n >= len(s.shards) {
			return nil, chat.Errorf(chat.EUnavailable, "conversations on shard %d, which this node does not have", n)
		}
		nums = append(nums, n)
	}
	parts = make([][]postgres.ShardState, len(nums))
	err = fanOut(len(nums), func(i int) error {
		var err error
		parts[i], err = s.shards[nums[i]].StatesOf(ctx, userID, byShard[nums[i]])
		return err
	})
	if err != nil {
		return nil, err
	}
	all := slices.Concat(parts...)
	slices.SortFunc(all, func(a, b postgres.ShardState) int {
		if c := cmp.Compare(b.LastTS, a.LastTS); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	out := make([]chat.ConversationState, len(all))
	for i, st := range all {
		out[i] = st.ConversationState
	}
	return out, nil
}
