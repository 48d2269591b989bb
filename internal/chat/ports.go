package chat

import (
	"context"
	"time"
)

// Store is the source of truth. Implementations: internal/sqlite and
// internal/postgres; both pass internal/storetest.
//
// Errors: methods return *Error with ENotFound, EConflict or EForbidden where
// documented, *Error{EUnavailable} when the database cannot be reached, and
// any other error for faults (reported to clients as EInternal).
type Store interface {
	GroupStore
	BlockStore

	// CreateUser stores u. EConflict if the username is taken.
	CreateUser(ctx context.Context, u User, passwordHash string) error
	// UserByName returns the user and its password hash. ENotFound.
	UserByName(ctx context.Context, username string) (User, string, error)
	// UserByID returns a user. ENotFound.
	UserByID(ctx context.Context, id string) (User, error)
	// SetLastSeen records that the users were last online at ts, in one
	// write however many they are; a later time already stored is kept, and
	// unknown ids are skipped.
	SetLastSeen(ctx context.Context, ts int64, userIDs []string) error

	// CreateSession stores s.
	CreateSession(ctx context.Context, s Session) error
	// SessionByTokenHash returns a session with its Username. ENotFound.
	SessionByTokenHash(ctx context.Context, tokenHash string) (Session, error)
	// DeleteSession removes a session; removing a missing one is no error.
	DeleteSession(ctx context.Context, id string) error

	// DirectConversation returns the direct conversation of users a and b
	// (a may equal b), creating it with the given id and both as members if
	// it does not exist. ENotFound if either user does not exist.
	DirectConversation(ctx context.Context, id, a, b string, ts int64) (Conversation, error)
	// CreateGroup stores c (Kind group) with creatorID as its first member.
	// EConflict if the name is taken.
	CreateGroup(ctx context.Context, c Conversation, creatorID string) error
	// GroupByName returns a group. ENotFound.
	GroupByName(ctx context.Context, name string) (Conversation, error)
	// Conversation returns a conversation. ENotFound.
	Conversation(ctx context.Context, id string) (Conversation, error)
	// AddMember makes userID a member with role member; added is false if
	// it already was. A member who joins starts with read, delivered and
	// JoinedSeq at the current last seq. EForbidden if userID is banned.
	AddMember(ctx context.Context, convID, userID string, ts int64) (added bool, err error)
	// RemoveMember removes userID; removed is false if it was not a member.
	RemoveMember(ctx context.Context, convID, userID string) (removed bool, err error)
	// Members lists the members of a conversation with their read and
	// delivered positions, ordered by username.
	Members(ctx context.Context, convID string) ([]Member, error)
	// UserConversations lists the user's conversations with its positions,
	// most recently active first.
	UserConversations(ctx context.Context, userID string) ([]ConversationState, error)
	// ConversationState returns one conversation as userID sees it.
	// EForbidden if userID is not a member, ENotFound if it does not exist.
	ConversationState(ctx context.Context, convID, userID string) (ConversationState, error)

	// AppendMessages stores a batch in one transaction where it can. For each
	// Append it sets Result (the stored message, with Seq) or Err:
	// EForbidden if the sender is not a member. A message whose
	// (SenderID, ClientMsgID) was stored before is not stored again: Result
	// is the original and Duplicate is true. Appending also moves the
	// sender's read and delivered positions up to the new seq. The returned
	// error is for a batch that failed as a whole; then nothing was stored.
	AppendMessages(ctx context.Context, batch []*Append) error
	// Messages returns messages of a conversation in ascending seq order.
	Messages(ctx context.Context, convID string, q HistoryQuery) ([]Message, error)

	// Message returns one message as it now is. ENotFound.
	Message(ctx context.Context, id string) (Message, error)
	// ChangeMessage applies ch to its message in one transaction: when the
	// message changes, it takes its conversation's next rev (last rev + 1,
	// gapless, like seq) and Result.Changed is true; a change that changes
	// nothing (the same text, a reaction already there, a second delete)
	// takes no rev. ENotFound if the message does not exist (or is not in
	// ch.ConversationID), EConflict for an edit, reaction or pin of a
	// deleted message, ETooLarge for a reaction that would be the
	// message's MaxReactions+1st distinct emoji. A delete clears the text,
	// media, reactions and pin; FreedMedia then names the media it carried
	// if no other message still carries it (its upload record is gone too).
	ChangeMessage(ctx context.Context, ch Change) (ChangeResult, error)
	// ChangedMessages returns, in ascending rev order, the messages of a
	// conversation whose last change has a rev above afterRev and whose
	// seq is at most maxSeq, at most limit of them.
	ChangedMessages(ctx context.Context, convID string, afterRev, maxSeq int64, limit int) ([]Message, error)
	// Pins returns a conversation's pinned messages in seq order.
	Pins(ctx context.Context, convID string) ([]Message, error)
	// Search returns the messages userID may read that match q.Text in
	// full-text search, newest first; deleted messages never match.
	Search(ctx context.Context, userID string, q SearchQuery) ([]Message, error)

	// AdvanceReceipt moves the user's delivered or read position forward to
	// seq (read moves delivered too) and returns the positions after it.
	// changed is false when seq was at or below the current position.
	// EForbidden if the user is not a member; EBadRequest if seq is beyond
	// the conversation's last seq.
	AdvanceReceipt(ctx context.Context, userID, convID, status string, seq int64) (st ConversationState, changed bool, err error)
	// Senders returns the ids of the users who sent the conversation's
	// messages with seq in (after, upTo], each once, in no order: whom a
	// receipt moving over those messages concerns.
	Senders(ctx context.Context, convID string, after, upTo int64) ([]string, error)

	// Ping checks that the store is reachable.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Append is one message to store, with its outcome.
type Append struct {
	// ID, ConversationID, SenderID, Sender, TS, Text, ClientMsgID, Media,
	// ReplyTo, Mentions; MentionIDs are the user ids of Mentions, for the
	// members' unread mention counts.
	Message    Message
	MentionIDs []string
	Result     Message
	Duplicate  bool
	Err        error
	// PrevTS is the conversation's last activity before this message (its
	// predecessor's ts, or the conversation's creation): it tells a node
	// that sees this message first whether the predecessor may still be on
	// its way from another node.
	PrevTS int64
}

// HistoryQuery selects a page of history: the oldest Limit messages with
// seq > After when Forward is set or After > 0 (so Forward with After 0
// pages from seq 1); else the newest Limit with seq < Before, or the newest
// Limit if Before is 0.
type HistoryQuery struct {
	After   int64
	Before  int64
	Limit   int
	Forward bool
}

// RateLimiter decides, across every node, whether key may act now under a
// rate (per second) and burst, and if not when it may (retryAfter). The
// rules use it for limits a user must not multiply by connecting to
// several nodes. internal/redis implements it; without one each node
// limits alone. Errors: EUnavailable when it cannot be reached (the rules
// then fall back to this node's own count).
type RateLimiter interface {
	Allow(ctx context.Context, key string, rate float64, burst int) (ok bool, retryAfter time.Duration, err error)
}

// Presence knows which node holds which user's connections. Implementations:
// internal/inmem (one node) and internal/redis (a cluster).
type Presence interface {
	// Connect records a live connection of userID on this node and reports
	// how many live connections the user has on every node, this one
	// included.
	Connect(ctx context.Context, userID, connID string) (conns int, err error)
	// Disconnect removes it and reports how many connections the user still
	// has on any node.
	Disconnect(ctx context.Context, userID, connID string) (remaining int, err error)
	// Locate groups the online users among userIDs by the node that holds
	// their connections. Offline users are left out.
	Locate(ctx context.Context, userIDs []string) (map[string][]string, error)
	// Online reports which of userIDs have at least one connection.
	Online(ctx context.Context, userIDs []string) (map[string]bool, error)
}

// NodeLocal is a Presence that knows only this node's connections, as on
// a single node (internal/inmem): every online user is here, so the runtime
// hands events to this node's connections without asking where users are.
type NodeLocal interface {
	NodeLocal() bool
}

// PresenceRefresher is a Presence that can re-publish this node's entries
// at once, as after its backing store lost them (internal/redis does).
type PresenceRefresher interface {
	Refresh(ctx context.Context) error
}

// Bus carries events between nodes. It is a fast path with at-most-once
// delivery: the store is the truth, and a client that sees a gap in seq
// fills it with sync. Implementations: internal/inmem, internal/redis.
type Bus interface {
	// Send puts ev in node's inbox; ev.Recipients are that node's users.
	Send(ctx context.Context, node string, ev *Event) error
	// Broadcast delivers ev to every node, this one included.
	Broadcast(ctx context.Context, ev *Event) error
	// Run consumes this node's inbox and broadcasts, calling h for each
	// event, until ctx ends. When the link was broken and events may have
	// been lost it calls h with an event of kind EventResync.
	Run(ctx context.Context, h func(*Event)) error
}

// TopicBus is a Bus that also carries per-conversation topics, for very
// large groups: a node subscribes to a group's topic while it has a member
// of it online, and an event for the group is one publish, whatever the
// number of members and nodes. internal/redis implements it.
type TopicBus interface {
	Bus
	// SubscribeTopic makes Run deliver the topic's events from now on.
	SubscribeTopic(ctx context.Context, topic string) error
	// UnsubscribeTopic stops it.
	UnsubscribeTopic(ctx context.Context, topic string) error
	// PublishTopic delivers ev to every node subscribed to topic. The event
	// goes with empty Recipients: each node delivers it to its own online
	// members of the conversation.
	PublishTopic(ctx context.Context, topic string, ev *Event) error
}

// Event kinds.
const (
	EventMessage  = "message"
	EventReceipt  = "receipt"
	EventPresence = "presence"
	EventTyping   = "typing"
	EventMember   = "member"
	EventRevoke   = "revoke" // a session ended: close its connections
	EventResync   = "resync" // events may have been lost: clients should sync
	EventBlock    = "block"  // a user blocked or unblocked another
	EventRoom     = "room"   // a watched room's online count changed (made by each node, never sent)
	EventUpdate   = "update" // a message changed: Message is the whole message as it now is
)

// Event is something to push to connections. Recipients are user IDs; for
// presence events (sent to subscribers) and revoke/resync it is empty.
// The JSON tags on Event and the types it carries are its encoding on the
// bus between nodes: short, because an envelope crosses Redis once per node.
type Event struct {
	Kind       string   `json:"k"`
	Recipients []string `json:"r,omitempty"`
	ExceptConn string   `json:"x,omitempty"` // connection that caused it and was answered by its ack

	Message   *Message      `json:"m,omitempty"`
	Receipt   *Receipt      `json:"rc,omitempty"`
	Presence  *PresenceInfo `json:"p,omitempty"`
	Typing    *TypingEvent  `json:"t,omitempty"`
	Member    *MemberEvent  `json:"mb,omitempty"`
	SessionID string        `json:"s,omitempty"`
	Block     *BlockEvent   `json:"b,omitempty"`
	Room      *RoomEvent    `json:"rm,omitempty"`
	// PrevTS, on a message event, is Append.PrevTS; on an update event,
	// ChangeResult.PrevTS: see node's sequencer.
	PrevTS int64 `json:"pt,omitempty"`
}

// Deliverer pushes events to this node's connections. The gateway implements
// it; Deliver must not block on a slow connection.
type Deliverer interface {
	Deliver(ev *Event)
}

// PasswordHasher hashes and checks passwords.
type PasswordHasher interface {
	Hash(password string) (string, error)
	Verify(hash, password string) (bool, error)
}

// Metrics receives the core's measurements. Nil fields are skipped.
type Metrics struct {
	StoreLatency func(op string, d time.Duration)
	MessageSent  func()
	BatchSize    func(n int)
}
