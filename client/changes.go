package client

import (
	"context"

	"github.com/switchboard-chat/switchboard/wire"
)

// SyncRevs is Sync with the last rev held of each conversation: after the
// missed messages, the server pushes one update frame per message (at or
// below the seq cursor) changed after that rev, in rev order, then acks.
// Each returned conversation's LastRev is the rev the device has now seen
// every change up to (Tracker.StartRev takes it). Conversations not named
// in revs get no updates.
func (c *Conn) SyncRevs(ctx context.Context, cursors, revs map[string]int64) ([]wire.Conversation, error) {
	f, err := c.Do(ctx, wire.ClientFrame{Type: wire.TypeSync, Cursors: cursors, Revs: revs})
	return f.Conversations, err
}

// Edit replaces the text of one of the caller's messages and returns the
// message as it now is. Editing to the same text again changes nothing, so
// a retry is safe.
func (c *Conn) Edit(ctx context.Context, messageID, text string) (wire.Message, error) {
	return ackMessage(c.Do(ctx, wire.ClientFrame{Type: wire.TypeEdit, Message: messageID, Text: text}))
}

// Delete deletes a message (the caller's own, or any in a group the caller
// moderates): its text and media go, its seq stays with deleted set.
func (c *Conn) Delete(ctx context.Context, messageID string) (wire.Message, error) {
	return ackMessage(c.Do(ctx, wire.ClientFrame{Type: wire.TypeDelete, Message: messageID}))
}

// React adds (on) or removes the caller's emoji reaction; both are
// idempotent.
func (c *Conn) React(ctx context.Context, messageID, emoji string, on bool) (wire.Message, error) {
	return ackMessage(c.Do(ctx, wire.ClientFrame{Type: wire.TypeReact, Message: messageID, Emoji: emoji, On: &on}))
}

// Pin pins (on) or unpins a message.
func (c *Conn) Pin(ctx context.Context, messageID string, on bool) (wire.Message, error) {
	return ackMessage(c.Do(ctx, wire.ClientFrame{Type: wire.TypePin, Message: messageID, On: &on}))
}
