// Package wire holds the JSON shapes of Switchboard's wire contract (v1):
// the WebSocket frames and the HTTP bodies. The server and the Go client
// both use it, so the two cannot drift apart. docs/protocol.md describes it.
package wire

import "github.com/segmentio/encoding/json"

// Frame types sent by clients.
const (
	TypeAuth              = "auth"
	TypeSend              = "send"
	TypeSync              = "sync"
	TypeReceipt           = "receipt"
	TypeTyping            = "typing"
	TypePresenceSubscribe = "presence_subscribe"
	TypePing              = "ping"
	TypeWatch             = "watch"
	TypeUnwatch           = "unwatch"
	TypeEdit              = "edit"
	TypeDelete            = "delete"
	TypeReact             = "react"
	TypePin               = "pin"
)

// Frame types sent by the server.
const (
	TypeReady     = "ready"
	TypeAck       = "ack"
	TypeError     = "error"
	TypePong      = "pong"
	TypeMessage   = "message"
	TypeReceiptEv = "receipt"
	TypePresence  = "presence"
	TypeTypingEv  = "typing"
	TypeMember    = "member"
	TypeReconnect = "reconnect"
	TypeResync    = "resync"
	TypeRoom      = "room"
	TypeUpdate    = "update"
)

// ClientFrame is any frame a client sends; which fields count depends on Type.
type ClientFrame struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`

	// auth
	Token  string `json:"token,omitempty"`
	Device string `json:"device,omitempty"`

	// send
	ClientMsgID  string `json:"client_msg_id,omitempty"`
	ToUser       string `json:"to_user,omitempty"`
	Conversation string `json:"conversation,omitempty"`
	Text         string `json:"text,omitempty"`
	MediaID      string `json:"media_id,omitempty"`
	ReplyTo      string `json:"reply_to,omitempty"`

	// sync
	Cursors map[string]int64 `json:"cursors,omitempty"`
	Revs    map[string]int64 `json:"revs,omitempty"`

	// edit (Text too), delete, react, pin: the message's id
	Message string `json:"message,omitempty"`
	// react
	Emoji string `json:"emoji,omitempty"`
	// react, pin: add (true, the default) or remove (false)
	On *bool `json:"on,omitempty"`

	// receipt (Conversation too)
	Seq    int64  `json:"seq,omitempty"`
	Status string `json:"status,omitempty"`

	// presence_subscribe
	Users []string `json:"users,omitempty"`
	// watch and unwatch name the Conversation.
}

// ServerFrame is any frame the server sends.
type ServerFrame struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`

	// ready
	User *User  `json:"user,omitempty"`
	Node string `json:"node,omitempty"`

	// error
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`

	// ack of send, edit, delete, react and pin; message and update pushes.
	// Encoded as "message" in all; the MarshalJSON below keeps Message and
	// the error text apart.
	Msg *Message `json:"-"`
	// update: the conversation's rev of the change (Conversation too)
	Rev int64 `json:"rev,omitempty"`

	// ack of sync
	Conversations []Conversation `json:"conversations,omitempty"`
	// ack of presence_subscribe
	PresenceList []Presence `json:"presence,omitempty"`

	// receipt, typing, member, presence events
	Conversation string `json:"conversation,omitempty"`
	UserName     string `json:"-"`
	Status       string `json:"status,omitempty"`
	Seq          int64  `json:"seq,omitempty"`
	Event        string `json:"event,omitempty"`
	Online       *bool  `json:"-"` // presence: encoded as "online"
	LastSeen     *int64 `json:"last_seen,omitempty"`
	// member events: who did it and, for "role", the new role.
	By   string `json:"by,omitempty"`
	Role string `json:"role,omitempty"`
	// ack of watch, and room events: the room's online count (encoded as
	// "online" too) and, in the ack, the first online usernames.
	OnlineCount *int     `json:"-"`
	OnlineUsers []string `json:"online_users,omitempty"`

	// reconnect
	Reason string `json:"reason,omitempty"`
}

// MarshalJSON writes "message" as the message object for message frames and
// send acks, and as the error text for error frames; and "user" as the
// username string for events and as the user object for ready.
func (f ServerFrame) MarshalJSON() ([]byte, error) {
	if b, ok := f.encodeShort(); ok {
		return b, nil
	}
	return f.encodeAny()
}

// encodeShort encodes the frames the server writes most, a message push and
// the ack of a send (type, maybe id, and a message, nothing else), without
// walking the whole frame by reflection, and reports whether it did. The
// bytes are encodeAny's (TestServerFrameEncodeShortcut, FuzzServerFrame).
func (f *ServerFrame) encodeShort() ([]byte, bool) {
	if f.Msg == nil || !f.onlyTypeIDMsg() {
		return nil, false
	}
	const flags = json.EscapeHTML | json.SortMapKeys // json.Marshal's
	b := make([]byte, 0, 256+len(f.Msg.Text))
	b = append(b, `{"type":`...)
	b = json.AppendEscape(b, f.Type, flags)
	if f.ID != "" {
		b = append(b, `,"id":`...)
		b = json.AppendEscape(b, f.ID, flags)
	}
	b = append(b, `,"message":`...)
	b, err := json.Append(b, f.Msg, flags)
	if err != nil {
		return nil, false
	}
	return append(b, '}'), true
}

// onlyTypeIDMsg reports whether every field but Type, ID and Msg is zero.
// Field by field: a reflective check cost 150 ns of a 500 ns encode.
// TestServerFrameEncodeShortcut sets each other field of ServerFrame in
// turn, so a field added to the frame and not here fails it.
func (f *ServerFrame) onlyTypeIDMsg() bool {
	return f.User == nil && f.Node == "" && f.Code == "" && f.Message == "" && f.Rev == 0 &&
		f.Conversations == nil && f.PresenceList == nil &&
		f.Conversation == "" && f.UserName == "" && f.Status == "" && f.Seq == 0 && f.Event == "" &&
		f.Online == nil && f.LastSeen == nil && f.By == "" && f.Role == "" &&
		f.OnlineCount == nil && f.OnlineUsers == nil && f.Reason == ""
}

// encodeAny encodes any server frame.
func (f ServerFrame) encodeAny() ([]byte, error) {
	type plain ServerFrame
	out := struct {
		plain
		Message any `json:"message,omitempty"`
		User    any `json:"user,omitempty"`
		Online  any `json:"online,omitempty"`
	}{plain: plain(f)}
	if f.Online != nil {
		out.Online = *f.Online
	} else if f.OnlineCount != nil {
		out.Online = *f.OnlineCount
	}
	out.plain.Message = ""
	out.plain.User = nil
	if f.Msg != nil {
		out.Message = f.Msg
	} else if f.Message != "" {
		out.Message = f.Message
	}
	if f.User != nil {
		out.User = f.User
	} else if f.UserName != "" {
		out.User = f.UserName
	}
	return json.Marshal(out)
}

// UnmarshalJSON reverses MarshalJSON in one pass over b: "message",
// "user" and "online" are decoded by what their first byte says they are.
// A pushed message, the frame a client decodes most, is decoded as its
// message alone when it is exactly as the server writes it (pushPrefix,
// the message object, "}"): 40% less work per frame.
func (f *ServerFrame) UnmarshalJSON(b []byte) error {
	if f.decodePush(b) {
		return nil
	}
	return f.decodeAny(b)
}

// pushPrefix opens a message push as MarshalJSON writes it.
const pushPrefix = `{"type":"message","message":`

// decodePush decodes b if it is a message push as the server writes it,
// and reports whether it did; anything else (other keys, other order,
// spaces, a message that is not an object) is left to decodeAny.
func (f *ServerFrame) decodePush(b []byte) bool {
	if len(b) < len(pushPrefix)+3 || string(b[:len(pushPrefix)]) != pushPrefix || b[len(pushPrefix)] != '{' || b[len(b)-1] != '}' {
		return false
	}
	m := new(Message)
	if json.Unmarshal(b[len(pushPrefix):len(b)-1], m) != nil {
		return false
	}
	*f = ServerFrame{Type: TypeMessage, Msg: m}
	return true
}

// decodeAny decodes any server frame.
func (f *ServerFrame) decodeAny(b []byte) error {
	type plain ServerFrame
	*f = ServerFrame{}
	in := struct {
		*plain
		Message frameMessage `json:"message,omitempty"`
		User    frameUser    `json:"user,omitempty"`
		Online  frameOnline  `json:"online,omitempty"`
	}{plain: (*plain)(f), Message: frameMessage{f}, User: frameUser{f}, Online: frameOnline{f}}
	return json.Unmarshal(b, &in)
}

// frameMessage decodes a server frame's "message": a message object, or an
// error's text.
type frameMessage struct{ f *ServerFrame }

func (m frameMessage) UnmarshalJSON(b []byte) error {
	return decodeEither(b, len(b) > 0 && b[0] == '{', &m.f.Msg, &m.f.Message)
}

// frameUser decodes a server frame's "user": the user object of ready, or
// an event's username.
type frameUser struct{ f *ServerFrame }

func (u frameUser) UnmarshalJSON(b []byte) error {
	return decodeEither(b, len(b) > 0 && b[0] == '{', &u.f.User, &u.f.UserName)
}

// frameOnline decodes a server frame's "online": a presence flag, or a
// room's online count.
type frameOnline struct{ f *ServerFrame }

func (o frameOnline) UnmarshalJSON(b []byte) error {
	return decodeEither(b, len(b) > 0 && (b[0] == 't' || b[0] == 'f'), &o.f.Online, &o.f.OnlineCount)
}

// decodeEither decodes b, unless it is null, into a new A at *a when isA,
// else into *other.
func decodeEither[A, B any](b []byte, isA bool, a **A, other *B) error {
	switch {
	case string(b) == "null":
		return nil
	case isA:
		*a = new(A)
		return json.Unmarshal(b, *a)
	}
	return json.Unmarshal(b, other)
}

// User is an account as others see it.
type User struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Online      *bool  `json:"online,omitempty"`
	LastSeen    *int64 `json:"last_seen,omitempty"`
	// Avatar is the media id of the user's avatar image (GET /v1/media/{id}).
	Avatar string `json:"avatar,omitempty"`
	// Deleted marks a deleted account; its messages stay.
	Deleted bool `json:"deleted,omitempty"`
	// Admin and Suspended are shown to the user itself and to admins.
	Admin     bool `json:"admin,omitempty"`
	Suspended bool `json:"suspended,omitempty"`
}

// Media is an uploaded object as carried on a message.
type Media struct {
	ID          string `json:"id"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	// URL and ThumbURL (images) are signed links that work without a token
	// until ExpiresAt (Unix ms); the upload answer carries them.
	URL       string `json:"url,omitempty"`
	ThumbURL  string `json:"thumb_url,omitempty"`
	ExpiresAt int64  `json:"expires_at,omitempty"`
}

// Message is a stored message.
type Message struct {
	ID           string `json:"id"`
	Conversation string `json:"conversation"`
	Seq          int64  `json:"seq"`
	From         string `json:"from"`
	TS           int64  `json:"ts"`
	Text         string `json:"text"`
	Media        *Media `json:"media,omitempty"`
	ClientMsgID  string `json:"client_msg_id,omitempty"`
	// Rev is the conversation's rev of the message's last change (0: never
	// changed); EditedAt the time of its last edit.
	Rev       int64      `json:"rev,omitempty"`
	EditedAt  int64      `json:"edited_at,omitempty"`
	Deleted   bool       `json:"deleted,omitempty"`
	ReplyTo   string     `json:"reply_to,omitempty"`
	Mentions  []string   `json:"mentions,omitempty"`
	Reactions []Reaction `json:"reactions,omitempty"`
	Pinned    bool       `json:"pinned,omitempty"`
}

// Reaction is one emoji on a message: how many reacted with it, and the
// first 20 of them.
type Reaction struct {
	Emoji string   `json:"emoji"`
	Count int      `json:"count"`
	Users []string `json:"users"`
}

// Conversation is a conversation as one member sees it.
type Conversation struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Name    string `json:"name,omitempty"`
	Title   string `json:"title,omitempty"`
	Peer    string `json:"peer,omitempty"`
	LastSeq int64  `json:"last_seq"`
	ReadSeq int64  `json:"read_seq"`
	// DeliveredSeq is the member's delivered position.
	DeliveredSeq int64 `json:"delivered_seq"`
	Unread       int64 `json:"unread"`
	// Groups: their settings, the caller's role and the member count.
	Description string `json:"description,omitempty"`
	Visibility  string `json:"visibility,omitempty"`
	History     string `json:"history,omitempty"`
	Role        string `json:"role,omitempty"`
	MemberCount int    `json:"member_count,omitempty"`
	// LastRev is the conversation's last rev; in a sync ack, the rev up to
	// which the device has now seen every change.
	LastRev        int64 `json:"last_rev"`
	UnreadMentions int64 `json:"unread_mentions"`
}

// Presence is one user's online state.
type Presence struct {
	User     string `json:"user"`
	Online   bool   `json:"online"`
	LastSeen int64  `json:"last_seen"`
}

// Member is one member of a conversation: its online state and its
// delivered and read positions (what ticks are drawn from).
type Member struct {
	Username     string `json:"username"`
	Online       bool   `json:"online"`
	DeliveredSeq int64  `json:"delivered_seq"`
	ReadSeq      int64  `json:"read_seq"`
	Role         string `json:"role,omitempty"`
}

// ErrorBody is the body of every HTTP error.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// SignupRequest is the body of POST /v1/users.
type SignupRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name,omitempty"`
}

// LoginRequest is the body of POST /v1/sessions.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// LoginResponse answers POST /v1/sessions.
type LoginResponse struct {
	Token     string `json:"token"`
	User      User   `json:"user"`
	ExpiresAt int64  `json:"expires_at"`
}

// UserResponse answers POST /v1/users and GET /v1/users/{username}.
type UserResponse struct {
	User User `json:"user"`
}

// GroupRequest is the body of POST /v1/groups.
type GroupRequest struct {
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Visibility  string `json:"visibility,omitempty"` // public (default) or private
	History     string `json:"history,omitempty"`    // all (default) or since_join
}

// GroupPatch is the body of PATCH /v1/groups/{name}: the fields to change.
type GroupPatch struct {
	Title       *string `json:"title,omitempty"`
	Description *string `json:"description,omitempty"`
	Visibility  *string `json:"visibility,omitempty"`
	History     *string `json:"history,omitempty"`
}

// AddMemberRequest is the body of POST /v1/groups/{name}/members: empty
// joins the caller, a username adds that user (admins).
type AddMemberRequest struct {
	Username string `json:"username,omitempty"`
}

// RoleRequest is the body of PUT /v1/groups/{name}/members/{username}/role.
type RoleRequest struct {
	Role string `json:"role"`
}

// BanRequest is the body of POST /v1/groups/{name}/bans.
type BanRequest struct {
	Username string `json:"username"`
}

// Ban is a user kept out of a group.
type Ban struct {
	Username string `json:"username"`
	BannedAt int64  `json:"banned_at"`
}

// BansResponse answers GET /v1/groups/{name}/bans.
type BansResponse struct {
	Bans []Ban `json:"bans"`
}

// GroupsResponse answers GET /v1/groups?q=: public groups, most members
// first.
type GroupsResponse struct {
	Groups []Conversation `json:"groups"`
}

// BlocksResponse answers GET /v1/blocks: the users the caller blocks.
type BlocksResponse struct {
	Blocks []User `json:"blocks"`
}

// ConversationResponse answers group calls.
type ConversationResponse struct {
	Conversation Conversation `json:"conversation"`
}

// ConversationsResponse answers GET /v1/conversations.
type ConversationsResponse struct {
	Conversations []Conversation `json:"conversations"`
}

// MessagesResponse answers GET /v1/conversations/{id}/messages.
type MessagesResponse struct {
	Messages []Message `json:"messages"`
}

// MembersResponse answers GET /v1/groups/{name}/members and
// GET /v1/conversations/{id}/members.
type MembersResponse struct {
	Members []Member `json:"members"`
}

// SearchResponse answers GET /v1/search.
type SearchResponse struct {
	Results []SearchResult `json:"results"`
}

// SearchResult is one message found.
type SearchResult struct {
	Message Message `json:"message"`
}

// MediaResponse answers POST /v1/media.
type MediaResponse struct {
	Media Media `json:"media"`
}

// DiscoverResponse answers GET /v1/discover.
type DiscoverResponse struct {
	WSURL string `json:"ws_url"`
	Node  string `json:"node"`
	// Alternates are the WebSocket URLs of other live nodes, least loaded
	// first, to try at once if WSURL cannot be reached.
	Alternates []string `json:"alternates,omitempty"`
}
