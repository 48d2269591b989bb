package chat_test

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

func TestSendRefusals(t *testing.T) {
	c := newCore(t, options{})
	ctx := context.Background()
	alice := c.user(t, "alice", true)
	bob := c.user(t, "bob", true)
	carol := c.user(t, "carol", true)
	g, err := c.svc.CreateGroup(ctx, c.session(alice), "team", chat.GroupSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.JoinGroup(ctx, c.session(bob), "team"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		from chat.ConnInfo
		req  chat.SendRequest
		code string
	}{
		{"a stranger in a group", carol, chat.SendRequest{Conversation: g.ID, Text: "hi"}, chat.EForbidden},
		{"an unknown conversation", alice, chat.SendRequest{Conversation: "nope", Text: "hi"}, chat.ENotFound},
		{"both targets", alice, chat.SendRequest{Conversation: g.ID, ToUser: "bob", Text: "hi"}, chat.EBadRequest},
		{"no target", alice, chat.SendRequest{Text: "hi"}, chat.EBadRequest},
		{"text over the limit", alice, chat.SendRequest{Conversation: g.ID, Text: strings.Repeat("x", chat.DefaultMaxText+1)}, chat.ETooLarge},
		{"no text and no media", alice, chat.SendRequest{Conversation: g.ID}, chat.EBadRequest},
		{"text not UTF-8", alice, chat.SendRequest{Conversation: g.ID, Text: "\xff\xfe"}, chat.EBadRequest},
		{"client_msg_id too long", alice, chat.SendRequest{Conversation: g.ID, Text: "hi", ClientMsgID: strings.Repeat("c", chat.MaxClientMsgID+1)}, chat.EBadRequest},
		{"an unknown user", alice, chat.SendRequest{ToUser: "nobody", Text: "hi"}, chat.ENotFound},
		{"media on a server without media", alice, chat.SendRequest{Conversation: g.ID, MediaID: "m1"}, chat.EBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.send(tc.from, tc.req)
			wantCode(t, err, tc.code)
		})
	}
	// Nothing was stored by any of them.
	st, err := c.store.ConversationState(ctx, g.ID, alice.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if st.LastSeq != 0 {
		t.Fatalf("refused sends stored messages: last seq %d", st.LastSeq)
	}
}

func TestSendIsIdempotentAndGapless(t *testing.T) {
	c := newCore(t, options{})
	alice := c.user(t, "alice", true)
	c.user(t, "bob", true)
	first := c.mustSend(t, alice, chat.SendRequest{ToUser: "bob", Text: "one", ClientMsgID: "c1"})
	again := c.mustSend(t, alice, chat.SendRequest{ToUser: "bob", Text: "one", ClientMsgID: "c1"})
	if again.ID != first.ID || again.Seq != first.Seq {
		t.Fatalf("retry stored anew: first %s/%d, retry %s/%d", first.ID, first.Seq, again.ID, again.Seq)
	}
	second := c.mustSend(t, alice, chat.SendRequest{ToUser: "bob", Text: "two", ClientMsgID: "c2"})
	if first.Seq != 1 || second.Seq != 2 {
		t.Fatalf("seqs %d, %d; want 1, 2", first.Seq, second.Seq)
	}
	// The retry was not pushed a second time.
	pushes := c.got.count(func(ev chat.Event) bool { return ev.Kind == chat.EventMessage && ev.Message.ID == first.ID })
	c.got.wait(t, "second message", func(ev chat.Event) bool { return ev.Kind == chat.EventMessage && ev.Message.ID == second.ID })
	if pushes > 1 {
		t.Fatalf("the first message was pushed %d times", pushes)
	}
}

func TestSendRateLimit(t *testing.T) {
	c := newCore(t, options{sendRate: 1, sendBurst: 2})
	alice := c.user(t, "alice", true)
	c.user(t, "bob", false)
	for i := range 2 {
		if _, err := c.send(alice, chat.SendRequest{ToUser: "bob", Text: "hi"}); err != nil {
			t.Fatalf("send %d within the burst: %v", i, err)
		}
	}
	_, err := c.send(alice, chat.SendRequest{ToUser: "bob", Text: "hi"})
	wantCode(t, err, chat.ERateLimited)
	c.clock.advance(1001 * 1000 * 1000) // just over a second: one token back
	if _, err := c.send(alice, chat.SendRequest{ToUser: "bob", Text: "hi"}); err != nil {
		t.Fatalf("send after the refill: %v", err)
	}
	_, err = c.send(alice, chat.SendRequest{ToUser: "bob", Text: "hi"})
	wantCode(t, err, chat.ERateLimited)
}

func TestMessagesReachEveryDeviceButTheSendingOne(t *testing.T) {
	c := newCore(t, options{})
	alice := c.user(t, "alice", true)
	bob := c.user(t, "bob", true)
	m := c.mustSend(t, alice, chat.SendRequest{ToUser: "bob", Text: "hello"})
	ev := c.got.wait(t, "message", func(ev chat.Event) bool { return ev.Kind == chat.EventMessage && ev.Message.ID == m.ID })
	if ev.ExceptConn != alice.ConnID {
		t.Fatalf("push skips connection %q, want the sender's %q", ev.ExceptConn, alice.ConnID)
	}
	got := map[string]bool{}
	for _, id := range ev.Recipients {
		got[id] = true
	}
	if !got[alice.UserID] || !got[bob.UserID] {
		t.Fatalf("recipients %v; want both parties (the sender's other devices too)", ev.Recipients)
	}
}

func TestRefusedDirectSendCreatesNoConversation(t *testing.T) {
	c := newCore(t, options{})
	ctx := context.Background()
	alice := c.user(t, "alice", true)
	c.user(t, "bob", true)
	_, err := c.send(alice, chat.SendRequest{ToUser: "bob", MediaID: "m1"})
	wantCode(t, err, chat.EBadRequest)
	convs, err := c.svc.Conversations(ctx, c.session(alice))
	if err != nil {
		t.Fatal(err)
	}
	if len(convs) != 0 {
		t.Fatalf("a refused send left %d conversations behind", len(convs))
	}
}
