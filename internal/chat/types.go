package chat

// User is an account. Username never changes once created.
type User struct {
	ID          string
	Username    string
	DisplayName string
	CreatedAt   int64 // Unix ms
	LastSeen    int64 // Unix ms; 0 if never seen
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
}

// ConversationState is a conversation as one member sees it.
type ConversationState struct {
	Conversation
	Peer         string // the other party's username, direct only
	LastSeq      int64
	ReadSeq      int64
	DeliveredSeq int64
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
}

// Media describes an uploaded object as carried on a message.
type Media struct {
	ID          string
	ContentType string
	Size        int64
	Width       int
	Height      int
	SHA256      string
	UploaderID  string
	CreatedAt   int64
}

// Message is a stored message. ID is globally unique and time-ordered; Seq
// is the message's gapless position in its conversation.
type Message struct {
	ID             string
	ConversationID string
	Seq            int64
	SenderID       string
	Sender         string // username
	TS             int64
	Text           string
	ClientMsgID    string
	Media          *Media
}

// Receipt statuses.
const (
	StatusDelivered = "delivered"
	StatusRead      = "read"
)

// Receipt is a change of a member's delivered or read position.
type Receipt struct {
	ConversationID string
	UserID         string
	Username       string
	Status         string
	Seq            int64
}

// PresenceInfo is a user's online state as shown to others.
type PresenceInfo struct {
	UserID   string
	Username string
	Online   bool
	LastSeen int64
}

// Member events.
const (
	MemberJoined = "joined"
	MemberLeft   = "left"
)

// MemberEvent says that a user joined or left a group.
type MemberEvent struct {
	ConversationID string
	UserID         string
	Username       string
	Event          string
	Members        int // member count after the change
}

// TypingEvent says that a user is typing in a conversation.
type TypingEvent struct {
	ConversationID string
	UserID         string
	Username       string
}
