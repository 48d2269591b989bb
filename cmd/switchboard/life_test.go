package main

import (
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// nextUpdate returns the next pushed update frame.
func nextUpdate(t testing.TB, conn *client.Conn) wire.ServerFrame {
	t.Helper()
	f := next(t, conn, wire.TypeUpdate)
	if f.Msg == nil || f.Rev != f.Msg.Rev || f.Conversation != f.Msg.Conversation {
		t.Fatalf("update frame %+v; want the message with its rev and conversation", f)
	}
	return f
}

// TestOfflineDeviceSeesChangesAfterOneSync: a device that was away while a
// message was edited, another deleted and a third reacted to sees each
// change once after one sync, and history shows the messages as they now
// are.
func TestOfflineDeviceSeesChangesAfterOneSync(t *testing.T) {
	s := startServer(t)
	alice, bob := user(t, s, "alice"), user(t, s, "bob")
	ac := dial(t, alice, "web")
	var tr client.Tracker
	phone := dial(t, bob, "phone")
	var ms []wire.Message
	for i := range 3 {
		m, err := ac.Send(ctxT(t), client.SendRequest{ToUser: "bob", Text: fmt.Sprintf("message %d", i+1)})
		if err != nil {
			t.Fatal(err)
		}
		tr.Observe(nextMessage(t, phone))
		ms = append(ms, m)
	}
	conv := ms[0].Conversation
	tr.StartRev(conv, 0)
	phone.Close()

	// While bob's phone is away:
	if _, err := ac.Edit(ctxT(t), ms[0].ID, "message 1, edited"); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.Delete(ctxT(t), ms[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.React(ctxT(t), ms[2].ID, "🎉", true); err != nil {
		t.Fatal(err)
	}
	late, err := ac.Send(ctxT(t), client.SendRequest{ToUser: "bob", Text: "message 4"})
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu      sync.Mutex
		updates = map[string]wire.Message{}
		order   []string
	)
	phone2, err := bob.Dial(ctxT(t), "phone", client.OnEvent(func(_ *client.Conn, f wire.ServerFrame) {
		mu.Lock()
		defer mu.Unlock()
		switch f.Type {
		case wire.TypeMessage:
			// Message 4's live push can reach this device after its cursors
			// were read and before its sync began, so the sync sends it too;
			// the tracker drops the copy by seq, as every client must.
			if dup, _ := tr.Observe(*f.Msg); !dup {
				order = append(order, fmt.Sprintf("message %d", f.Msg.Seq))
			}
		case wire.TypeUpdate:
			if dup, _ := tr.ObserveUpdate(f.Conversation, f.Rev); dup {
				t.Errorf("update rev %d twice", f.Rev)
			}
			updates[f.Msg.ID] = *f.Msg
			order = append(order, fmt.Sprintf("update %d", f.Rev))
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer phone2.Close()
	convs, err := phone2.SyncRevs(ctxT(t), tr.Cursors(), tr.Revs())
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if want := []string{"message 4", "update 1", "update 2", "update 3"}; !reflect.DeepEqual(order, want) {
		t.Errorf("pushed %v; want %v", order, want)
	}
	if m := updates[ms[0].ID]; m.Text != "message 1, edited" || m.EditedAt == 0 {
		t.Errorf("edited message = %+v", m)
	}
	if m := updates[ms[1].ID]; !m.Deleted || m.Text != "" {
		t.Errorf("deleted message = %+v", m)
	}
	if m := updates[ms[2].ID]; !reflect.DeepEqual(m.Reactions, []wire.Reaction{{Emoji: "🎉", Count: 1, Users: []string{"alice"}}}) {
		t.Errorf("reacted message = %+v", m)
	}
	mu.Unlock()
	if len(convs) != 1 || convs[0].LastRev != 3 {
		t.Fatalf("sync ack conversations = %+v; want last_rev 3", convs)
	}
	tr.StartRev(conv, convs[0].LastRev)
	if st := tr.Stats(); tr.Rev(conv) != 3 || tr.Cursor(conv) != late.Seq || st.UpdateGaps != 0 || st.Duplicates > 1 || st.UpdateDups != 0 {
		t.Errorf("tracker rev %d, cursor %d, stats %+v", tr.Rev(conv), tr.Cursor(conv), st)
	}

	// History pages are the messages as they now are.
	h, err := bob.Messages(ctxT(t), conv, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 4 || h[0].Text != "message 1, edited" || !h[1].Deleted || len(h[2].Reactions) != 1 || h[0].Rev != 1 {
		t.Errorf("history = %+v", h)
	}
	// The changes are live for the connected devices: alice's other device
	// gets bob's reaction.
	aw := dial(t, alice, "phone")
	if _, err := phone2.React(ctxT(t), ms[0].ID, "👍", true); err != nil {
		t.Fatal(err)
	}
	if f := nextUpdate(t, aw); f.Rev != 4 || f.Msg.ID != ms[0].ID || len(f.Msg.Reactions) != 1 {
		t.Errorf("alice's phone got %+v", f)
	}
}

// TestPinsAndSearchOverHTTP: pins and search answer over HTTP to members
// only; deleted text is never found.
func TestPinsAndSearchOverHTTP(t *testing.T) {
	s := startServer(t)
	alice, bob, eve := user(t, s, "alice"), user(t, s, "bob"), user(t, s, "eve")
	ac := dial(t, alice, "web")
	m1, err := ac.Send(ctxT(t), client.SendRequest{ToUser: "bob", Text: "the launch code is tuesday"})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := ac.Send(ctxT(t), client.SendRequest{ToUser: "bob", Text: "launch party friday", ReplyTo: m1.ID})
	if err != nil || m2.ReplyTo != m1.ID {
		t.Fatalf("reply = %+v, %v", m2, err)
	}
	if _, err := ac.Pin(ctxT(t), m1.ID, true); err != nil {
		t.Fatal(err)
	}
	pins, err := bob.Pins(ctxT(t), m1.Conversation)
	if err != nil || len(pins) != 1 || pins[0].ID != m1.ID || !pins[0].Pinned {
		t.Errorf("pins = %+v, %v", pins, err)
	}
	_, err = eve.Pins(ctxT(t), m1.Conversation)
	wantCode(t, err, "forbidden")

	found, err := bob.Search(ctxT(t), client.SearchQuery{Text: "launch"})
	if err != nil || len(found) != 2 || found[0].ID != m2.ID || found[1].ID != m1.ID {
		t.Errorf("search = %+v, %v; want both, newest first", found, err)
	}
	if found, err := eve.Search(ctxT(t), client.SearchQuery{Text: "launch"}); err != nil || len(found) != 0 {
		t.Errorf("eve's search = %+v, %v; want nothing", found, err)
	}
	if _, err := ac.Delete(ctxT(t), m1.ID); err != nil {
		t.Fatal(err)
	}
	if found, err := bob.Search(ctxT(t), client.SearchQuery{Text: "tuesday"}); err != nil || len(found) != 0 {
		t.Errorf("search for deleted text = %+v, %v; want nothing", found, err)
	}
	if pins, err := bob.Pins(ctxT(t), m1.Conversation); err != nil || len(pins) != 0 {
		t.Errorf("pins after the delete = %+v, %v; want none", pins, err)
	}
	for _, q := range []client.SearchQuery{{Text: ""}, {Text: "x", Limit: 101}} {
		_, err := bob.Search(ctxT(t), q)
		wantCode(t, err, "bad_request")
	}
	resp, err := http.Get(s.URL + "/v1/search?q=launch")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("search without a token: %d; want 401", resp.StatusCode)
	}
}
