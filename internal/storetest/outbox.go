package storetest

import (
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// OutboxGrace is the push grace, in ms, that RunPushOutbox's opener must
// open its stores with (sqlite.WithPushOutbox, postgres.WithPushOutbox).
const OutboxGrace = 1000

// RunPushOutbox runs the push outbox suite against stores that open
// returns with the outbox on, due OutboxGrace after each message. (Run
// checks that a store opened without it writes no entry.)
func RunPushOutbox(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"Append", testOutboxAppend},
		{"AppendLargeBatch", testOutboxAppendLargeBatch},
		{"HandOff", testOutboxHandOff},
		{"HandOffConcurrent", testOutboxHandOffConcurrent},
		{"ClaimConcurrent", testOutboxClaimConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newFixture(t, open))
		})
	}
}

// outboxIDs claims every due entry at now and returns their message ids
// sorted, failing on a wrong conversation or due time.
func outboxIDs(t *testing.T, f *fixture, now int64, want map[string]chat.Message) []string {
	t.Helper()
	es, err := f.push(t).ClaimOutbox(f.ctx, now, 1000, 100)
	if err != nil {
		t.Fatalf("ClaimOutbox(%d): %v", now, err)
	}
	var ids []string
	for _, e := range es {
		ids = append(ids, e.MessageID)
		if m, ok := want[e.MessageID]; !ok || e.ConversationID != m.ConversationID || e.DueAt != m.TS+OutboxGrace {
			t.Errorf("entry %+v; want one of a stored message, due %d ms after it", e, OutboxGrace)
		}
	}
	sort.Strings(ids)
	return ids
}

// testOutboxAppend: each newly stored message writes one entry, due
// OutboxGrace after it; a retry's duplicate (in an earlier batch or the
// same one) and a refused message write none. Entries are claimed once
// due, not again while leased, again once the lease runs out.
func testOutboxAppend(t *testing.T, f *fixture) {
	ps := f.push(t)
	alice, bob, carol := f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol")
	d := f.direct(t, alice, bob)
	first := f.send(t, d.ID, alice, "one")
	retry := f.msg(d.ID, alice, "one again")
	retry.ClientMsgID = first.ClientMsgID
	second := f.msg(d.ID, bob, "two")
	twice := second
	twice.ID = f.id("m")
	batch := f.append(t, retry, second, twice, f.msg(d.ID, carol, "not a member"))
	if !batch[0].Duplicate || batch[1].Err != nil || !batch[2].Duplicate || batch[3].Err == nil {
		t.Fatalf("batch results: %+v", batch)
	}
	stored := map[string]chat.Message{first.ID: first, second.ID: batch[1].Result}
	if n, err := ps.PushOutboxDepth(f.ctx); n != 2 || err != nil {
		t.Fatalf("PushOutboxDepth = %d, %v; want 2 (the two new messages)", n, err)
	}
	if ids := outboxIDs(t, f, first.TS+OutboxGrace-1, stored); len(ids) != 0 {
		t.Errorf("claimed before due: %v", ids)
	}
	all := []string{first.ID, second.ID}
	sort.Strings(all)
	last := batch[1].Result.TS + OutboxGrace
	if ids := outboxIDs(t, f, last, stored); fmt.Sprint(ids) != fmt.Sprint(all) {
		t.Errorf("claimed %v; want %v", ids, all)
	}
	if ids := outboxIDs(t, f, last+999, stored); len(ids) != 0 {
		t.Errorf("claimed while leased: %v", ids)
	}
	es, err := ps.ClaimOutbox(f.ctx, last+1000, 1000, 1)
	if err != nil || len(es) != 1 || es[0].Attempts != 2 {
		t.Errorf("ClaimOutbox after the lease (limit 1) = %+v, %v; want one entry on its 2nd attempt", es, err)
	}
}

// testOutboxAppendLargeBatch: a batch larger than a store may insert in
// one statement still writes one entry per message.
func testOutboxAppendLargeBatch(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	d := f.direct(t, alice, bob)
	msgs := make([]chat.Message, 1200)
	for i := range msgs {
		msgs[i] = f.msg(d.ID, alice, fmt.Sprint("m", i))
	}
	for _, a := range f.append(t, msgs...) {
		if a.Err != nil || a.Duplicate {
			t.Fatalf("append: %v, duplicate %v", a.Err, a.Duplicate)
		}
	}
	if n, err := f.push(t).PushOutboxDepth(f.ctx); n != len(msgs) || err != nil {
		t.Errorf("PushOutboxDepth = %d, %v; want %d", n, err, len(msgs))
	}
}

// testOutboxHandOff: a hand-off queues the batch's jobs and removes the
// entry at once; a second hand-off of the same message (a claimer whose
// lease ran out) queues nothing, even after the first's jobs finished.
func testOutboxHandOff(t *testing.T, f *fixture) {
	ps := f.push(t)
	alice, bob, carol := f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol")
	f.subscribe(t, bob, "https://push.example/b1")
	f.subscribe(t, bob, "https://push.example/b2")
	f.subscribe(t, carol, "https://push.example/c1")
	g := f.group(t, "team", alice, bob, carol)
	m := f.send(t, g.ID, alice, "hello")
	quiet := f.send(t, g.ID, alice, "nobody away")
	b := chat.PushBatch{MessageID: m.ID, UserIDs: []string{bob.ID, carol.ID}, Payload: []byte(`{"seq":1}`), Topic: "t", DueAt: m.TS + OutboxGrace}
	if n, handed, err := ps.HandOffPushes(f.ctx, b); n != 3 || !handed || err != nil {
		t.Fatalf("HandOffPushes = %d, %v, %v; want 3 jobs, handed", n, handed, err)
	}
	if n, handed, err := ps.HandOffPushes(f.ctx, chat.PushBatch{MessageID: quiet.ID}); n != 0 || !handed || err != nil {
		t.Fatalf("HandOffPushes(no users) = %d, %v, %v; want 0 jobs, handed", n, handed, err)
	}
	if n, err := ps.PushOutboxDepth(f.ctx); n != 0 || err != nil {
		t.Errorf("PushOutboxDepth after the hand-offs = %d, %v; want 0", n, err)
	}
	jobs, err := ps.ClaimPushes(f.ctx, b.DueAt, 1000, 10)
	if err != nil || len(jobs) != 3 {
		t.Fatalf("ClaimPushes = %d jobs, %v; want 3", len(jobs), err)
	}
	for _, j := range jobs {
		if j.MessageID != m.ID || string(j.Payload) != `{"seq":1}` || j.Topic != "t" || j.DueAt != b.DueAt {
			t.Errorf("job %+v", j)
		}
		if err := ps.FinishPush(f.ctx, j.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n, handed, err := ps.HandOffPushes(f.ctx, b); n != 0 || handed || err != nil {
		t.Errorf("HandOffPushes again = %d, %v, %v; want nothing queued, not handed", n, handed, err)
	}
	if n, err := ps.PushQueueDepth(f.ctx); n != 0 || err != nil {
		t.Errorf("PushQueueDepth = %d, %v; want 0: the pushes went once", n, err)
	}
}

// testOutboxHandOffConcurrent: claimers racing to hand off the same
// entries queue each message's jobs once.
func testOutboxHandOffConcurrent(t *testing.T, f *fixture) {
	ps := f.push(t)
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	f.subscribe(t, bob, "https://push.example/b")
	d := f.direct(t, alice, bob)
	ms := f.sendN(t, d.ID, alice, 20)
	var wg sync.WaitGroup
	var mu sync.Mutex
	handed := map[string]int{}
	queued := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, m := range ms {
				n, ok, err := ps.HandOffPushes(f.ctx, chat.PushBatch{MessageID: m.ID, UserIDs: []string{bob.ID}, Payload: []byte("{}"), DueAt: 1})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				queued += n
				if ok {
					handed[m.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(handed) != len(ms) || queued != len(ms) {
		t.Errorf("%d messages handed off, %d jobs queued; want %d of each", len(handed), queued, len(ms))
	}
	for id, n := range handed {
		if n != 1 {
			t.Errorf("message %s handed off %d times", id, n)
		}
	}
}

// testOutboxClaimConcurrent: concurrent claimers never get the same entry.
func testOutboxClaimConcurrent(t *testing.T, f *fixture) {
	ps := f.push(t)
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	d := f.direct(t, alice, bob)
	ms := f.sendN(t, d.ID, alice, 50)
	now := ms[len(ms)-1].TS + OutboxGrace
	seen := claimConcurrently(t, func() ([]string, error) {
		es, err := ps.ClaimOutbox(f.ctx, now, 1_000_000, 3)
		ids := make([]string, len(es))
		for i, e := range es {
			ids[i] = e.MessageID
		}
		return ids, err
	})
	if len(seen) != len(ms) {
		t.Errorf("%d distinct entries claimed; want %d", len(seen), len(ms))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("entry %s claimed %d times", id, n)
		}
	}
}

// testPushOutboxOff: a store opened without the outbox writes no entry.
func testPushOutboxOff(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	f.send(t, f.direct(t, alice, bob).ID, alice, "hi")
	if n, err := f.push(t).PushOutboxDepth(f.ctx); n != 0 || err != nil {
		t.Errorf("PushOutboxDepth with push off = %d, %v; want 0", n, err)
	}
}
