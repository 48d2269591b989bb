package chat_test

import (
	"context"
	"encoding/json"
	"sort"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// TestDuePushes: the batch an outbox entry hands off names the members
// but the sender who are away and want the message (levels, blocks), with
// the text only under preview; a deleted or unknown message gives an
// empty batch.
func TestDuePushes(t *testing.T) {
	ctx := context.Background()
	c := newCore(t, options{})
	owner := c.user(t, "owner", true)
	away, here := c.user(t, "away", false), c.user(t, "here", true)
	quiet, mentioned := c.user(t, "quiet", false), c.user(t, "mentioned", false)
	blocker := c.user(t, "blocker", false)
	g, err := c.svc.CreateGroup(ctx, c.session(owner), "team", chat.GroupSettings{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []chat.ConnInfo{away, here, quiet, mentioned, blocker} {
		if _, err := c.svc.JoinGroup(ctx, c.session(u), "team"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.svc.SetNotification(ctx, c.session(quiet), g.ID, chat.NotificationSetting{Level: chat.LevelNone}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.SetNotification(ctx, c.session(mentioned), g.ID, chat.NotificationSetting{Level: chat.LevelMentions}); err != nil {
		t.Fatal(err)
	}
	if err := c.svc.Block(ctx, c.session(blocker), "owner"); err != nil {
		t.Fatal(err)
	}
	plain := c.mustSend(t, owner, chat.SendRequest{Conversation: g.ID, Text: "hello"})
	naming := c.mustSend(t, owner, chat.SendRequest{Conversation: g.ID, Text: "hi @mentioned"})
	gone := c.mustSend(t, owner, chat.SendRequest{Conversation: g.ID, Text: "oops"})
	if _, err := c.svc.Delete(ctx, owner, gone.ID); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		msgID   string
		preview bool
		users   []string
		text    string
	}{
		{"away only, no text", plain.ID, false, []string{away.UserID}, ""},
		{"preview", plain.ID, true, []string{away.UserID}, "hello"},
		{"a mention", naming.ID, false, []string{away.UserID, mentioned.UserID}, ""},
		{"deleted", gone.ID, false, nil, ""},
		{"unknown", "no-such-message", false, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := c.svc.DuePushes(ctx, chat.PushOutboxEntry{MessageID: tt.msgID, ConversationID: g.ID, DueAt: 42}, tt.preview)
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(b.UserIDs)
			want := append([]string(nil), tt.users...)
			sort.Strings(want)
			if b.MessageID != tt.msgID || b.DueAt != 42 || len(b.UserIDs) != len(want) {
				t.Fatalf("batch %+v; want message %s due 42 for %v", b, tt.msgID, want)
			}
			for i := range want {
				if b.UserIDs[i] != want[i] {
					t.Errorf("users %v; want %v", b.UserIDs, want)
				}
			}
			if len(want) == 0 {
				return
			}
			var p chat.PushPayload
			if err := json.Unmarshal(b.Payload, &p); err != nil || p.Conversation != g.ID || p.From != "owner" || p.Text != tt.text || b.Topic == "" {
				t.Errorf("payload %s (%v), topic %q; want conversation, sender, text %q and a topic", b.Payload, err, b.Topic, tt.text)
			}
		})
	}
}
