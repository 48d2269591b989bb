package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// SearchIndexer is a store whose search index is kept by a background
// indexer, off the send path. Both stores are; the suite's search index
// tests need it to leave messages unindexed on purpose.
type SearchIndexer interface {
	// StopIndexer stops the store's background indexer (Search still
	// indexes what it needs before answering).
	StopIndexer()
	// SearchBacklog returns how many committed messages are not indexed
	// as they now are.
	SearchBacklog(ctx context.Context) (int64, error)
}

// Reopener makes a new, empty database and returns a function that opens
// a store on it, as often as called. The suite closes each store it opens.
type Reopener func(tb testing.TB) (open func(tb testing.TB) chat.Store)

// backlogWait bounds how long a test waits for a background indexer to
// finish a backlog; it is a timeout for a hung indexer, not a measurement.
const backlogWait = 2 * time.Minute

func indexerOf(tb testing.TB, s chat.Store) SearchIndexer {
	tb.Helper()
	x, ok := s.(SearchIndexer)
	if !ok {
		tb.Fatalf("%T does not implement storetest.SearchIndexer", s)
	}
	return x
}

// searchState is how a test leaves the index before a change: indexed (a
// search ran, so the message is in the index) or not (the indexer is
// stopped and nothing searched since the message was sent).
var searchStates = []struct {
	name    string
	indexed bool
}{{"unindexed", false}, {"indexed", true}}

func (f *fixture) prepareIndex(tb testing.TB, u chat.User, indexed bool) {
	tb.Helper()
	if indexed {
		f.search(tb, u, chat.SearchQuery{Text: "anything"})
	}
}

func (f *fixture) wantSearch(tb testing.TB, u chat.User, q chat.SearchQuery, want ...string) {
	tb.Helper()
	if want == nil {
		want = []string{}
	}
	if got := f.search(tb, u, q); fmt.Sprint(got) != fmt.Sprint(want) {
		tb.Errorf("Search(%s, %q) = %q; want %q", u.Username, q.Text, got, want)
	}
}

// testSearchAfterAppend: each message is found by a search right after it
// was stored, with the indexer running and with it stopped.
func testSearchAfterAppend(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	d := f.direct(t, alice, bob)
	for i := range 40 {
		if i == 20 {
			indexerOf(t, f.s).StopIndexer()
		}
		text := fmt.Sprintf("note%d shared", i)
		f.send(t, d.ID, alice, text)
		f.wantSearch(t, bob, chat.SearchQuery{Text: fmt.Sprintf("note%d", i)}, text)
		if got := f.search(t, alice, chat.SearchQuery{Text: "shared", Limit: 100}); len(got) != i+1 {
			t.Fatalf("after %d messages, %d found", i+1, len(got))
		}
	}
}

// testSearchAfterEdit: an edited message is found by its new words only,
// whether or not it was indexed before the edit.
func testSearchAfterEdit(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	indexerOf(t, f.s).StopIndexer()
	for _, st := range searchStates {
		d := f.group(t, "edits-"+st.name, alice, bob)
		q := chat.SearchQuery{Conversation: d.ID}
		m := f.send(t, d.ID, alice, "apple pie")
		f.prepareIndex(t, bob, st.indexed)
		f.edit(t, m, "banana split")
		f.wantSearch(t, bob, with(q, "apple"))
		f.wantSearch(t, bob, with(q, "banana"), "banana split")
		f.edit(t, m, "cherry banana")
		f.wantSearch(t, bob, with(q, "split"))
		f.wantSearch(t, bob, with(q, "cherry"), "cherry banana")
	}
}

// testSearchAfterDelete: a deleted message is never found, whether or not
// it was indexed before the delete.
func testSearchAfterDelete(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	indexerOf(t, f.s).StopIndexer()
	for _, st := range searchStates {
		d := f.group(t, "deletes-"+st.name, alice, bob)
		q := chat.SearchQuery{Conversation: d.ID}
		m := f.send(t, d.ID, alice, "zebra crossing")
		f.send(t, d.ID, alice, "zebra kept")
		f.prepareIndex(t, bob, st.indexed)
		f.change(t, chat.Change{Kind: chat.ChangeDelete, MessageID: m.ID, UserID: alice.ID})
		f.wantSearch(t, bob, with(q, "crossing"))
		f.wantSearch(t, bob, with(q, "zebra"), "zebra kept")
	}
}

// testSearchAfterDeleteGroup: a deleted group's messages are not found, and
// messages stored after them (which may reuse their row ids) are found by
// their own words only; whether or not the group's messages were indexed.
func testSearchAfterDeleteGroup(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	d := f.direct(t, alice, bob)
	f.send(t, d.ID, alice, "first words")

	g := f.group(t, "doomed", alice, bob)
	f.send(t, g.ID, alice, "kiwi one")
	f.send(t, g.ID, bob, "kiwi two")
	f.prepareIndex(t, bob, true)
	f.deleteGroup(t, g.ID)
	f.send(t, d.ID, alice, "mango one")
	f.send(t, d.ID, bob, "mango two")
	f.wantSearch(t, alice, chat.SearchQuery{Text: "kiwi"})
	f.wantSearch(t, alice, chat.SearchQuery{Text: "mango"}, "mango two", "mango one")
	f.wantSearch(t, alice, chat.SearchQuery{Text: "one"}, "mango one")

	indexerOf(t, f.s).StopIndexer()
	g = f.group(t, "doomed2", alice, bob)
	f.send(t, g.ID, alice, "lime three")
	f.deleteGroup(t, g.ID)
	f.send(t, d.ID, alice, "papaya three")
	f.wantSearch(t, alice, chat.SearchQuery{Text: "lime"})
	f.wantSearch(t, alice, chat.SearchQuery{Text: "three"}, "papaya three")
}

func (f *fixture) deleteGroup(tb testing.TB, convID string) {
	tb.Helper()
	if err := f.s.DeleteGroup(f.ctx, convID); err != nil {
		tb.Fatalf("DeleteGroup(%s): %v", convID, err)
	}
}

func with(q chat.SearchQuery, text string) chat.SearchQuery {
	q.Text = text
	return q
}

// RunReopen runs the search index tests that close a store and open it
// again on the same database.
func RunReopen(t *testing.T, reopen Reopener) {
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, open func(tb testing.TB) chat.Store)
	}{
		{"SearchAfterReopen", testSearchAfterReopen},
		{"SearchBacklogAfterRestart", testSearchBacklogAfterRestart},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, reopen(t)) })
	}
}

// reopened is a fixture on a store opened once more; the users made in
// an earlier one are passed along.
func reopened(tb testing.TB, open func(tb testing.TB) chat.Store, n int64) *fixture {
	tb.Helper()
	f := newFixture(tb, func(tb testing.TB) chat.Store { return open(tb) })
	f.n.Store(n)
	return f
}

// testSearchAfterReopen: what was found before a close is found after the
// reopen, as last edited, and new messages are found too.
func testSearchAfterReopen(t *testing.T, open func(tb testing.TB) chat.Store) {
	f := reopened(t, open, 0)
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	d := f.direct(t, alice, bob)
	m := f.send(t, d.ID, alice, "before reopen")
	f.wantSearch(t, bob, chat.SearchQuery{Text: "reopen"}, "before reopen")
	f.edit(t, m, "edited before close")
	if err := f.s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	g := reopened(t, open, f.n.Load())
	g.wantSearch(t, bob, chat.SearchQuery{Text: "reopen"})
	g.wantSearch(t, bob, chat.SearchQuery{Text: "close"}, "edited before close")
	g.send(t, d.ID, bob, "after the close")
	g.wantSearch(t, alice, chat.SearchQuery{Text: "close"}, "after the close", "edited before close")
}

// testSearchBacklogAfterRestart: messages left unindexed when a store
// stopped (its indexer stopped first, as a crash would leave them) are
// indexed by the next store's background indexer, without any search.
func testSearchBacklogAfterRestart(t *testing.T, open func(tb testing.TB) chat.Store) {
	f := reopened(t, open, 0)
	indexerOf(t, f.s).StopIndexer()
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	d := f.direct(t, alice, bob)
	const n = 1200
	for i := 0; i < n; i += 300 {
		msgs := make([]chat.Message, 300)
		for j := range msgs {
			msgs[j] = f.msg(d.ID, alice, fmt.Sprintf("backlog item%d", i+j))
		}
		f.append(t, msgs...)
	}
	if got, err := indexerOf(t, f.s).SearchBacklog(f.ctx); err != nil || got != n {
		t.Fatalf("backlog with the indexer stopped = %d, %v; want %d", got, err, n)
	}
	if err := f.s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	g := reopened(t, open, f.n.Load())
	x := indexerOf(t, g.s)
	deadline := time.Now().Add(backlogWait)
	for {
		left, err := x.SearchBacklog(g.ctx)
		if err != nil {
			t.Fatalf("SearchBacklog: %v", err)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, %d of %d messages still unindexed", backlogWait, left, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := g.search(t, bob, chat.SearchQuery{Text: "backlog", Limit: 200})
	if want := fmt.Sprintf("backlog item%d", n-1); len(got) != 200 || got[0] != want {
		t.Errorf("search after the backlog: %d results (want 200), newest first %q", len(got), want)
	}
	g.wantSearch(t, bob, chat.SearchQuery{Text: "item7"}, "backlog item7")
}
