package storetest

import (
	"fmt"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

func (f *fixture) search(tb testing.TB, u chat.User, q chat.SearchQuery) []string {
	tb.Helper()
	ms, err := f.s.Search(f.ctx, u.ID, q)
	if err != nil {
		tb.Fatalf("Search(%s, %+v): %v", u.Username, q, err)
	}
	texts := []string{}
	for _, m := range ms {
		texts = append(texts, m.Text)
	}
	return texts
}

// testSearch: full-text search finds every word, only in conversations the
// user is in, newest first, with paging; edited text is found by its new
// words only; deleted text is never found.
func testSearch(t *testing.T, f *fixture) {
	alice, bob, carol := f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol")
	g := f.group(t, "devs", alice, bob)
	d := f.direct(t, alice, carol)
	old := f.send(t, g.ID, alice, "the deploy failed again")
	f.send(t, g.ID, bob, "Deploy is green now")
	f.send(t, d.ID, carol, "private deploy notes")
	edited := f.send(t, g.ID, bob, "lunch?")
	gone := f.send(t, g.ID, alice, "deploy password hunter2")
	f.edit(t, edited, "lunch after the deploy?")
	f.change(t, chat.Change{Kind: chat.ChangeDelete, MessageID: gone.ID, UserID: alice.ID})

	for _, tc := range []struct {
		who  chat.User
		q    chat.SearchQuery
		want []string
	}{
		{alice, chat.SearchQuery{Text: "deploy"}, []string{"lunch after the deploy?", "private deploy notes", "Deploy is green now", "the deploy failed again"}},
		{bob, chat.SearchQuery{Text: "DEPLOY"}, []string{"lunch after the deploy?", "Deploy is green now", "the deploy failed again"}},
		{carol, chat.SearchQuery{Text: "deploy"}, []string{"private deploy notes"}},
		{alice, chat.SearchQuery{Text: "deploy green"}, []string{"Deploy is green now"}},
		{alice, chat.SearchQuery{Text: "lunch?"}, []string{"lunch after the deploy?"}},
		{alice, chat.SearchQuery{Text: "hunter2"}, []string{}},
		{alice, chat.SearchQuery{Text: "password"}, []string{}},
		{alice, chat.SearchQuery{Text: "deploy", Conversation: d.ID}, []string{"private deploy notes"}},
		{alice, chat.SearchQuery{Text: "deploy", Limit: 2}, []string{"lunch after the deploy?", "private deploy notes"}},
		{alice, chat.SearchQuery{Text: "deploy", Before: old.ID}, []string{}},
		{alice, chat.SearchQuery{Text: `"quoted" OR NOT * ( -`}, []string{}},
		{alice, chat.SearchQuery{Text: "!!!"}, []string{}},
	} {
		if got := f.search(t, tc.who, tc.q); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("Search(%s, %+v) = %q; want %q", tc.who.Username, tc.q, got, tc.want)
		}
	}
	// A text may hold NUL (PostgreSQL keeps it as bytea): it is still found.
	f.send(t, d.ID, carol, "zero\x00byte kept")
	if got := f.search(t, carol, chat.SearchQuery{Text: "byte"}); fmt.Sprint(got) != fmt.Sprint([]string{"zero\x00byte kept"}) {
		t.Errorf("search across a NUL = %q", got)
	}
	// Paging: the page after the last result of the first.
	page1, err := f.s.Search(f.ctx, alice.ID, chat.SearchQuery{Text: "deploy", Limit: 2})
	if err != nil || len(page1) != 2 {
		t.Fatalf("page 1: %v, %v", page1, err)
	}
	if got := f.search(t, alice, chat.SearchQuery{Text: "deploy", Limit: 2, Before: page1[1].ID}); fmt.Sprint(got) != fmt.Sprint([]string{"Deploy is green now", "the deploy failed again"}) {
		t.Errorf("page 2 = %q", got)
	}
}

// testSearchSinceJoin: in a since_join group a member finds only what was
// sent after it joined.
func testSearchSinceJoin(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	g := f.group(t, "late", alice)
	g.History = chat.HistorySinceJoin
	g.Visibility = chat.VisibilityPublic
	if err := f.s.UpdateGroup(f.ctx, g); err != nil {
		t.Fatal(err)
	}
	f.send(t, g.ID, alice, "release before bob")
	f.join(t, g.ID, bob)
	f.send(t, g.ID, alice, "release after bob")
	if got := f.search(t, bob, chat.SearchQuery{Text: "release"}); fmt.Sprint(got) != fmt.Sprint([]string{"release after bob"}) {
		t.Fatalf("bob found %v; want only what came after he joined", got)
	}
	if got := f.search(t, alice, chat.SearchQuery{Text: "release"}); len(got) != 2 {
		t.Fatalf("alice found %v; want both", got)
	}
}
