package chat_test

import (
	"context"
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
