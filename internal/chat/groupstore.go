package chat

import "context"

// GroupStore is the part of the Store that keeps groups' settings, roles
// and bans. Errors as documented on Store.
type GroupStore interface {
	// UpdateGroup stores c's Title, Description, Visibility and History.
	// ENotFound if the group does not exist.
	UpdateGroup(ctx context.Context, c Conversation) error
	// DeleteGroup removes a group with its members, messages and bans.
	// ENotFound if it does not exist.
	DeleteGroup(ctx context.Context, convID string) error
	// SetRole gives member userID role. Making a member RoleOwner makes the
	// current owner an admin in the same transaction. ENotFound if userID
	// is not a member.
	SetRole(ctx context.Context, convID, userID, role string) error
	// Ban keeps userID out of the group and removes it if it is a member;
	// wasMember says whether it was. Banning twice is no error.
	// ENotFound if the group or the user does not exist.
	Ban(ctx context.Context, convID, userID string, ts int64) (wasMember bool, err error)
	// Unban lifts a ban; lifted is false if there was none.
	Unban(ctx context.Context, convID, userID string) (lifted bool, err error)
	// Bans lists the banned users of a group, ordered by username.
	Bans(ctx context.Context, convID string) ([]Ban, error)
	// SearchGroups returns up to limit public groups whose name or title
	// contains q (case-insensitively; "" matches all), most members first
	// and then by name, each with its MemberCount.
	SearchGroups(ctx context.Context, q string, limit int) ([]ConversationState, error)
}

// BlockStore is the part of the Store that keeps who blocked whom.
type BlockStore interface {
	// Block records that userID blocks blockedID; blocking twice is no
	// error. ENotFound if either user does not exist.
	Block(ctx context.Context, userID, blockedID string, ts int64) error
	// Unblock lifts a block; lifted is false if there was none.
	Unblock(ctx context.Context, userID, blockedID string) (lifted bool, err error)
	// Blocks lists the users userID blocks, ordered by username.
	Blocks(ctx context.Context, userID string) ([]User, error)
	// Blockers returns the ids of the users who block userID.
	Blockers(ctx context.Context, userID string) ([]string, error)
}

// Ban is a user kept out of a group.
type Ban struct {
	UserID    string
	Username  string
	CreatedAt int64
}

// BlockEvent tells every node that Blocker blocked (On) or unblocked
// Blocked, so caches and presence watchers follow at once.
type BlockEvent struct {
	Blocker string `json:"a,omitempty"`
	Blocked string `json:"z,omitempty"`
	On      bool   `json:"on,omitempty"`
}

// RoomEvent is a change of a watched room's online count, made by each
// node from a presence or member change it received, for its own watchers.
type RoomEvent struct {
	ConversationID string
	Online         int
	UserID         string
	Username       string
	Event          string // "online" or "offline"
}
