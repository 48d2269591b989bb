package main

// The failover tests' checks of the store: every acknowledged message
// stored once, seqs gapless, every client caught up. They read one database
// or each shard of a sharded store.

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// checkStore checks, from the database, that every acknowledged message is
// stored once with the acked id and seq, that nothing else is stored, and
// that every conversation is numbered 1..N without a gap.
func checkStore(t testing.TB, db *pgxpool.Pool, users []*foUser) {
	t.Helper()
	checkStores(t, []*pgxpool.Pool{db}, users)
}

// checkStores is checkStore over the databases that hold the messages (the
// shards of a sharded store): each acked message is stored once in all of
// them, and each conversation's messages are in one database. It returns,
// per conversation, the index in dbs of the database that holds it.
func checkStores(t testing.TB, dbs []*pgxpool.Pool, users []*foUser) map[string]int {
	t.Helper()
	ctx := ctxT(t)
	type row struct {
		conv, id, sender, cmid string
		seq                    int64
	}
	// Only these users' messages: a database may hold earlier runs'.
	var names []string
	for _, u := range users {
		names = append(names, u.name)
	}
	byID := map[string][]row{}
	byCmid := map[string][]row{}
	seqs := map[string][]int64{}
	where := map[string]int{}
	for i, db := range dbs {
		rows, err := db.Query(ctx, `SELECT m.conversation_id, m.seq, m.id, u.username, m.client_msg_id
			FROM messages m JOIN users u ON u.id = m.sender_id WHERE u.username = ANY($1)`, names)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.conv, &r.seq, &r.id, &r.sender, &r.cmid); err != nil {
				t.Fatal(err)
			}
			byID[r.id] = append(byID[r.id], r)
			byCmid[r.sender+"/"+r.cmid] = append(byCmid[r.sender+"/"+r.cmid], r)
			seqs[r.conv] = append(seqs[r.conv], r.seq)
			if w, ok := where[r.conv]; ok && w != i {
				t.Errorf("conversation %s has messages in database %d and %d", r.conv, w, i)
			}
			where[r.conv] = i
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	acked := 0
	for _, u := range users {
		u.mu.Lock()
		for _, b := range u.badAcks {
			t.Errorf("%s: a retry returned another message: %s", u.name, b)
		}
		for _, f := range u.fatal {
			t.Errorf("%s: %s", u.name, f)
		}
		u.mu.Unlock()
		for cmid, m := range u.ackedMessages() {
			acked++
			if got := byID[m.ID]; len(got) != 1 || got[0].seq != m.Seq || got[0].conv != m.Conversation {
				t.Errorf("acked message %s (%s seq %d) is stored as %+v", m.ID, m.Conversation, m.Seq, got)
			}
			if got := byCmid[u.name+"/"+cmid]; len(got) != 1 {
				t.Errorf("(%s, %s) is stored %d times", u.name, cmid, len(got))
			}
		}
	}
	if len(byID) != acked {
		t.Errorf("%d messages stored, %d acknowledged", len(byID), acked)
	}
	for conv, s := range seqs {
		slices.Sort(s)
		for i, seq := range s {
			if seq != int64(i+1) {
				t.Errorf("conversation %s: seqs are not 1..%d: %v", conv, len(s), s)
				break
			}
		}
	}
	for i, db := range dbs {
		var bad int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM conversations c
			WHERE c.last_seq <> (SELECT coalesce(max(seq), 0) FROM messages m WHERE m.conversation_id = c.id)`).Scan(&bad); err != nil {
			t.Fatal(err)
		}
		if bad != 0 {
			t.Errorf("database %d: %d conversations have a last_seq other than their highest seq", i, bad)
		}
	}
	t.Logf("store: %d messages in %d conversations, all acked once, gapless", len(byID), len(seqs))
	return where
}

// lastSeqs returns, per user, the last_seq of each conversation they are a
// member of, from the databases that hold the conversations.
func lastSeqs(t testing.TB, dbs ...*pgxpool.Pool) map[string]map[string]int64 {
	t.Helper()
	out := map[string]map[string]int64{}
	for _, db := range dbs {
		rows, err := db.Query(ctxT(t), `SELECT u.username, c.id, c.last_seq
			FROM members mb JOIN users u ON u.id = mb.user_id JOIN conversations c ON c.id = mb.conversation_id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var user, conv string
			var last int64
			if err := rows.Scan(&user, &conv, &last); err != nil {
				t.Fatal(err)
			}
			if out[user] == nil {
				out[user] = map[string]int64{}
			}
			out[user][conv] = last
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// waitCaughtUp waits until every user's Tracker holds every seq of each of
// their conversations, with nothing held above a hole.
func waitCaughtUp(t testing.TB, db *pgxpool.Pool, users []*foUser) {
	t.Helper()
	waitCaughtUpOn(t, []*pgxpool.Pool{db}, users)
}

// waitCaughtUpOn is waitCaughtUp with the conversations in dbs (the shards
// of a sharded store).
func waitCaughtUpOn(t testing.TB, dbs []*pgxpool.Pool, users []*foUser) {
	t.Helper()
	want := lastSeqs(t, dbs...)
	behind := func(u *foUser) string {
		for _, conv := range slices.Sorted(maps.Keys(want[u.name])) {
			if got, last := u.trk.Cursor(conv), want[u.name][conv]; got != last {
				return fmt.Sprintf("%s: conversation %s at %d of %d", u.name, conv, got, last)
			}
		}
		if h := u.trk.Stats().Held; h != 0 {
			return fmt.Sprintf("%s: %d seqs held above a hole", u.name, h)
		}
		return ""
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range users {
		for behind(u) != "" && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if b := behind(u); b != "" {
			t.Errorf("not caught up: %s", b)
		}
	}
}

// finalSync has every client sync once from its cursors, as a client does
// after an outage of the cluster link.
func finalSync(t testing.TB, users []*foUser) {
	t.Helper()
	for _, u := range users {
		if _, err := u.current().Sync(ctxT(t), u.trk.Cursors()); err != nil {
			t.Fatalf("%s: final sync: %v", u.name, err)
		}
	}
}

// wantNoHoles checks that no client holds a seq above a hole or got a
// message twice.
func wantNoHoles(t testing.TB, users []*foUser) {
	t.Helper()
	for _, u := range users {
		if s := u.trk.Stats(); s.Held != 0 || s.Duplicates != 0 {
			t.Errorf("%s: %d seqs left above a hole, %d duplicates", u.name, s.Held, s.Duplicates)
		}
	}
}
