package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// ---- receipts

func testAdvanceReceipt(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	g := f.group(t, "gophers", alice, bob)
	f.sendN(t, g.ID, alice, 5)
	for _, step := range []struct {
		status  string
		seq     int64
		changed bool
		want    positions
	}{
		{chat.StatusDelivered, 2, true, positions{5, 2, 0}},
		{chat.StatusDelivered, 1, false, positions{5, 2, 0}},
		{chat.StatusDelivered, 2, false, positions{5, 2, 0}},
		{chat.StatusRead, 0, false, positions{5, 2, 0}},
		{chat.StatusRead, 1, true, positions{5, 2, 1}},
		{chat.StatusRead, 3, true, positions{5, 3, 3}}, // read moves delivered too
		{chat.StatusDelivered, 3, false, positions{5, 3, 3}},
		{chat.StatusRead, 2, false, positions{5, 3, 3}},
		{chat.StatusDelivered, 5, true, positions{5, 5, 3}},
		{chat.StatusRead, 4, true, positions{5, 5, 4}},
		{chat.StatusRead, 5, true, positions{5, 5, 5}},
		{chat.StatusRead, 5, false, positions{5, 5, 5}},
	} {
		st, changed, err := f.s.AdvanceReceipt(f.ctx, bob.ID, g.ID, step.status, step.seq)
		if err != nil {
			t.Fatalf("AdvanceReceipt(%s %d): %v", step.status, step.seq, err)
		}
		if changed != step.changed || posOf(st) != step.want {
			t.Errorf("AdvanceReceipt(%s %d) = %+v, changed %v; want %+v, changed %v", step.status, step.seq, posOf(st), changed, step.want, step.changed)
		}
		if st.Conversation != g {
			t.Errorf("AdvanceReceipt(%s %d).Conversation = %+v; want %+v", step.status, step.seq, st.Conversation, g)
		}
		if got := posOf(f.state(t, g.ID, bob)); got != step.want {
			t.Errorf("ConversationState after %s %d = %+v; want %+v", step.status, step.seq, got, step.want)
		}
	}
	if got, want := posOf(f.state(t, g.ID, alice)), (positions{5, 5, 5}); got != want {
		t.Errorf("other member = %+v; want %+v, untouched", got, want)
	}
	d := f.direct(t, alice, bob)
	f.sendN(t, d.ID, alice, 2)
	st, changed, err := f.s.AdvanceReceipt(f.ctx, bob.ID, d.ID, chat.StatusRead, 2)
	if err != nil || !changed || st.Peer != "alice" || posOf(st) != (positions{2, 2, 2}) {
		t.Errorf("AdvanceReceipt(direct) = %+v, %v, %v; want peer alice, positions {2 2 2}, changed", st, changed, err)
	}
}

func testAdvanceReceiptErrors(t *testing.T, f *fixture) {
	alice, bob, carol := f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol")
	g := f.group(t, "gophers", alice, bob)
	f.sendN(t, g.ID, alice, 3)
	for _, tc := range []struct {
		name   string
		user   string
		conv   string
		status string
		seq    int64
		code   string
	}{
		{"beyond last seq", bob.ID, g.ID, chat.StatusDelivered, 4, chat.EBadRequest},
		{"read beyond last seq", bob.ID, g.ID, chat.StatusRead, 100, chat.EBadRequest},
		{"unknown status", bob.ID, g.ID, "seen", 1, chat.EBadRequest},
		{"non-member", carol.ID, g.ID, chat.StatusRead, 1, chat.EForbidden},
		{"unknown conversation", bob.ID, "no-such-conversation", chat.StatusRead, 1, chat.ENotFound},
	} {
		_, changed, err := f.s.AdvanceReceipt(f.ctx, tc.user, tc.conv, tc.status, tc.seq)
		wantCode(t, "AdvanceReceipt "+tc.name, err, tc.code)
		if changed {
			t.Errorf("AdvanceReceipt %s: changed = true; want false", tc.name)
		}
	}
	if got, want := posOf(f.state(t, g.ID, bob)), (positions{3, 0, 0}); got != want {
		t.Errorf("positions after refused receipts = %+v; want %+v", got, want)
	}
}

func testAdvanceReceiptConcurrent(t *testing.T, f *fixture) {
	const readers = 6
	alice := f.user(t, "alice")
	g := f.group(t, "gophers", alice)
	users := make([]chat.User, readers)
	for i := range users {
		users[i] = f.user(t, fmt.Sprintf("reader%d", i))
		f.join(t, g.ID, users[i])
	}
	f.sendN(t, g.ID, alice, 50)
	// Each reader's receipts arrive out of order from several goroutines;
	// the positions must end at the highest, whatever the order.
	var wg sync.WaitGroup
	for i, u := range users {
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range 25 {
					seq := int64((k*7+w*13+i)%50 + 1)
					status := chat.StatusDelivered
					if k%3 == 0 {
						status = chat.StatusRead
					}
					st, _, err := f.s.AdvanceReceipt(f.ctx, u.ID, g.ID, status, seq)
					if err != nil {
						t.Errorf("AdvanceReceipt: %v", err)
						return
					}
					if st.DeliveredSeq < seq || st.ReadSeq > st.DeliveredSeq {
						t.Errorf("after %s %d: %+v; want delivered >= %d and read <= delivered", status, seq, posOf(st), seq)
					}
				}
			}()
		}
	}
	wg.Wait()
	for i, u := range users {
		var read, delivered int64
		for w := range 4 {
			for k := range 25 {
				seq := int64((k*7+w*13+i)%50 + 1)
				delivered = max(delivered, seq)
				if k%3 == 0 {
					read = max(read, seq)
				}
			}
		}
		if got, want := posOf(f.state(t, g.ID, u)), (positions{50, delivered, read}); got != want {
			t.Errorf("%s: %+v; want %+v", u.Username, got, want)
		}
	}
}

func testSenders(t *testing.T, f *fixture) {
	alice, bob, carol := f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol")
	g := f.group(t, "gophers", alice, bob, carol)
	other := f.group(t, "others", alice, carol)
	// seq 1-2 alice, 3 bob, 4-5 alice, 6 carol; carol also writes elsewhere.
	f.sendN(t, g.ID, alice, 2)
	f.send(t, g.ID, bob, "3")
	f.sendN(t, g.ID, alice, 2)
	f.send(t, g.ID, carol, "6")
	f.send(t, other.ID, carol, "elsewhere")
	for _, tc := range []struct {
		name        string
		conv        string
		after, upTo int64
		want        []string
	}{
		{"one message", g.ID, 2, 3, []string{bob.ID}},
		{"one sender twice", g.ID, 3, 5, []string{alice.ID}},
		{"all", g.ID, 0, 6, []string{alice.ID, bob.ID, carol.ID}},
		{"past the end", g.ID, 5, 100, []string{carol.ID}},
		{"empty range", g.ID, 4, 4, []string{}},
		{"no such conversation", "nope", 0, 10, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.s.Senders(f.ctx, tc.conv, tc.after, tc.upTo)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("Senders(%d, %d] = %v; want %v", tc.after, tc.upTo, got, want)
			}
		})
	}
}
