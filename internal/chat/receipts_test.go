package chat_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

func TestReceipts(t *testing.T) {
	c := newCore(t, options{})
	ctx := context.Background()
	alice := c.user(t, "alice", true)
	bob := c.user(t, "bob", true)
	carol := c.user(t, "carol", true)
	var conv string
	for range 5 {
		conv = c.mustSend(t, alice, chat.SendRequest{ToUser: "bob", Text: "hi"}).ConversationID
	}
	for _, tc := range []struct {
		name          string
		who           chat.ConnInfo
		status        string
		seq           int64
		code          string
		wantDelivered int64 // bob's positions after the call
		wantRead      int64
		told          bool // the other members hear of it
	}{
		{"delivered moves forward", bob, chat.StatusDelivered, 2, "", 2, 0, true},
		{"read moves delivered too", bob, chat.StatusRead, 3, "", 3, 3, true},
		{"a lower seq changes nothing", bob, chat.StatusDelivered, 1, "", 3, 3, false},
		{"the same seq changes nothing", bob, chat.StatusRead, 3, "", 3, 3, false},
		{"beyond the last seq", bob, chat.StatusRead, 6, chat.EBadRequest, 3, 3, false},
		{"an unknown status", bob, "seen", 4, chat.EBadRequest, 3, 3, false},
		{"a negative seq", bob, chat.StatusRead, -1, chat.EBadRequest, 3, 3, false},
		{"a stranger", carol, chat.StatusRead, 4, chat.EForbidden, 3, 3, false},
		{"read to the end", bob, chat.StatusRead, 5, "", 5, 5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isIt := func(ev chat.Event) bool {
				return ev.Kind == chat.EventReceipt && ev.Receipt.Seq == tc.seq && ev.Receipt.Status == tc.status && ev.Receipt.UserID == tc.who.UserID
			}
			before := c.got.count(isIt)
			err := c.svc.Receipt(ctx, tc.who, conv, tc.status, tc.seq)
			wantCode(t, err, tc.code)
			st, err := c.store.ConversationState(ctx, conv, bob.UserID)
			if err != nil {
				t.Fatal(err)
			}
			if st.DeliveredSeq != tc.wantDelivered || st.ReadSeq != tc.wantRead {
				t.Fatalf("bob's positions delivered %d read %d; want %d %d", st.DeliveredSeq, st.ReadSeq, tc.wantDelivered, tc.wantRead)
			}
			if tc.told {
				ev := c.got.wait(t, "receipt", isIt)
				if ev.ExceptConn != tc.who.ConnID {
					t.Fatalf("receipt echoed to its own connection")
				}
			} else if after := c.got.count(isIt); after != before {
				t.Fatalf("a receipt that changed nothing was announced")
			}
		})
	}
}

// TestGroupReceiptsReachWhomTheyConcern: in a group, a receipt goes to the
// reader's devices and to the senders of the messages it newly covers.
func TestGroupReceiptsReachWhomTheyConcern(t *testing.T) {
	c := newCore(t, options{})
	ctx := context.Background()
	alice, bob := c.user(t, "alice", true), c.user(t, "bob", true)
	carol, dave := c.user(t, "carol", true), c.user(t, "dave", true)
	g, err := c.svc.CreateGroup(ctx, c.session(alice), "team", chat.GroupSettings{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []chat.ConnInfo{bob, carol, dave} {
		if _, err := c.svc.JoinGroup(ctx, c.session(u), "team"); err != nil {
			t.Fatal(err)
		}
	}
	// seq 1-2 alice, 3 bob.
	c.mustSend(t, alice, chat.SendRequest{Conversation: g.ID, Text: "1"})
	c.mustSend(t, alice, chat.SendRequest{Conversation: g.ID, Text: "2"})
	c.mustSend(t, bob, chat.SendRequest{Conversation: g.ID, Text: "3"})
	names := map[string]string{alice.UserID: "alice", bob.UserID: "bob", carol.UserID: "carol", dave.UserID: "dave"}
	for _, tc := range []struct {
		name   string
		who    chat.ConnInfo
		status string
		seq    int64
		want   []string // told, sorted
	}{
		{"covers alice's messages", carol, chat.StatusRead, 2, []string{"alice", "carol"}},
		{"then bob's", carol, chat.StatusRead, 3, []string{"bob", "carol"}},
		{"delivered over all three", dave, chat.StatusDelivered, 3, []string{"alice", "bob", "dave"}},
		{"read after delivered covers them again", dave, chat.StatusRead, 3, []string{"alice", "bob", "dave"}},
		{"covers another sender's message", alice, chat.StatusRead, 3, []string{"alice", "bob"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.svc.Receipt(ctx, tc.who, g.ID, tc.status, tc.seq); err != nil {
				t.Fatal(err)
			}
			ev := c.got.wait(t, "receipt", func(ev chat.Event) bool {
				return ev.Kind == chat.EventReceipt && ev.Receipt.UserID == tc.who.UserID && ev.Receipt.Seq == tc.seq && ev.Receipt.Status == tc.status
			})
			var told []string
			for _, u := range ev.Recipients {
				told = append(told, names[u])
			}
			slices.Sort(told)
			if !slices.Equal(told, tc.want) {
				t.Fatalf("told %v; want %v", told, tc.want)
			}
		})
	}

	// A receipt over more than the lookup bound tells every member.
	for b := range 3 {
		batch := make([]*chat.Append, 0, 400)
		for i := range 400 {
			batch = append(batch, &chat.Append{Message: chat.Message{ID: fmt.Sprintf("backlog-%d-%d", b, i),
				ConversationID: g.ID, SenderID: bob.UserID, Text: "backlog", TS: 1}})
		}
		if err := c.store.AppendMessages(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.svc.Receipt(ctx, carol, g.ID, chat.StatusRead, 1203); err != nil {
		t.Fatal(err)
	}
	ev := c.got.wait(t, "catch-up receipt", func(ev chat.Event) bool {
		return ev.Kind == chat.EventReceipt && ev.Receipt.UserID == carol.UserID && ev.Receipt.Seq == 1203
	})
	if len(ev.Recipients) != 4 {
		t.Fatalf("a receipt over 1,200 messages told %d members; want all 4", len(ev.Recipients))
	}
}
