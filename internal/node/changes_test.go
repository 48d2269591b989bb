package node_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/inmem"
)

// updates is a Deliverer that keeps the update events it is given.
type updates struct {
	mu  sync.Mutex
	evs []chat.Event
}

func (u *updates) Deliver(ev *chat.Event) {
	if ev.Kind != chat.EventUpdate {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.evs = append(u.evs, chat.Event{Kind: ev.Kind, Message: ev.Message, PrevTS: ev.PrevTS})
}

func (u *updates) wait(t *testing.T, n int) []chat.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		u.mu.Lock()
		got := append([]chat.Event(nil), u.evs...)
		u.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d updates pushed", len(got), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestUpdatesCarryPrevTS: an update event carries when its conversation's
// previous change was made, so that a node hearing it before an earlier
// update from another node holds it in rev order (see sequencer).
func TestUpdatesCarryPrevTS(t *testing.T) {
	u := &updates{}
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
