package shard_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/postgres"
	"github.com/switchboard-chat/switchboard/internal/shard"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// world is a set of users and conversations written through a store.
type world struct {
	users []chat.User
	convs []string
	n     int64
}

// build creates nUsers users, nGroups groups (every user a member) and a
// direct conversation between each pair of neighbours, then sends
// perConv messages to each conversation, each message from a member, with
// words that searches can pick out.
func build(tb testing.TB, s chat.Store, nUsers, nGroups, perConv int) *world {
	tb.Helper()
	ctx := context.Background()
	w := &world{}
	ts := func() int64 { w.n++; return 1_700_000_000_000 + w.n }
	for i := range nUsers {
		u := chat.User{ID: fmt.Sprintf("u%03d", i), Username: fmt.Sprintf("user%03d", i), DisplayName: "U", CreatedAt: ts()}
		if err := s.CreateUser(ctx, u, "hash"); err != nil {
			tb.Fatalf("CreateUser: %v", err)
		}
		w.users = append(w.users, u)
	}
	for g := range nGroups {
		c := chat.Conversation{ID: fmt.Sprintf("g%03d", g), Kind: chat.KindGroup, Name: fmt.Sprintf("group%03d", g),
			CreatedAt: ts(), Visibility: "public", History: "all"}
		if err := s.CreateGroup(ctx, c, w.users[0].ID); err != nil {
			tb.Fatalf("CreateGroup: %v", err)
		}
		for _, u := range w.users[1:] {
			if _, err := s.AddMember(ctx, c.ID, u.ID, ts()); err != nil {
				tb.Fatalf("AddMember: %v", err)
			}
		}
		w.convs = append(w.convs, c.ID)
	}
	for i := 0; i+1 < nUsers; i++ {
		c, err := s.DirectConversation(ctx, fmt.Sprintf("d%03d", i), w.users[i].ID, w.users[i+1].ID, ts())
		if err != nil {
			tb.Fatalf("DirectConversation: %v", err)
		}
		w.convs = append(w.convs, c.ID)
	}
	words := []string{"apple", "banana", "cherry"}
	for k := range perConv {
		for ci, conv := range w.convs {
			from := w.users[(k+ci)%nUsers]
			if conv[0] == 'd' {
				from = w.users[(ci-nGroups)+k%2]
			}
			m := chat.Message{ID: fmt.Sprintf("m%06d", w.n), ConversationID: conv, SenderID: from.ID, Sender: from.Username,
				TS: ts(), Text: fmt.Sprintf("%s number %d in %s", words[(k+ci)%len(words)], k, conv), ClientMsgID: fmt.Sprintf("c%06d", w.n)}
			b := []*chat.Append{{Message: m}}
			if err := s.AppendMessages(ctx, b); err != nil || b[0].Err != nil {
				tb.Fatalf("append: %v, %v", err, b[0].Err)
			}
		}
	}
	return w
}

// TestSameAsOneDatabase writes the same conversations through a sharded
// store and a single-database store and compares what history, search
// (every page) and the conversation lists return.
func TestSameAsOneDatabase(t *testing.T) {
	ctx := context.Background()
	single, err := postgres.Open(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	defer single.Close()
	dir, shards := newCluster(t, 3)
	sharded := mustOpen(t, dir, shards)
	defer sharded.Close()

	const nUsers, nGroups, perConv = 4, 6, 25
	w := build(t, single, nUsers, nGroups, perConv)
	build(t, sharded, nUsers, nGroups, perConv)

	used := map[int]bool{}
	for _, c := range w.convs {
		n, err := sharded.ShardOf(ctx, c)
		if err != nil {
			t.Fatalf("ShardOf(%s): %v", c, err)
		}
		used[n] = true
	}
	if len(used) < 2 {
		t.Fatalf("conversations on shards %v; want them spread over more than one", used)
	}

	same := func(what string, get func(s chat.Store) (any, error)) {
		t.Helper()
		want, err := get(single)
		if err != nil {
			t.Fatalf("%s on one database: %v", what, err)
		}
		got, err := get(sharded)
		if err != nil {
			t.Fatalf("%s sharded: %v", what, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s sharded:\n got %+v\nwant %+v", what, got, want)
		}
	}
	for _, c := range w.convs {
		for _, q := range []chat.HistoryQuery{{Limit: 10}, {Before: 12, Limit: 5}, {After: 3, Limit: 7}, {Forward: true, Limit: 200}} {
			same(fmt.Sprintf("Messages(%s, %+v)", c, q), func(s chat.Store) (any, error) { return s.Messages(ctx, c, q) })
		}
	}
	for _, u := range w.users {
		same("UserConversations("+u.Username+")", func(s chat.Store) (any, error) { return s.UserConversations(ctx, u.ID) })
		for _, text := range []string{"apple", "banana number", "cherry g002", "nothing"} {
			for _, limit := range []int{1, 7, 50} {
				q := chat.SearchQuery{Text: text, Limit: limit}
				for page := 0; ; page++ {
					what := fmt.Sprintf("Search(%s, %+v)", u.Username, q)
					var got []chat.Message
					same(what, func(s chat.Store) (any, error) {
						ms, err := s.Search(ctx, u.ID, q)
						got = ms
						return ms, err
					})
					if len(got) < limit || page > 200 {
						break
					}
					q.Before = got[len(got)-1].ID
				}
			}
		}
		q := chat.SearchQuery{Text: "apple", Conversation: w.convs[1], Limit: 5}
		same(fmt.Sprintf("Search(%s, %+v)", u.Username, q), func(s chat.Store) (any, error) { return s.Search(ctx, u.ID, q) })
	}
	same("SearchGroups", func(s chat.Store) (any, error) { return s.SearchGroups(ctx, "group", 50) })
	same("Counts", func(s chat.Store) (any, error) { return s.(chat.AccountStore).Counts(ctx) })
	for _, u := range w.users {
		for _, limit := range []int{7, 30} {
			var after chat.SentCursor
			for page := 0; page < 100; page++ {
				var got []chat.Message
				same(fmt.Sprintf("SentMessages(%s, %+v, %d)", u.Username, after, limit), func(s chat.Store) (any, error) {
					ms, err := s.(chat.AccountStore).SentMessages(ctx, u.ID, after, limit)
					got = ms
					return ms, err
				})
				if len(got) == 0 {
					break
				}
				last := got[len(got)-1]
				after = chat.SentCursor{ConversationID: last.ConversationID, Seq: last.Seq}
			}
		}
	}
}

// TestAddShard checks that conversations stay on their shard when a shard
// is added, that their history is read as before, that new conversations
// go to the new shard too, and that a list of shards in another order is
// refused.
func TestAddShard(t *testing.T) {
	ctx := context.Background()
	dir, shards := newCluster(t, 3)
	two := mustOpen(t, dir, shards[:2])
	w := build(t, two, 3, 8, 3)
	where := map[string]int{}
	history := map[string][]chat.Message{}
	for _, c := range w.convs {
		n, err := two.ShardOf(ctx, c)
		if err != nil {
			t.Fatalf("ShardOf: %v", err)
		}
		where[c] = n
		if history[c], err = two.Messages(ctx, c, chat.HistoryQuery{Limit: 100}); err != nil {
			t.Fatalf("Messages: %v", err)
		}
	}
	two.Close()

	if _, err := shard.Open(ctx, dir, []string{shards[1], shards[0], shards[2]}); chat.ErrorCode(err) != chat.EConflict {
		t.Errorf("Open with shards reordered: %v; want EConflict", err)
	}
	three := mustOpen(t, dir, shards)
	defer three.Close()
	for _, c := range w.convs {
		n, err := three.ShardOf(ctx, c)
		if err != nil || n != where[c] {
			t.Errorf("ShardOf(%s) after adding a shard = %d, %v; want %d", c, n, err, where[c])
		}
		got, err := three.Messages(ctx, c, chat.HistoryQuery{Limit: 100})
		if err != nil || !reflect.DeepEqual(got, history[c]) {
			t.Errorf("Messages(%s) after adding a shard = %d messages, %v; want the %d before", c, len(got), err, len(history[c]))
		}
		// Still appendable, with the next seq.
		b := []*chat.Append{{Message: chat.Message{ID: "after-" + c, ConversationID: c, SenderID: w.users[1].ID, TS: 2_000_000_000_000, Text: "later"}}}
		if c[0] == 'd' {
			b[0].Message.SenderID = w.users[0].ID
			if c == "d001" {
				b[0].Message.SenderID = w.users[1].ID
			}
		}
		if err := three.AppendMessages(ctx, b); err != nil || b[0].Err != nil || b[0].Result.Seq != int64(len(history[c])+1) {
			t.Errorf("append to %s after adding a shard: %v, %v, seq %d; want seq %d", c, err, b[0].Err, b[0].Result.Seq, len(history[c])+1)
		}
	}
	onNew := 0
	for g := range 12 {
		c := chat.Conversation{ID: fmt.Sprintf("new%03d", g), Kind: chat.KindGroup, Name: fmt.Sprintf("newgroup%03d", g), CreatedAt: 1}
		if err := three.CreateGroup(ctx, c, w.users[0].ID); err != nil {
			t.Fatalf("CreateGroup: %v", err)
		}
		if n, _ := three.ShardOf(ctx, c.ID); n == 2 {
			onNew++
		}
	}
	if onNew == 0 {
		t.Errorf("no new group went to the new shard")
	}
}

// TestRetryAcrossShards pins down the one way a sharded store differs
// from a single database: a (sender, client_msg_id) is unique per shard,
// so a retry finds its original in the same conversation, but the same
// client id sent to a conversation on another shard is another message.
func TestRetryAcrossShards(t *testing.T) {
	ctx := context.Background()
	dir, shards := newCluster(t, 2)
	s := mustOpen(t, dir, shards)
	defer s.Close()
	w := build(t, s, 2, 6, 0)
	byShard := map[int]string{}
	for _, c := range w.convs[:6] {
		n, _ := s.ShardOf(ctx, c)
		byShard[n] = c
	}
	if len(byShard) != 2 {
		t.Fatalf("groups on shards %v; want both shards used", byShard)
	}
	send := func(id, conv string) *chat.Append {
		b := []*chat.Append{{Message: chat.Message{ID: id, ConversationID: conv, SenderID: w.users[0].ID, TS: 1, Text: id, ClientMsgID: "retry"}}}
		if err := s.AppendMessages(ctx, b); err != nil || b[0].Err != nil {
			t.Fatalf("append: %v, %v", err, b[0].Err)
		}
		return b[0]
	}
	first := send("m1", byShard[0])
	if again := send("m2", byShard[0]); !again.Duplicate || again.Result.ID != first.Result.ID {
		t.Errorf("retry in the same conversation: duplicate %v, id %s; want the original %s", again.Duplicate, again.Result.ID, first.Result.ID)
	}
	if other := send("m3", byShard[1]); other.Duplicate || other.Result.ID != "m3" {
		t.Errorf("same client id on another shard: duplicate %v, id %s; want stored as m3", other.Duplicate, other.Result.ID)
	}
}

// TestBatchAcrossShards appends one batch spanning every shard and checks
// each conversation numbered its messages from 1 without gaps.
func TestBatchAcrossShards(t *testing.T) {
	ctx := context.Background()
	dir, shards := newCluster(t, 3)
	s := mustOpen(t, dir, shards)
	defer s.Close()
	w := build(t, s, 2, 9, 0)
	var batch []*chat.Append
	for k := range 4 {
		for _, c := range w.convs {
			from := w.users[0].ID
			batch = append(batch, &chat.Append{Message: chat.Message{ID: fmt.Sprintf("%s-%d", c, k), ConversationID: c,
				SenderID: from, TS: int64(k + 1), Text: "x"}})
		}
	}
	batch = append(batch, &chat.Append{Message: chat.Message{ID: "nowhere", ConversationID: "no-such", SenderID: w.users[0].ID, TS: 1, Text: "x"}})
	if err := s.AppendMessages(ctx, batch); err != nil {
		t.Fatalf("AppendMessages: %v", err)
	}
	for i, a := range batch[:len(batch)-1] {
		if a.Err != nil || a.Result.Seq != int64(i/len(w.convs)+1) {
			t.Errorf("batch[%d] (%s): err %v, seq %d; want seq %d", i, a.Message.ConversationID, a.Err, a.Result.Seq, i/len(w.convs)+1)
		}
	}
	if code := chat.ErrorCode(batch[len(batch)-1].Err); code != chat.ENotFound && code != chat.EForbidden {
		t.Errorf("append to a missing conversation: %v; want ENotFound or EForbidden", batch[len(batch)-1].Err)
	}
}

// TestRepairAfterCrash plays the crashes between a shard's write and the
// directory's: a group created on its shard only is registered by the next
// creation of its name (which answers "taken"), and a membership on the
// shard only is indexed by the join repeated.
func TestRepairAfterCrash(t *testing.T) {
	ctx := context.Background()
	dir, shards := newCluster(t, 2)
	s := mustOpen(t, dir, shards)
	defer s.Close()
	alice := chat.User{ID: "u1", Username: "alice", CreatedAt: 1}
	bob := chat.User{ID: "u2", Username: "bob", CreatedAt: 1}
	for _, u := range []chat.User{alice, bob} {
		if err := s.CreateUser(ctx, u, "h"); err != nil {
			t.Fatal(err)
		}
	}
	// The group's shard rows, on every shard (whichever its name picks),
	// and nothing in the directory.
	raw := make([]*postgres.Store, len(shards))
	for i, u := range shards {
		p, err := postgres.Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		raw[i] = p
		if err := p.CopyUsers(ctx, []chat.User{alice, bob}); err != nil {
			t.Fatal(err)
		}
		if err := p.CreateGroup(ctx, chat.Conversation{ID: "orphan", Kind: chat.KindGroup, Name: "lost", CreatedAt: 1}, alice.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.GroupByName(ctx, "lost"); chat.ErrorCode(err) != chat.ENotFound {
		t.Fatalf("GroupByName before the repair: %v; want ENotFound", err)
	}
	err := s.CreateGroup(ctx, chat.Conversation{ID: "g2", Kind: chat.KindGroup, Name: "lost", CreatedAt: 2}, bob.ID)
	if chat.ErrorCode(err) != chat.EConflict {
		t.Fatalf("CreateGroup of the stranded name: %v; want EConflict", err)
	}
	g, err := s.GroupByName(ctx, "lost")
	if err != nil || g.ID != "orphan" {
		t.Fatalf("GroupByName after the repair: %+v, %v; want the stranded group", g, err)
	}
	b := []*chat.Append{{Message: chat.Message{ID: "m1", ConversationID: "orphan", SenderID: alice.ID, TS: 3, Text: "found"}}}
	if err := s.AppendMessages(ctx, b); err != nil || b[0].Err != nil || b[0].Result.Seq != 1 {
		t.Fatalf("append to the repaired group: %v, %v", err, b[0].Err)
	}
	listed := func(u chat.User) bool {
		t.Helper()
		cs, err := s.UserConversations(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.ID == "orphan" {
				return true
			}
		}
		return false
	}
	if !listed(alice) {
		t.Errorf("alice's list lacks the repaired group")
	}

	// bob joined on the shard, and the directory never heard of it.
	n, err := s.ShardOf(ctx, "orphan")
	if err != nil {
		t.Fatal(err)
	}
	if added, err := raw[n].AddMember(ctx, "orphan", bob.ID, 4); err != nil || !added {
		t.Fatalf("AddMember on the shard: %v, %v", added, err)
	}
	if listed(bob) {
		t.Errorf("bob's list holds a membership the directory does not index")
	}
	if added, err := s.AddMember(ctx, "orphan", bob.ID, 5); err != nil || added {
		t.Fatalf("AddMember repeated = %v, %v; want false, nil", added, err)
	}
	if !listed(bob) {
		t.Errorf("bob's list lacks the group after the join was repeated")
	}
}
