package chat

// Kinds of change to a message after it was sent.
const (
	ChangeEdit   = "edit"
	ChangeDelete = "delete"
	ChangeReact  = "react"
	ChangePin    = "pin"
)

// Limits of a message's life after it is sent.
const (
	// MaxReactions is how many distinct emoji a message may carry.
	MaxReactions = 20
	// MaxReactionUsers is how many of an emoji's users a message lists.
	MaxReactionUsers = 20
	// MaxEmojiBytes is the size of one reaction emoji.
	MaxEmojiBytes = 32
	// MaxSearchLimit is the largest page of search results.
	MaxSearchLimit = 100
	// MaxSearchText is the longest search query, in bytes.
	MaxSearchText = 256
)

// Change is one change to a stored message, as Store.ChangeMessage applies
// it. The rules have checked who may make it.
type Change struct {
	Kind           string // ChangeEdit, ChangeDelete, ChangeReact or ChangePin
	MessageID      string
	ConversationID string
	UserID         string // who makes it
	Text           string // edit: the new text
	Emoji          string // react
	On             bool   // react, pin: add or remove
	TS             int64  // Unix ms
}

// ChangeResult is the outcome of a Change.
type ChangeResult struct {
	Message    Message // the whole message as it now is
	Changed    bool    // false when the change changed nothing (and took no rev)
	FreedMedia string  // delete: media no other message carries any more
	// PrevTS, when Changed, is the time of the conversation's change
	// before this one (the change that took rev-1), or 0 if there was none
	// or it is not known: like Append.PrevTS for messages, it tells a node
	// that hears this update first whether an earlier one may still be on
	// its way from another node.
	PrevTS int64
}

// SearchQuery selects a page of search results: messages matching Text,
// in Conversation if set, older than the message Before if set.
type SearchQuery struct {
	Text         string
	Conversation string
	Before       string
	Limit        int
}
