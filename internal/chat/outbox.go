package chat

import (
	"context"
	"encoding/json"
)

// PushOutboxEntry is a committed message whose pushes are not queued yet.
// A store opened with push on writes one in the transaction that stores
// the message (never for a retry's duplicate), so a message acknowledged
// to its sender cannot lose its pushes to a node dying right after: the
// entry waits in the store until DueAt, when some node hands it off
// (HandOffPushes) to the per-subscription queue.
type PushOutboxEntry struct {
	MessageID      string
	ConversationID string
	DueAt          int64 // Unix ms: the message's ts plus the presence grace
	Attempts       int   // claims so far, this one included
}

// DuePushes is the batch an outbox entry hands off once its grace has
// passed: one job per subscription of each member but the sender who
// wants the message pushed (levels, mutes, blocks) and has no live
// connection now. A message or conversation deleted since gives an empty
// batch, which only removes the entry. Without preview the payload
// carries no text.
func (s *Service) DuePushes(ctx context.Context, e PushOutboxEntry, preview bool) (PushBatch, error) {
	b := PushBatch{MessageID: e.MessageID, DueAt: e.DueAt}
	m, err := s.cfg.Store.Message(ctx, e.MessageID)
	if ErrorCode(err) == ENotFound {
		return b, nil
	} else if err != nil {
		return b, err
	}
	if m.Deleted {
		return b, nil
	}
	ms, err := s.rt.Members(ctx, m.ConversationID)
	if err != nil {
		return b, err
	}
	var others []Member
	for _, mb := range ms.List {
		if mb.UserID != m.SenderID {
			others = append(others, mb)
		}
	}
	// A mute is compared with the message's time: one set after the
	// message was sent applies from the next message on.
	users, err := s.wantsPush(ctx, m, others, m.TS)
	if err != nil || len(users) == 0 {
		return b, err
	}
	on, err := s.cfg.Presence.Online(ctx, users)
	if err != nil {
		return b, err
	}
	for _, u := range users {
		if !on[u] {
			b.UserIDs = append(b.UserIDs, u)
		}
	}
	if len(b.UserIDs) == 0 {
		return b, nil
	}
	p := PushPayload{Conversation: m.ConversationID, Seq: m.Seq, From: m.Sender}
	if preview {
		p.Text = m.Text
	}
	if b.Payload, err = json.Marshal(p); err != nil {
		return b, err
	}
	b.Topic = pushTopic(m.ConversationID)
	return b, nil
}
