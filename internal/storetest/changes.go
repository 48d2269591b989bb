package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// change applies ch and fails the test on an error.
func (f *fixture) change(tb testing.TB, ch chat.Change) chat.ChangeResult {
	tb.Helper()
	if ch.TS == 0 {
		ch.TS = f.ts()
	}
	res, err := f.s.ChangeMessage(f.ctx, ch)
	if err != nil {
		tb.Fatalf("ChangeMessage(%+v): %v", ch, err)
	}
	return res
}

func (f *fixture) edit(tb testing.TB, m chat.Message, text string) chat.ChangeResult {
	tb.Helper()
	return f.change(tb, chat.Change{Kind: chat.ChangeEdit, MessageID: m.ID, ConversationID: m.ConversationID, UserID: m.SenderID, Text: text})
}

func (f *fixture) changed(tb testing.TB, convID string, afterRev, maxSeq int64, limit int) []chat.Message {
	tb.Helper()
	ms, err := f.s.ChangedMessages(f.ctx, convID, afterRev, maxSeq, limit)
	if err != nil {
		tb.Fatalf("ChangedMessages(%s, %d, %d, %d): %v", convID, afterRev, maxSeq, limit, err)
	}
	return ms
}

func revs(ms []chat.Message) []int64 {
	out := []int64{}
	for _, m := range ms {
		out = append(out, m.Rev)
	}
	return out
}

// testChangePrevTS: each change carries when its conversation's previous
// change was made, whichever message that touched; the first carries 0, a
// change that changes nothing carries 0, and another conversation's changes
// do not count.
func testChangePrevTS(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	g := f.group(t, "devs", alice, bob)
	other := f.direct(t, alice, bob)
	m1, m2 := f.send(t, g.ID, alice, "one"), f.send(t, g.ID, bob, "two")
	o := f.send(t, other.ID, alice, "elsewhere")

	r1 := f.edit(t, m1, "one!")
	if !r1.Changed || r1.PrevTS != 0 {
		t.Fatalf("first change = changed %v, PrevTS %d; want changed, 0", r1.Changed, r1.PrevTS)
	}
	ts1 := r1.Message.EditedAt
	if r := f.edit(t, o, "elsewhere!"); r.PrevTS != 0 {
		t.Errorf("another conversation's first change has PrevTS %d; want 0", r.PrevTS)
	}
	ts2 := f.ts()
	r2 := f.change(t, chat.Change{Kind: chat.ChangeReact, MessageID: m2.ID, ConversationID: g.ID, UserID: alice.ID, Emoji: "👍", On: true, TS: ts2})
	if !r2.Changed || r2.PrevTS != ts1 {
		t.Errorf("second change = changed %v, PrevTS %d; want changed, the first's time %d", r2.Changed, r2.PrevTS, ts1)
	}
	if r := f.edit(t, m1, "one!"); r.Changed || r.PrevTS != 0 {
		t.Errorf("a change that changes nothing = changed %v, PrevTS %d; want neither", r.Changed, r.PrevTS)
	}
	if r := f.change(t, chat.Change{Kind: chat.ChangeDelete, MessageID: m1.ID, ConversationID: g.ID, UserID: alice.ID}); !r.Changed || r.PrevTS != ts2 {
		t.Errorf("third change = changed %v, PrevTS %d; want changed, the second's time %d", r.Changed, r.PrevTS, ts2)
	}
}

// testChangeRevs: every change takes the conversation's next rev; a change
// that changes nothing takes none; history and ChangedMessages show messages
// as they now are.
func testChangeRevs(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	g := f.group(t, "devs", alice, bob)
	m1, m2, _ := f.send(t, g.ID, alice, "one"), f.send(t, g.ID, alice, "two"), f.send(t, g.ID, bob, "three")
	if m1.Rev != 0 || m1.Deleted || m1.EditedAt != 0 {
		t.Fatalf("a new message = %+v; want rev 0, not edited or deleted", m1)
	}

	ts := f.ts()
	r := f.change(t, chat.Change{Kind: chat.ChangeEdit, MessageID: m2.ID, ConversationID: g.ID, UserID: alice.ID, Text: "two!", TS: ts})
	if !r.Changed || r.Message.Rev != 1 || r.Message.Text != "two!" || r.Message.EditedAt != ts || r.Message.Seq != 2 {
		t.Fatalf("first edit = %+v; want changed, rev 1, text two!, edited at %d, seq 2", r, ts)
	}
	if again := f.edit(t, m2, "two!"); again.Changed || again.Message.Rev != 1 || again.Message.Text != "two!" {
		t.Errorf("the same edit again = %+v; want unchanged at rev 1", again)
	}
	if r := f.edit(t, m1, "one!"); !r.Changed || r.Message.Rev != 2 {
		t.Errorf("second edit = rev %d, changed %v; want rev 2", r.Message.Rev, r.Changed)
	}
	if r := f.edit(t, m2, "two!!"); r.Message.Rev != 3 {
		t.Errorf("third edit = rev %d; want 3", r.Message.Rev)
	}
	if st := f.state(t, g.ID, bob); st.LastRev != 3 || st.LastSeq != 3 {
		t.Errorf("state last rev %d, last seq %d; want 3, 3", st.LastRev, st.LastSeq)
	}
	h := f.history(t, g.ID)
	if len(h) != 3 || h[0].Text != "one!" || h[1].Text != "two!!" || h[1].Rev != 3 || h[2].Rev != 0 {
		t.Errorf("history = %+v; want the messages as they now are", h)
	}
	if got, err := f.s.Message(f.ctx, m2.ID); err != nil || got.Text != "two!!" || got.Rev != 3 {
		t.Errorf("Message = %+v, %v; want two!! at rev 3", got, err)
	}
	for _, tc := range []struct {
		after, maxSeq int64
		limit         int
		want          []int64
	}{
		{0, 3, 10, []int64{2, 3}}, // m1 at rev 2, m2 at rev 3: each message once, at its last rev
		{2, 3, 10, []int64{3}},
		{3, 3, 10, []int64{}},
		{0, 1, 10, []int64{2}}, // only messages at or below the seq
		{0, 3, 1, []int64{2}},
	} {
		if got := revs(f.changed(t, g.ID, tc.after, tc.maxSeq, tc.limit)); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("ChangedMessages(after %d, seq <= %d, limit %d) revs = %v; want %v", tc.after, tc.maxSeq, tc.limit, got, tc.want)
		}
	}
	// Revs are per conversation.
	d := f.direct(t, alice, bob)
	dm := f.send(t, d.ID, alice, "dm")
	if r := f.edit(t, dm, "dm!"); r.Message.Rev != 1 {
		t.Errorf("first edit in another conversation = rev %d; want 1", r.Message.Rev)
	}
}

// testChangeDelete: a delete clears text, media, reactions and pin, keeps
// the seq, takes a rev once, and frees media no other message carries.
func testChangeDelete(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	d := f.direct(t, alice, bob)
	media := &chat.Media{ID: f.id("media"), ContentType: "image/png", Size: 10, SHA256: "ab", UploaderID: alice.ID}
	shared := &chat.Media{ID: f.id("media"), ContentType: "image/png", Size: 20, SHA256: "cd", UploaderID: alice.ID}
	m1, m2, m3 := f.msg(d.ID, alice, "secret"), f.msg(d.ID, alice, "a"), f.msg(d.ID, alice, "b")
	m1.Media, m2.Media, m3.Media = media, shared, shared
	batch := f.append(t, m1, m2, m3)
	m1, m2, m3 = batch[0].Result, batch[1].Result, batch[2].Result
	f.change(t, chat.Change{Kind: chat.ChangeReact, MessageID: m1.ID, UserID: bob.ID, Emoji: "👍", On: true})
	f.change(t, chat.Change{Kind: chat.ChangePin, MessageID: m1.ID, UserID: bob.ID, On: true})

	r := f.change(t, chat.Change{Kind: chat.ChangeDelete, MessageID: m1.ID, ConversationID: d.ID, UserID: alice.ID})
	got := r.Message
	if !r.Changed || !got.Deleted || got.Text != "" || got.Media != nil || got.Reactions != nil || got.Pinned || got.Seq != 1 || got.Rev != 3 {
		t.Fatalf("delete = %+v; want changed, deleted, no text, media, reactions or pin, seq 1, rev 3", r)
	}
	if r.FreedMedia != media.ID {
		t.Errorf("FreedMedia = %q; want %q (no other message carries it)", r.FreedMedia, media.ID)
	}
	if again := f.change(t, chat.Change{Kind: chat.ChangeDelete, MessageID: m1.ID, UserID: alice.ID}); again.Changed || again.Message.Rev != 3 || again.FreedMedia != "" {
		t.Errorf("delete again = %+v; want unchanged at rev 3", again)
	}
	if h := f.history(t, d.ID); len(h) != 3 || !h[0].Deleted || h[0].Text != "" {
		t.Errorf("history after delete = %+v; want seq 1 kept, deleted", h)
	}
	if r := f.change(t, chat.Change{Kind: chat.ChangeDelete, MessageID: m2.ID, UserID: alice.ID}); r.FreedMedia != "" {
		t.Errorf("deleting one of two messages with the same media freed %q; want nothing", r.FreedMedia)
	}
	if r := f.change(t, chat.Change{Kind: chat.ChangeDelete, MessageID: m3.ID, UserID: alice.ID}); r.FreedMedia != shared.ID {
		t.Errorf("deleting the last message with the media freed %q; want %q", r.FreedMedia, shared.ID)
	}
	for _, ch := range []chat.Change{
		{Kind: chat.ChangeEdit, MessageID: m1.ID, UserID: alice.ID, Text: "back"},
		{Kind: chat.ChangeReact, MessageID: m1.ID, UserID: bob.ID, Emoji: "🎉", On: true},
		{Kind: chat.ChangePin, MessageID: m1.ID, UserID: bob.ID, On: true},
	} {
		ch.TS = f.ts()
		_, err := f.s.ChangeMessage(f.ctx, ch)
		wantCode(t, ch.Kind+" of a deleted message", err, chat.EConflict)
	}
	if st := f.state(t, d.ID, alice); st.LastRev != 5 {
		t.Errorf("last rev = %d; want 5 (refused changes take no rev)", st.LastRev)
	}
}

// testChangeNotFound: a change to a message that does not exist, or not in
// the named conversation, is ENotFound and takes no rev.
func testChangeNotFound(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	d := f.direct(t, alice, bob)
	g := f.group(t, "devs", alice)
	m := f.send(t, d.ID, alice, "hi")
	for _, ch := range []chat.Change{
		{Kind: chat.ChangeEdit, MessageID: "no-such-message", UserID: alice.ID, Text: "x"},
		{Kind: chat.ChangeEdit, MessageID: m.ID, ConversationID: g.ID, UserID: alice.ID, Text: "x"},
		{Kind: chat.ChangeDelete, MessageID: "no-such-message", UserID: alice.ID},
	} {
		ch.TS = f.ts()
		_, err := f.s.ChangeMessage(f.ctx, ch)
		wantCode(t, fmt.Sprintf("%+v", ch), err, chat.ENotFound)
	}
	_, err := f.s.Message(f.ctx, "no-such-message")
	wantCode(t, "Message of an unknown id", err, chat.ENotFound)
	if st := f.state(t, d.ID, alice); st.LastRev != 0 {
		t.Errorf("last rev = %d; want 0", st.LastRev)
	}
}

// testChangeConcurrent: concurrent changes of one conversation get revs
// 1..n, each once.
func testChangeConcurrent(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	g := f.group(t, "devs", alice, bob)
	ms := f.sendN(t, g.ID, alice, 8)
	const perWorker = 5
	var (
		mu  sync.Mutex
		got = map[int64]int{}
		wg  sync.WaitGroup
	)
	for w, m := range ms {
		wg.Go(func() {
			for i := range perWorker {
				ch := chat.Change{Kind: chat.ChangeEdit, MessageID: m.ID, UserID: alice.ID, Text: fmt.Sprintf("edit %d of %d", i, w), TS: baseTS}
				if i%2 == 1 {
					ch = chat.Change{Kind: chat.ChangeReact, MessageID: m.ID, UserID: bob.ID, Emoji: string(rune('a' + i)), On: true, TS: baseTS}
				}
				r, err := f.s.ChangeMessage(f.ctx, ch)
				if err != nil || !r.Changed {
					t.Errorf("ChangeMessage: %v, changed %v", err, r.Changed)
					return
				}
				mu.Lock()
				got[r.Message.Rev]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	n := int64(len(ms) * perWorker)
	for rev := int64(1); rev <= n; rev++ {
		if got[rev] != 1 {
			t.Errorf("rev %d given %d times; want once", rev, got[rev])
		}
	}
	if st := f.state(t, g.ID, alice); st.LastRev != n {
		t.Errorf("last rev = %d; want %d", st.LastRev, n)
	}
}
