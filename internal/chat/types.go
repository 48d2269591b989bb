package chat

// User is an account. Username never changes once created.
type User struct {
	ID          string
	Username    string
	DisplayName string
	CreatedAt   int64  // Unix ms
	LastSeen    int64  // Unix ms; 0 if never seen
	AvatarID    string // media id of the avatar image; "" for none
	Admin       bool   // may use the admin API
	Suspended   bool   // may not log in or authenticate
	Deleted     bool   // the account was deleted; the username stays reserved
}

// Session is a login: the bearer token's server-side record. Only a hash of
// the token is stored, so a leaked database does not leak usable tokens.
type Session struct {
	ID        string
	TokenHash string
	UserID    string
	Username  string
	CreatedAt int64
	ExpiresAt int64
}

// Conversation kinds.
const (
	KindDirect = "direct"
	KindGroup  = "group"
)

// Conversation is a direct (1:1) or group conversation.
type Conversation struct {
	ID        string
	Kind      string
	Name      string // group name (unique, normalised); "" for direct
	Title     string
	CreatedAt int64
	// Groups only (see groups.go); "" for a direct conversation. The core
	// reads "" as the defaults, public and all.
	Description string
	Visibility  string // VisibilityPublic or VisibilityPrivate
	History     string // HistoryAll or HistorySinceJoin
}

// ConversationState is a conversation as one member sees it.
type ConversationState struct {
	Conversation
	Peer         string // the other party's username, direct only
	LastSeq      int64
	ReadSeq      int64
	DeliveredSeq int64
	Role         string // the member's role: RoleOwner, RoleAdmin or RoleMember
	JoinedSeq    int64  // the conversation's last seq when the member joined
	MemberCount  int
	// LastRev is the conversation's last rev (its last message change).
	LastRev int64
	// UnreadMentions counts messages after ReadSeq that mention the member.
	UnreadMentions int64
}

// Unread is the number of messages after the member's read position.
func (c ConversationState) Unread() int64 {
	if c.LastSeq > c.ReadSeq {
		return c.LastSeq - c.ReadSeq
	}
	return 0
}

// Member is one member of a conversation, with its positions when read.
// The core's member cache uses only UserID and Username; positions are
// read fresh where they are shown.
type Member struct {
	UserID       string
	Username     string
	ReadSeq      int64
	DeliveredSeq int64
	Role         string
}

// Media describes an uploaded object as carried on a message.
type Media struct {
	ID          string `json:"i,omitempty"`
	ContentType string `json:"ct,omitempty"`
	Size        int64  `json:"sz,omitempty"`
	Width       int    `json:"w,omitempty"`
	Height      int    `json:"h,omitempty"`
	SHA256      string `json:"sh,omitempty"`
	UploaderID  string `json:"u,omitempty"`
	CreatedAt   int64  `json:"at,omitempty"`
}

// Message is a stored message. ID is globally unique and time-ordered; Seq
// is the message's gapless position in its conversation.
type Message struct {
	ID             string `json:"i,omitempty"`
	ConversationID string `json:"c,omitempty"`
	Seq            int64  `json:"q,omitempty"`
	SenderID       string `json:"f,omitempty"`
	Sender         string `json:"fn,omitempty"` // username
	TS             int64  `json:"ts,omitempty"`
	Text           string `json:"tx,omitempty"`
	ClientMsgID    string `json:"cm,omitempty"`
	Media          *Media `json:"md,omitempty"`

	// The message's life after it was sent (see edits.go, reactions.go,
	// pins.go): Rev is the conversation's rev of its last change, 0 if it
	// never changed.
	Rev       int64      `json:"rv,omitempty"`
	EditedAt  int64      `json:"ed,omitempty"` // Unix ms of the last edit
	Deleted   bool       `json:"dl,omitempty"`
	ReplyTo   string     `json:"rt,omitempty"` // id of a message of the same conversation
	Mentions  []string   `json:"mn,omitempty"` // usernames of the members it mentions
	Reactions []Reaction `json:"re,omitempty"`
	Pinned    bool       `json:"pn,omitempty"`
}

// Reaction is one emoji on a message: how many reacted with it and the
// first MaxReactionUsers of them (usernames, in the order they reacted).
// Reactions are listed in the order their emoji was first used.
type Reaction struct {
	Emoji string   `json:"e"`
	Count int      `json:"n"`
	Users []string `json:"u,omitempty"`
}

// Receipt statuses.
const (
	StatusDelivered = "delivered"
	StatusRead      = "read"
)

// Receipt is a change of a member's delivered or read position.
type Receipt struct {
	ConversationID string `json:"c,omitempty"`
	UserID         string `json:"u,omitempty"`
	Username       string `json:"un,omitempty"`
	Status         string `json:"st,omitempty"`
	Seq            int64  `json:"q,omitempty"`
}

// PresenceInfo is a user's online state as shown to others.
type PresenceInfo struct {
	UserID   string `json:"u,omitempty"`
	Username string `json:"un,omitempty"`
	Online   bool   `json:"o,omitempty"`
	LastSeen int64  `json:"ls,omitempty"`
	Hidden   bool   `json:"-"` // the user blocks the viewer: shown offline, not watched
}

// Member events.
const (
	MemberJoined  = "joined"
	MemberLeft    = "left"
	MemberAdded   = "added"
	MemberRemoved = "removed"
	MemberBanned  = "banned"
	MemberRole    = "role"
	MemberDeleted = "deleted"
)

// MemberEvent says that a user joined or left a group, was added,
// removed or banned, changed role, or that the group was deleted.
type MemberEvent struct {
	ConversationID string `json:"c,omitempty"`
	UserID         string `json:"u,omitempty"`
	Username       string `json:"un,omitempty"`
	Event          string `json:"e,omitempty"`
	Members        int    `json:"n,omitempty"`  // member count after the change
	By             string `json:"by,omitempty"` // username of who did it, when not the user
	Role           string `json:"ro,omitempty"` // the new role, for MemberRole
}

// Gone reports whether the event ends the user's membership (or, for
// MemberDeleted, everyone's).
func (m *MemberEvent) Gone() bool {
	switch m.Event {
	case MemberLeft, MemberRemoved, MemberBanned, MemberDeleted:
		return true
	}
	return false
}

// Came reports whether the event starts the user's membership.
func (m *MemberEvent) Came() bool { return m.Event == MemberJoined || m.Event == MemberAdded }

// TypingEvent says that a user is typing in a conversation.
type TypingEvent struct {
	ConversationID string `json:"c,omitempty"`
	UserID         string `json:"u,omitempty"`
	Username       string `json:"un,omitempty"`
}
