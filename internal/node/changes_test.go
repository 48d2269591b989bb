package node_test

import (
	"context"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/inmem"
)

// TestUpdatesCarryPrevTS: an update event carries when its conversation's
// previous change was made, so that a node hearing it before an earlier
// update from another node holds it in rev order (see sequencer).
func TestUpdatesCarryPrevTS(t *testing.T) {
	u := keep(chat.EventUpdate, func(ev *chat.Event) chat.Event {
		return chat.Event{Kind: ev.Kind, Message: ev.Message, PrevTS: ev.PrevTS}
	})
	svc, _, _ := setup(t, inmem.NewBus("n1"), 0, u)
	ctx := context.Background()
	owner, member := signup(t, svc, "owner"), signup(t, svc, "member")
	g, err := svc.CreateGroup(ctx, chat.Session{UserID: owner.UserID, Username: owner.Username}, "room", chat.GroupSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.JoinGroup(ctx, chat.Session{UserID: member.UserID, Username: member.Username}, "room"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Connected(ctx, member); err != nil {
		t.Fatal(err)
	}
	sent := make(chan chat.Message, 1)
	svc.Send(ctx, owner, chat.SendRequest{Conversation: g.ID, Text: "hello", ClientMsgID: "1"}, func(m chat.Message, err error) {
		if err != nil {
			t.Errorf("send: %v", err)
		}
		sent <- m
	})
	m := <-sent
	first, err := svc.Edit(ctx, owner, m.ID, "hello!")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Edit(ctx, owner, m.ID, "hello!!"); err != nil {
		t.Fatal(err)
	}
	evs := u.wait(t, 2)
	if evs[0].Message.Rev != 1 || evs[0].PrevTS != 0 {
		t.Errorf("first update: rev %d, PrevTS %d; want rev 1 with no predecessor", evs[0].Message.Rev, evs[0].PrevTS)
	}
	if evs[1].Message.Rev != 2 || evs[1].PrevTS != first.EditedAt || first.EditedAt == 0 {
		t.Errorf("second update: rev %d, PrevTS %d; want rev 2 after the edit at %d", evs[1].Message.Rev, evs[1].PrevTS, first.EditedAt)
	}
}
