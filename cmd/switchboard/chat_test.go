package main

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

func TestDirectMessage(t *testing.T) {
	s := startServer(t)
	alice, bob := user(t, s, "alice"), user(t, s, "bob")
	ac, bc := dial(t, alice, "laptop"), dial(t, bob, "phone")

	m, err := ac.Send(ctxT(t), client.SendRequest{ToUser: "Bob", Text: "hi bob", ClientMsgID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Seq != 1 || m.From != "alice" || m.Text != "hi bob" || m.ID == "" || m.TS == 0 || m.ClientMsgID != "c1" {
		t.Fatalf("ack = %+v", m)
	}
	got := nextMessage(t, bc)
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("bob got %+v; want %+v", got, m)
	}
	// The reply goes into the same conversation.
	r, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "hi alice"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Conversation != m.Conversation || r.Seq != 2 {
		t.Fatalf("reply = %+v; want seq 2 in %s", r, m.Conversation)
	}
	if got := nextMessage(t, ac); got.ID != r.ID {
		t.Fatalf("alice got %+v", got)
	}
	// Both list it as a direct conversation with the other as peer.
	cs, err := alice.Conversations(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Kind != "direct" || cs[0].Peer != "bob" || cs[0].LastSeq != 2 {
		t.Fatalf("alice's conversations = %+v", cs)
	}
	// History holds both, in order.
	ms, err := bob.Messages(ctxT(t), m.Conversation, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].ID != m.ID || ms[1].ID != r.ID {
		t.Fatalf("history = %+v", ms)
	}
	// Message ids are time-ordered: a later message sorts after.
	if !(m.ID < r.ID) {
		t.Fatalf("ids not time-ordered: %s then %s", m.ID, r.ID)
	}
}

func TestGroupOfFive(t *testing.T) {
	s := startServer(t)
	members := names("member", 5)
	clients := make([]*client.Client, 5)
	conns := make([]*client.Conn, 5)
	for i, n := range members {
		clients[i] = user(t, s, n)
	}
	g, err := clients[0].CreateGroup(ctxT(t), "book-club", "Book club")
	if err != nil {
		t.Fatal(err)
	}
	if g.Kind != "group" || g.Name != "book-club" || g.Title != "Book club" {
		t.Fatalf("group = %+v", g)
	}
	if _, err := clients[1].CreateGroup(ctxT(t), "BOOK-CLUB", ""); client.ErrorCode(err) != "conflict" {
		t.Fatalf("second create with the name in other case: %v; want conflict", err)
	}
	for i := range clients {
		if i > 0 {
			if _, err := clients[i].JoinGroup(ctxT(t), "book-club"); err != nil {
				t.Fatal(err)
			}
		}
		conns[i] = dial(t, clients[i], "web")
	}
	ms, err := clients[2].Members(ctxT(t), "book-club")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 5 || !ms[0].Online {
		t.Fatalf("members = %+v", ms)
	}
	for round := 0; round < 3; round++ {
		sender := round % 5
		m, err := conns[sender].Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: fmt.Sprintf("round %d", round)})
		if err != nil {
			t.Fatal(err)
		}
		if m.Seq != int64(round+1) {
			t.Fatalf("seq = %d; want %d", m.Seq, round+1)
		}
		for i, c := range conns {
			if i == sender {
				continue
			}
			if got := nextMessage(t, c); got.ID != m.ID {
				t.Fatalf("%s got %+v; want %s", members[i], got, m.ID)
			}
		}
	}
	// A member who leaves gets no more messages and may not post.
	if err := clients[4].LeaveGroup(ctxT(t), "book-club"); err != nil {
		t.Fatal(err)
	}
	left := next(t, conns[0], wire.TypeMember)
	if left.UserName != "member4" || left.Event != "left" || left.Conversation != g.ID {
		t.Fatalf("member event = %+v", left)
	}
	if _, err := conns[0].Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: "after"}); err != nil {
		t.Fatal(err)
	}
	quiet(t, conns[4], wire.TypeMessage)
	_, err = conns[4].Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: "let me back"})
	wantCode(t, err, "forbidden")
	_, err = clients[4].Messages(ctxT(t), g.ID, client.HistoryQuery{})
	wantCode(t, err, "forbidden")
	_, err = clients[4].Members(ctxT(t), "book-club")
	wantCode(t, err, "forbidden")
	if err := clients[4].LeaveGroup(ctxT(t), "book-club"); client.ErrorCode(err) != "not_found" {
		t.Fatalf("leaving twice: %v; want not_found", err)
	}
	_, err = clients[4].JoinGroup(ctxT(t), "no-such-group")
	wantCode(t, err, "not_found")
}

func TestOneUserThreeDevices(t *testing.T) {
	s := startServer(t)
	carol, dave := user(t, s, "carol"), user(t, s, "dave")
	devs := []*client.Conn{dial(t, carol, "phone"), dial(t, carol, "laptop"), dial(t, carol, "tablet")}
	dc := dial(t, dave, "phone")

	// A message from one device reaches the other two and the peer, not the sender's own connection.
	m, err := devs[0].Send(ctxT(t), client.SendRequest{ToUser: "dave", Text: "from my phone"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs[1:] {
		if got := nextMessage(t, d); got.ID != m.ID {
			t.Fatalf("other device got %+v", got)
		}
	}
	if got := nextMessage(t, dc); got.ID != m.ID {
		t.Fatalf("dave got %+v", got)
	}
	quiet(t, devs[0], wire.TypeMessage)
	// A message to carol reaches every device.
	r, err := dc.Send(ctxT(t), client.SendRequest{ToUser: "carol", Text: "to all of you"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if got := nextMessage(t, d); got.ID != r.ID {
			t.Fatalf("device got %+v", got)
		}
	}
	// Reading on one device tells the others (and dave).
	if err := devs[2].Receipt(ctxT(t), r.Conversation, r.Seq, "read"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{devs[0], devs[1], dc} {
		f := next(t, c, wire.TypeReceiptEv)
		if f.UserName != "carol" || f.Status != "read" || f.Seq != r.Seq {
			t.Fatalf("receipt = %+v", f)
		}
	}
}

func TestOfflineThenSync(t *testing.T) {
	s := startServer(t)
	erin, frank := user(t, s, "erin"), user(t, s, "frank")
	ec := dial(t, erin, "web")
	echo := dial(t, erin, "tablet") // erin's other device: it sees each push
	g, err := erin.CreateGroup(ctxT(t), "news", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := frank.JoinGroup(ctxT(t), "news"); err != nil {
		t.Fatal(err)
	}
	// frank is offline while erin writes in two conversations.
	var dm wire.Message
	for i := 1; i <= 30; i++ {
		if dm, err = ec.Send(ctxT(t), client.SendRequest{ToUser: "frank", Text: fmt.Sprintf("dm %d", i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := ec.Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: fmt.Sprintf("group %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Acks come before fan-out: let the fan-out end before frank connects,
	// so the sync is all he reads.
	for i := 0; i < 60; i++ {
		nextMessage(t, echo)
	}
	fc := dial(t, frank, "phone")
	var tr client.Tracker
	convs, err := fc.Sync(ctxT(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]int64{}
	for len(got[g.ID])+len(got[dm.Conversation]) < 60 {
		m := nextMessage(t, fc)
		if dup, gap := tr.Observe(m); dup || gap {
			t.Fatalf("message %s seq %d: dup=%v gap=%v", m.Conversation, m.Seq, dup, gap)
		}
		got[m.Conversation] = append(got[m.Conversation], m.Seq)
	}
	for conv, seqs := range got {
		for i, seq := range seqs {
			if seq != int64(i+1) {
				t.Fatalf("%s: seqs %v not 1..30 in order", conv, seqs)
			}
		}
	}
	quiet(t, fc, wire.TypeMessage) // each message once
	c, ok := convByID(convs, dm.Conversation)
	if !ok || c.Unread != 30 || c.LastSeq != 30 || c.ReadSeq != 0 {
		t.Fatalf("dm conversation in sync ack = %+v", c)
	}
	// A second device that syncs from its own cursor gets only what is newer.
	fc2 := dial(t, frank, "laptop")
	if _, err := fc2.Sync(ctxT(t), map[string]int64{dm.Conversation: 28, g.ID: 30}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []int64{29, 30} {
		if m := nextMessage(t, fc2); m.Conversation != dm.Conversation || m.Seq != want {
			t.Fatalf("got %s/%d; want %s/%d", m.Conversation, m.Seq, dm.Conversation, want)
		}
	}
	quiet(t, fc2, wire.TypeMessage)
	// Once read, a cursor-less sync pushes nothing.
	if err := fc.Receipt(ctxT(t), dm.Conversation, 30, "read"); err != nil {
		t.Fatal(err)
	}
	if err := fc.Receipt(ctxT(t), g.ID, 30, "read"); err != nil {
		t.Fatal(err)
	}
	fc3 := dial(t, frank, "tablet")
	if _, err := fc3.Sync(ctxT(t), nil); err != nil {
		t.Fatal(err)
	}
	quiet(t, fc3, wire.TypeMessage)
}

func TestRetryDoesNotDuplicate(t *testing.T) {
	s := startServer(t)
	gina, hal := user(t, s, "gina"), user(t, s, "hal")
	gc, hc := dial(t, gina, "web"), dial(t, hal, "web")
	req := client.SendRequest{ToUser: "hal", Text: "once", ClientMsgID: "retry-1"}
	first, err := gc.Send(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	nextMessage(t, hc)
	again, err := gc.Send(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, first) {
		t.Fatalf("retry returned %+v; want the original %+v", again, first)
	}
	// After a reconnect, from another device, the retry still finds it.
	gc.Close()
	gc2 := dial(t, gina, "web-2")
	third, err := gc2.Send(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(third, first) {
		t.Fatalf("retry after reconnect returned %+v; want %+v", third, first)
	}
	quiet(t, hc, wire.TypeMessage) // retries are not pushed again
	ms, err := hal.Messages(ctxT(t), first.Conversation, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 {
		t.Fatalf("history holds %d messages; want 1", len(ms))
	}
	// The same client id from another user is another message.
	other, err := hc.Send(ctxT(t), client.SendRequest{ToUser: "gina", Text: "mine", ClientMsgID: "retry-1"})
	if err != nil {
		t.Fatal(err)
	}
	if other.ID == first.ID || other.Seq != 2 {
		t.Fatalf("other user's message = %+v", other)
	}
}

func TestReceiptsAndUnread(t *testing.T) {
	s := startServer(t)
	ivy, jack := user(t, s, "ivy"), user(t, s, "jack")
	ic, jc := dial(t, ivy, "web"), dial(t, jack, "web")
	var last wire.Message
	for i := 0; i < 5; i++ {
		var err error
		if last, err = ic.Send(ctxT(t), client.SendRequest{ToUser: "jack", Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	conv := last.Conversation
	unread := func(c *client.Client) (int64, wire.Conversation) {
		cs, err := c.Conversations(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := convByID(cs, conv)
		return got.Unread, got
	}
	if n, c := unread(jack); n != 5 {
		t.Fatalf("jack's unread = %d (%+v); want 5", n, c)
	}
	if n, _ := unread(ivy); n != 0 {
		t.Fatalf("the sender's own messages count as unread: %d", n)
	}
	if err := jc.Receipt(ctxT(t), conv, 5, "delivered"); err != nil {
		t.Fatal(err)
	}
	f := next(t, ic, wire.TypeReceiptEv)
	if f.Status != "delivered" || f.Seq != 5 || f.UserName != "jack" || f.Conversation != conv {
		t.Fatalf("receipt = %+v", f)
	}
	if n, _ := unread(jack); n != 5 {
		t.Fatalf("delivered changed unread to %d", n)
	}
	if err := jc.Receipt(ctxT(t), conv, 3, "read"); err != nil {
		t.Fatal(err)
	}
	if f := next(t, ic, wire.TypeReceiptEv); f.Status != "read" || f.Seq != 3 {
		t.Fatalf("receipt = %+v", f)
	}
	if n, c := unread(jack); n != 2 || c.ReadSeq != 3 || c.DeliveredSeq != 5 {
		t.Fatalf("after read 3: %+v", c)
	}
	// Going back is acked and changes nothing.
	if err := jc.Receipt(ctxT(t), conv, 2, "read"); err != nil {
		t.Fatal(err)
	}
	if err := jc.Receipt(ctxT(t), conv, 4, "delivered"); err != nil {
		t.Fatal(err)
	}
	quiet(t, ic, wire.TypeReceiptEv)
	if _, c := unread(jack); c.ReadSeq != 3 || c.DeliveredSeq != 5 {
		t.Fatalf("positions moved back: %+v", c)
	}
	// Beyond the last message, a bad status, a stranger: errors.
	wantCode(t, jc.Receipt(ctxT(t), conv, 6, "read"), "bad_request")
	wantCode(t, jc.Receipt(ctxT(t), conv, 1, "seen"), "bad_request")
	kim := user(t, s, "kim")
	wantCode(t, dial(t, kim, "web").Receipt(ctxT(t), conv, 1, "read"), "forbidden")
	// Sending implies having read: ivy's reply leaves her nothing unread.
	if _, err := jc.Send(ctxT(t), client.SendRequest{ToUser: "ivy", Text: "ok"}); err != nil {
		t.Fatal(err)
	}
	if n, c := unread(jack); n != 0 || c.ReadSeq != 6 {
		t.Fatalf("after replying: %+v", c)
	}
	if n, _ := unread(ivy); n != 1 {
		t.Fatalf("ivy's unread = %d; want 1", n)
	}
	// Anyone in the conversation can read the others' positions (ticks
	// after a reload); nobody else can.
	ms, err := ivy.ConversationMembers(ctxT(t), conv)
	if err != nil {
		t.Fatal(err)
	}
	want := []wire.Member{
		{Username: "ivy", Online: true, DeliveredSeq: 5, ReadSeq: 5},
		{Username: "jack", Online: true, DeliveredSeq: 6, ReadSeq: 6},
	}
	if len(ms) != 2 || ms[0] != want[0] || ms[1] != want[1] {
		t.Fatalf("members = %+v; want %+v", ms, want)
	}
	_, err = kim.ConversationMembers(ctxT(t), conv)
	wantCode(t, err, "forbidden")
}

func TestTyping(t *testing.T) {
	s := startServer(t)
	leo, mia := user(t, s, "leo"), user(t, s, "mia")
	lc, mc := dial(t, leo, "web"), dial(t, mia, "web")
	m, err := lc.Send(ctxT(t), client.SendRequest{ToUser: "mia", Text: "hey"})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.Typing(m.Conversation); err != nil {
		t.Fatal(err)
	}
	f := next(t, lc, wire.TypeTypingEv)
	if f.UserName != "mia" || f.Conversation != m.Conversation {
		t.Fatalf("typing = %+v", f)
	}
	quiet(t, mc, wire.TypeTypingEv) // not echoed to the typist
	// Typing where one is not a member is an error frame.
	nia := user(t, s, "nia")
	nc := dial(t, nia, "web")
	if err := nc.Typing(m.Conversation); err != nil {
		t.Fatal(err)
	}
	if f := next(t, nc, wire.TypeError); f.Code != "forbidden" {
		t.Fatalf("error = %+v", f)
	}
}
