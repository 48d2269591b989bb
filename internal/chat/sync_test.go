package chat_test

import (
	"context"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

func TestSync(t *testing.T) {
	c := newCore(t, options{})
	ctx := context.Background()
	alice := c.user(t, "alice", false)
	bob := c.user(t, "bob", false)
	carol := c.user(t, "carol", false)
	var ab, ac string
	for range 4 {
		ab = c.mustSend(t, alice, chat.SendRequest{ToUser: "bob", Text: "to bob"}).ConversationID
	}
	ac = c.mustSend(t, alice, chat.SendRequest{ToUser: "carol", Text: "to carol"}).ConversationID
	if err := c.svc.Receipt(ctx, bob, ab, chat.StatusRead, 1); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		who     chat.ConnInfo
		cursors map[string]int64
		code    string
		want    []int64 // seqs pushed, in order
	}{
		{"from the read position when no cursor is named", bob, nil, "", []int64{2, 3, 4}},
		{"from a cursor", bob, map[string]int64{ab: 3}, "", []int64{4}},
		{"from the start", bob, map[string]int64{ab: 0}, "", []int64{1, 2, 3, 4}},
		{"cursors of others' conversations are ignored", bob, map[string]int64{ab: 4, ac: 0}, "", nil},
		{"a negative cursor", bob, map[string]int64{ab: -1}, chat.EBadRequest, nil},
		{"the sender has read its own", alice, nil, "", nil},
		{"another conversation", carol, map[string]int64{ac: 0}, "", []int64{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []int64
			convs, err := c.svc.Sync(ctx, tc.who, chat.SyncRequest{Cursors: tc.cursors}, func(m chat.Message, _ bool) error {
				got = append(got, m.Seq)
				return nil
			})
			wantCode(t, err, tc.code)
			if !equal(got, tc.want) {
				t.Fatalf("pushed %v, want %v", got, tc.want)
			}
			if err == nil && len(convs) == 0 {
				t.Fatal("no conversations in the answer")
			}
		})
	}
}
