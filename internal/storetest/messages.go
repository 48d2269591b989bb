package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// ---- messages

func testAppendSeq(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	g := f.group(t, "gophers", alice, bob)
	d := f.direct(t, alice, bob)

	var want []chat.Message
	check := func(a *chat.Append, seq int64) {
		t.Helper()
		if a.Err != nil || a.Duplicate {
			t.Fatalf("append: err %v, duplicate %v; want stored", a.Err, a.Duplicate)
		}
		w := a.Message
		w.Seq = seq
		sameMessage(t, fmt.Sprintf("Result of seq %d", seq), a.Result, w)
		if w.ConversationID == g.ID {
			want = append(want, w)
		}
	}
	check(f.append(t, f.msg(g.ID, alice, "one"))[0], 1)
	check(f.append(t, f.msg(g.ID, bob, "two"))[0], 2)
	// One batch spanning two conversations numbers each on its own.
	batch := f.append(t,
		f.msg(g.ID, alice, "three"),
		f.msg(d.ID, bob, "direct one"),
		f.msg(g.ID, bob, "four"),
		f.msg(d.ID, alice, "direct two"),
		f.msg(g.ID, alice, "five"),
	)
	for i, seq := range []int64{3, 1, 4, 2, 5} {
		check(batch[i], seq)
	}
	check(f.append(t, f.msg(g.ID, bob, "six"))[0], 6)

	got := f.messages(t, g.ID, chat.HistoryQuery{Limit: 100})
	if len(got) != len(want) {
		t.Fatalf("Messages = seqs %v; want %v", seqs(got), seqs(want))
	}
	for i := range want {
		sameMessage(t, fmt.Sprintf("Messages[%d]", i), got[i], want[i])
	}
	if got, want := posOf(f.state(t, g.ID, alice)).Last, int64(6); got != want {
		t.Errorf("LastSeq = %d; want %d", got, want)
	}
	if got, want := seqs(f.messages(t, d.ID, chat.HistoryQuery{Limit: 100})), []int64{1, 2}; !slices.Equal(got, want) {
		t.Errorf("direct seqs = %v; want %v", got, want)
	}
}

func testAppendText(t *testing.T, f *fixture) {
	alice := f.user(t, "alice")
	g := f.group(t, "gophers", alice)
	for i, text := range []string{
		"",
		"héllo, 世界 👋",
		"line one\nline two\ttab\r\n",
		`"double" 'single' \ back; DROP TABLE messages; --`,
		"nul \x00 inside",
		strings.Repeat("é", chat.DefaultMaxText/2),
	} {
		m := f.msg(g.ID, alice, text)
		m.Media = nil
		a := f.append(t, m)[0]
		if a.Err != nil {
			t.Errorf("text %d: %v", i, a.Err)
			continue
		}
		got := f.messages(t, g.ID, chat.HistoryQuery{After: a.Result.Seq - 1, Limit: 1})
		if len(got) != 1 || got[0].Text != text {
			t.Errorf("text %d: stored seqs %v; want seq %d with text %q", i, seqs(got), a.Result.Seq, text)
		}
	}
}

func testAppendIdempotent(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	g := f.group(t, "gophers", alice, bob)
	other := f.group(t, "other", alice)
	orig := f.msg(g.ID, alice, "original")
	orig.ClientMsgID = "retry-me"
	first := f.append(t, orig)[0]
	if first.Err != nil || first.Duplicate {
		t.Fatalf("first append: err %v, duplicate %v", first.Err, first.Duplicate)
	}
	f.send(t, g.ID, bob, "in between")

	for _, tc := range []struct {
		name string
		conv string
	}{
		{"same conversation", g.ID},
		{"another conversation", other.ID},
	} {
		retry := f.msg(tc.conv, alice, "retried with other text")
		retry.ClientMsgID = "retry-me"
		a := f.append(t, retry)[0]
		if a.Err != nil || !a.Duplicate {
			t.Errorf("%s: retry err %v, duplicate %v; want nil, true", tc.name, a.Err, a.Duplicate)
		}
		sameMessage(t, tc.name+": retry Result", a.Result, first.Result)
	}
	if got, want := posOf(f.state(t, g.ID, alice)).Last, int64(2); got != want {
		t.Errorf("LastSeq after retries = %d; want %d", got, want)
	}
	if got := f.messages(t, other.ID, chat.HistoryQuery{Limit: 10}); len(got) != 0 {
		t.Errorf("other conversation holds seqs %v; want none", seqs(got))
	}
	// The same client id from another sender is another message.
	same := f.msg(g.ID, bob, "bob's own")
	same.ClientMsgID = "retry-me"
	a := f.append(t, same)[0]
	if a.Err != nil || a.Duplicate || a.Result.Seq != 3 {
		t.Errorf("bob with alice's client id: err %v, duplicate %v, seq %d; want stored as seq 3", a.Err, a.Duplicate, a.Result.Seq)
	}
}

func testAppendIdempotentInBatch(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	g := f.group(t, "gophers", alice, bob)
	m1 := f.msg(g.ID, alice, "first")
	m1.ClientMsgID = "dup"
	m2 := f.msg(g.ID, alice, "second copy")
	m2.ClientMsgID = "dup"
	m3 := f.msg(g.ID, bob, "bob")
	m3.ClientMsgID = "dup"
	batch := f.append(t, m1, f.msg(g.ID, bob, "other"), m2, m3)
	for i, a := range batch {
		if a.Err != nil {
			t.Fatalf("batch[%d].Err = %v", i, a.Err)
		}
	}
	if batch[0].Duplicate || batch[1].Duplicate || !batch[2].Duplicate || batch[3].Duplicate {
		t.Errorf("Duplicate = %v %v %v %v; want false false true false",
			batch[0].Duplicate, batch[1].Duplicate, batch[2].Duplicate, batch[3].Duplicate)
	}
	sameMessage(t, "in-batch duplicate Result", batch[2].Result, batch[0].Result)
	if got, want := []int64{batch[0].Result.Seq, batch[1].Result.Seq, batch[3].Result.Seq}, []int64{1, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("seqs = %v; want %v", got, want)
	}
	if got, want := seqs(f.messages(t, g.ID, chat.HistoryQuery{Limit: 10})), []int64{1, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("stored seqs = %v; want %v", got, want)
	}
}

func testAppendEmptyClientMsgID(t *testing.T, f *fixture) {
	alice := f.user(t, "alice")
	g := f.group(t, "gophers", alice)
	m1, m2, m3 := f.msg(g.ID, alice, "a"), f.msg(g.ID, alice, "b"), f.msg(g.ID, alice, "c")
	m1.ClientMsgID, m2.ClientMsgID, m3.ClientMsgID = "", "", ""
	batch := f.append(t, m1, m2)
	batch = append(batch, f.append(t, m3)...)
	for i, a := range batch {
		if a.Err != nil || a.Duplicate || a.Result.Seq != int64(i+1) {
			t.Errorf("append %d: err %v, duplicate %v, seq %d; want stored as seq %d", i, a.Err, a.Duplicate, a.Result.Seq, i+1)
		}
	}
}

func testAppendForbidden(t *testing.T, f *fixture) {
	alice, bob, carol := f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol")
	g := f.group(t, "gophers", alice, bob)
	d := f.direct(t, alice, bob)
	batch := f.append(t,
		f.msg(g.ID, alice, "ok 1"),
		f.msg(g.ID, carol, "not a member"),
		f.msg(d.ID, carol, "not a party"),
		f.msg("no-such-conversation", alice, "nowhere"),
		f.msg(g.ID, bob, "ok 2"),
		f.msg(d.ID, bob, "ok direct"),
	)
	for _, tc := range []struct {
		i     int
		codes []string
		seq   int64
	}{
		{0, nil, 1},
		{1, []string{chat.EForbidden}, 0},
		{2, []string{chat.EForbidden}, 0},
		{3, []string{chat.ENotFound, chat.EForbidden}, 0},
		{4, nil, 2},
		{5, nil, 1},
	} {
		a := batch[tc.i]
		code := chat.ErrorCode(a.Err)
		switch {
		case tc.codes == nil && (a.Err != nil || a.Duplicate || a.Result.Seq != tc.seq):
			t.Errorf("batch[%d] (%q): err %v, duplicate %v, seq %d; want stored as seq %d", tc.i, a.Message.Text, a.Err, a.Duplicate, a.Result.Seq, tc.seq)
		case tc.codes != nil && !slices.Contains(tc.codes, code):
			t.Errorf("batch[%d] (%q): err %v (code %q); want a code in %q", tc.i, a.Message.Text, a.Err, code, tc.codes)
		}
	}
	if got, want := seqs(f.messages(t, g.ID, chat.HistoryQuery{Limit: 10})), []int64{1, 2}; !slices.Equal(got, want) {
		t.Errorf("group seqs = %v; want %v", got, want)
	}
	// A refused message's client id stays free.
	retry := batch[1].Message
	f.join(t, g.ID, carol)
	a := f.append(t, retry)[0]
	if a.Err != nil || a.Duplicate || a.Result.Seq != 3 {
		t.Errorf("retry after joining: err %v, duplicate %v, seq %d; want stored as seq 3", a.Err, a.Duplicate, a.Result.Seq)
	}
}

func testAppendMovesSenderPositions(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	g := f.group(t, "gophers", alice, bob)
	f.sendN(t, g.ID, alice, 3)
	if got, want := posOf(f.state(t, g.ID, alice)), (positions{3, 3, 3}); got != want {
		t.Errorf("sender = %+v; want %+v", got, want)
	}
	if got, want := posOf(f.state(t, g.ID, bob)), (positions{3, 0, 0}); got != want {
		t.Errorf("other member = %+v; want %+v", got, want)
	}
	if _, _, err := f.s.AdvanceReceipt(f.ctx, bob.ID, g.ID, chat.StatusDelivered, 1); err != nil {
		t.Fatalf("AdvanceReceipt: %v", err)
	}
	// Bob's own message marks everything before it as seen by him.
	f.append(t, f.msg(g.ID, alice, "x"), f.msg(g.ID, bob, "y"), f.msg(g.ID, alice, "z"))
	if got, want := posOf(f.state(t, g.ID, bob)), (positions{6, 5, 5}); got != want {
		t.Errorf("bob after sending seq 5 = %+v; want %+v", got, want)
	}
	if got, want := posOf(f.state(t, g.ID, alice)), (positions{6, 6, 6}); got != want {
		t.Errorf("alice after sending seq 6 = %+v; want %+v", got, want)
	}
}

func testAppendConcurrent(t *testing.T, f *fixture) {
	const (
		workers = 8
		calls   = 20
		perCall = 5
	)
	users := []chat.User{f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol")}
	convs := []chat.Conversation{
		f.group(t, "one", users[0], users[1], users[2]),
		f.group(t, "two", users[0], users[1], users[2]),
		f.direct(t, users[0], users[1]),
	}
	type key struct {
		conv string
		seq  int64
	}
	var (
		mu   sync.Mutex
		seen = map[key]string{} // -> message id
		wg   sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range calls {
				batch := make([]*chat.Append, perCall)
				for i := range batch {
					conv := convs[(w+c+i)%len(convs)]
					from := users[(w+i)%2] // alice and bob are in all three
					batch[i] = &chat.Append{Message: f.msg(conv.ID, from, fmt.Sprintf("w%d c%d i%d", w, c, i))}
				}
				if err := f.s.AppendMessages(f.ctx, batch); err != nil {
					t.Errorf("AppendMessages: %v", err)
					return
				}
				mu.Lock()
				for _, a := range batch {
					if a.Err != nil || a.Duplicate {
						t.Errorf("append: err %v, duplicate %v", a.Err, a.Duplicate)
						continue
					}
					k := key{a.Result.ConversationID, a.Result.Seq}
					if prev, dup := seen[k]; dup {
						t.Errorf("seq %d of %s given to %s and %s", k.seq, k.conv, prev, a.Result.ID)
					}
					seen[k] = a.Result.ID
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	total := 0
	for _, c := range convs {
		st := f.state(t, c.ID, users[0])
		for seq := int64(1); seq <= st.LastSeq; seq++ {
			if _, ok := seen[key{c.ID, seq}]; !ok {
				t.Errorf("%s: seq %d of 1..%d was never returned", c.ID, seq, st.LastSeq)
			}
		}
		stored := f.history(t, c.ID)
		if got, want := seqs(stored), seqRange(1, st.LastSeq); !slices.Equal(got, want) {
			t.Errorf("%s: stored seqs %v; want 1..%d", c.ID, got, st.LastSeq)
		}
		for _, m := range stored {
			if id := seen[key{c.ID, m.Seq}]; id != m.ID {
				t.Errorf("%s seq %d: stored id %s; Result said %s", c.ID, m.Seq, m.ID, id)
			}
		}
		total += int(st.LastSeq)
	}
	if want := workers * calls * perCall; total != want || len(seen) != want {
		t.Errorf("stored %d messages, %d distinct (conversation, seq); want %d", total, len(seen), want)
	}
}

func testMedia(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	d := f.direct(t, alice, bob)
	m := f.msg(d.ID, alice, "")
	m.Media = &chat.Media{
		ID:          f.id("media"),
		ContentType: "image/png",
		Size:        123_456,
		Width:       640,
		Height:      480,
		SHA256:      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		UploaderID:  alice.ID,
		CreatedAt:   f.ts(),
	}
	plain := f.msg(d.ID, bob, "no media")
	batch := f.append(t, m, plain)
	want := m
	want.Seq = 1
	sameMessage(t, "Result with media", batch[0].Result, want)
	if batch[1].Result.Media != nil {
		t.Errorf("Result without media has Media %+v; want nil", *batch[1].Result.Media)
	}
	got := f.messages(t, d.ID, chat.HistoryQuery{Limit: 10})
	if len(got) != 2 {
		t.Fatalf("Messages = seqs %v; want [1 2]", seqs(got))
	}
	sameMessage(t, "Messages[0] with media", got[0], want)
	if got[1].Media != nil {
		t.Errorf("Messages[1].Media = %+v; want nil", *got[1].Media)
	}
	retry := m
	retry.ID, retry.Media = f.id("m"), nil
	dup := f.append(t, retry)[0]
	if !dup.Duplicate {
		t.Errorf("retry Duplicate = false; want true")
	}
	sameMessage(t, "duplicate Result with media", dup.Result, want)
}

func testMessages(t *testing.T, f *fixture) {
	alice := f.user(t, "alice")
	g := f.group(t, "gophers", alice)
	other := f.group(t, "other", alice)
	f.sendN(t, other.ID, alice, 3) // must not show up
	all := f.sendN(t, g.ID, alice, 20)
	for _, tc := range []struct {
		q    chat.HistoryQuery
		want []int64
	}{
		{chat.HistoryQuery{Limit: 5}, seqRange(16, 20)},
		{chat.HistoryQuery{Limit: 100}, seqRange(1, 20)},
		{chat.HistoryQuery{After: 5, Limit: 3}, seqRange(6, 8)},
		{chat.HistoryQuery{After: 18, Limit: 10}, seqRange(19, 20)},
		{chat.HistoryQuery{After: 20, Limit: 10}, nil},
		{chat.HistoryQuery{After: 500, Limit: 10}, nil},
		{chat.HistoryQuery{Before: 10, Limit: 3}, seqRange(7, 9)},
		{chat.HistoryQuery{Before: 5, Limit: 10}, seqRange(1, 4)},
		{chat.HistoryQuery{Before: 1, Limit: 10}, nil},
		{chat.HistoryQuery{Before: 21, Limit: 2}, seqRange(19, 20)},
		{chat.HistoryQuery{Before: 500, Limit: 2}, seqRange(19, 20)},
		{chat.HistoryQuery{After: 0, Limit: 1}, seqRange(20, 20)},
		{chat.HistoryQuery{After: 0, Limit: 3, Forward: true}, seqRange(1, 3)},
		{chat.HistoryQuery{After: 0, Limit: 100, Forward: true}, seqRange(1, 20)},
		{chat.HistoryQuery{After: 18, Limit: 10, Forward: true}, seqRange(19, 20)},
		{chat.HistoryQuery{After: 20, Limit: 10, Forward: true}, nil},
	} {
		got := f.messages(t, g.ID, tc.q)
		if !slices.Equal(seqs(got), tc.want) {
			t.Errorf("Messages(%+v) = seqs %v; want %v", tc.q, seqs(got), tc.want)
			continue
		}
		for _, m := range got {
			sameMessage(t, fmt.Sprintf("Messages(%+v) seq %d", tc.q, m.Seq), m, all[m.Seq-1])
		}
	}
	if got := f.messages(t, f.group(t, "empty", alice).ID, chat.HistoryQuery{Limit: 10}); len(got) != 0 {
		t.Errorf("Messages(empty conversation) = seqs %v; want none", seqs(got))
	}
}

func testMessagesLarge(t *testing.T, f *fixture) {
	const n = 5000
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	g := f.group(t, "big", alice, bob)
	f.sendN(t, g.ID, alice, n/2)
	f.sendN(t, g.ID, bob, n/2)
	if got := posOf(f.state(t, g.ID, alice)).Last; got != n {
		t.Fatalf("LastSeq = %d; want %d", got, n)
	}
	var backward []int64
	for before, pages := int64(0), 0; pages < n; pages++ {
		page := f.messages(t, g.ID, chat.HistoryQuery{Before: before, Limit: chat.MaxHistoryLimit})
		if len(page) == 0 {
			break
		}
		if len(page) > chat.MaxHistoryLimit {
			t.Fatalf("page of %d; limit %d", len(page), chat.MaxHistoryLimit)
		}
		backward = append(seqs(page), backward...)
		before = page[0].Seq
		if before == 1 {
			break
		}
	}
	if want := seqRange(1, n); !slices.Equal(backward, want) {
		t.Errorf("paging backward: %d messages, first %v; want 1..%d", len(backward), backward[:min(5, len(backward))], n)
	}
	// Forward from After 0 pages from seq 1.
	var forward []int64
	for after, pages := int64(0), 0; pages < n; pages++ {
		page := f.messages(t, g.ID, chat.HistoryQuery{After: after, Limit: 173, Forward: true})
		if len(page) == 0 {
			break
		}
		forward = append(forward, seqs(page)...)
		after = page[len(page)-1].Seq
	}
	if want := seqRange(1, n); !slices.Equal(forward, want) {
		t.Errorf("paging forward: %d messages; want 1..%d", len(forward), n)
	}
	page := f.messages(t, g.ID, chat.HistoryQuery{After: 2499, Limit: 2})
	if len(page) != 2 || page[0].Sender != "alice" || page[1].Sender != "bob" {
		t.Errorf("seqs 2500, 2501 from %+v; want alice then bob", page)
	}
}

// testAppendPrevTS: each appended message carries when its conversation
// was last active before it, within a batch and across batches.
func testAppendPrevTS(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	c := f.direct(t, alice, bob)
	first := f.send(t, c.ID, alice, "one")
	m2, m3 := f.msg(c.ID, bob, "two"), f.msg(c.ID, alice, "three")
	b := f.append(t, m2, m3)
	if b[0].PrevTS != first.TS {
		t.Errorf("second message's PrevTS %d; want the first's ts %d", b[0].PrevTS, first.TS)
	}
	if b[1].PrevTS != m2.TS {
		t.Errorf("third message's PrevTS %d; want the second's ts %d", b[1].PrevTS, m2.TS)
	}
}
