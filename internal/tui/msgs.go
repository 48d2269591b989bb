package tui

import (
	"time"

	"github.com/switchboard-chat/switchboard/wire"
)

// ConnState is where the Session's connection stands.
type ConnState int

// Connection states, as the status bar shows them.
const (
	Disconnected ConnState = iota // not started yet
	Connecting                    // dialling
	Syncing                       // connected, catching up
	Online                        // connected and caught up
	Offline                       // lost; a retry follows
	Failed                        // the server refused the session; no retry
)

func (s ConnState) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Syncing:
		return "syncing"
	case Online:
		return "connected"
	case Offline:
		return "offline"
	case Failed:
		return "session refused"
	}
	return "not connected"
}

// ConnStateMsg reports a change of connection state.
type ConnStateMsg struct {
	State   ConnState
	Err     error
	Attempt int           // dial attempts since the last success
	RetryIn time.Duration // Offline after a failed dial: the wait before the next
}

// SyncedMsg carries the conversations a sync answered with, after the
// missed messages it pushed.
type SyncedMsg struct {
	Conversations []wire.Conversation
}

// FrameMsg is a frame the server pushed (message, receipt, presence,
// typing, member, error), duplicates already dropped.
type FrameMsg struct {
	Frame wire.ServerFrame
}

// AuthMsg reports the end of a login (or signup and login).
type AuthMsg struct {
	User wire.User
	Err  error
}

// ConversationsMsg carries the conversation list fetched over HTTP.
type ConversationsMsg struct {
	Conversations []wire.Conversation
	Err           error
}

// HistoryMsg carries a page of a conversation's history: the newest page
// when Before is 0, else the page below Before.
type HistoryMsg struct {
	Conversation string
	Before       int64
	Messages     []wire.Message
	Err          error
}

// MembersMsg carries a conversation's members and their positions.
type MembersMsg struct {
	Conversation string
	Members      []wire.Member
	Err          error
}

// PresenceMsg carries the presence of watched users.
type PresenceMsg struct {
	Presence []wire.Presence
	Err      error
}

// SentMsg reports the answer to a send; ClientMsgID names the pending line.
type SentMsg struct {
	ClientMsgID string
	Message     wire.Message
	Err         error
}

// sentBatchMsg carries the answers to sends retried after a reconnect.
type sentBatchMsg []SentMsg

// OpenedMsg reports a conversation opened by /dm, /join or /create.
type OpenedMsg struct {
	Conversation wire.Conversation
	Err          error
}

// NoticeMsg is a line for the status bar (an error, mostly).
type NoticeMsg struct {
	Text string
}

// typingExpiredMsg ends a typing indicator unless a newer one replaced it.
type typingExpiredMsg struct {
	conv, user string
	gen        int
}
