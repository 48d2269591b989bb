package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/postgres"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// NewDatabase creates an empty database for one test (see testenv.Postgres).
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return testenv.Postgres(tb)
}

// MustOpen opens a store on dbURL and closes it when the test ends.
func MustOpen(tb testing.TB, dbURL string) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// world is a database with users and conversations, shared by two stores
// (two nodes).
type world struct {
	a, b  *postgres.Store
	users []chat.User
	convs []string
}

// newWorld creates nUsers users, all members of nConvs groups.
func newWorld(tb testing.TB, nUsers, nConvs int) *world {
	tb.Helper()
	dbURL := NewDatabase(tb)
	w := &world{a: MustOpen(tb, dbURL), b: MustOpen(tb, dbURL)}
	ctx := context.Background()
	for i := range nUsers {
		u := chat.User{ID: fmt.Sprintf("u%03d", i), Username: fmt.Sprintf("user%03d", i), DisplayName: "U", CreatedAt: 1}
		if err := w.a.CreateUser(ctx, u, "hash"); err != nil {
			tb.Fatalf("CreateUser: %v", err)
		}
		w.users = append(w.users, u)
	}
	for c := range nConvs {
		g := chat.Conversation{ID: fmt.Sprintf("g%03d", c), Kind: chat.KindGroup, Name: fmt.Sprintf("group%03d", c), CreatedAt: 1}
		if err := w.a.CreateGroup(ctx, g, w.users[0].ID); err != nil {
			tb.Fatalf("CreateGroup: %v", err)
		}
		for _, u := range w.users[1:] {
			if _, err := w.b.AddMember(ctx, g.ID, u.ID, 2); err != nil {
				tb.Fatalf("AddMember: %v", err)
			}
		}
		w.convs = append(w.convs, g.ID)
	}
	return w
}

// checkGapless fails unless conv holds exactly the messages numbered 1..n
// and its last seq is n.
func checkGapless(tb testing.TB, s *postgres.Store, conv string, n int) {
	tb.Helper()
	ctx := context.Background()
	ms, err := s.Messages(ctx, conv, chat.HistoryQuery{})
	if err != nil {
		tb.Fatalf("Messages: %v", err)
	}
	if len(ms) != n {
		tb.Errorf("%s holds %d messages; want %d", conv, len(ms), n)
	}
	for i, m := range ms {
		if m.Seq != int64(i+1) {
			tb.Fatalf("%s: message %d has seq %d; want %d", conv, i, m.Seq, i+1)
		}
	}
	st, err := s.ConversationState(ctx, conv, "u000")
	if err != nil {
		tb.Fatalf("ConversationState: %v", err)
	}
	if st.LastSeq != int64(n) {
		tb.Errorf("%s: last seq %d; want %d", conv, st.LastSeq, n)
	}
}

// TestConcurrentAppendTwoNodes appends from many goroutines on two stores
// at once, with batches that span the same conversations in different
// orders: every conversation must number its messages 1..N exactly once.
func TestConcurrentAppendTwoNodes(t *testing.T) {
	const (
		workers   = 8 // per store
		batches   = 25
		batchSize = 12
	)
	w := newWorld(t, 4, 3)
	var (
		mu     sync.Mutex
		seqs   = make(map[string]map[int64]string) // conv -> seq -> message id
		stored = make(map[string]int)
		wg     sync.WaitGroup
	)
	for _, c := range w.convs {
		seqs[c] = make(map[int64]string)
	}
	for node, s := range []*postgres.Store{w.a, w.b} {
		for g := range workers {
			wg.Go(func() {
				for i := range batches {
					batch := make([]*chat.Append, batchSize)
					for j := range batch {
						// Conversations interleave, in an order that
						// differs between workers.
						conv := w.convs[(j+g+i)%len(w.convs)]
						if g%2 == 1 {
							conv = w.convs[len(w.convs)-1-(j+i)%len(w.convs)]
						}
						u := w.users[(j+g)%len(w.users)]
						id := fmt.Sprintf("m-%d-%d-%d-%d", node, g, i, j)
						cmid := ""
						if j%2 == 0 {
							cmid = "c" + id
						}
						batch[j] = &chat.Append{Message: chat.Message{ID: id, ConversationID: conv,
							SenderID: u.ID, Sender: u.Username, TS: int64(1000 + i), Text: id, ClientMsgID: cmid}}
					}
					if err := s.AppendMessages(context.Background(), batch); err != nil {
						t.Errorf("AppendMessages: %v", err)
						return
					}
					mu.Lock()
					for j, a := range batch {
						if a.Err != nil || a.Duplicate {
							t.Errorf("item %d: err %v, duplicate %v", j, a.Err, a.Duplicate)
							continue
						}
						conv := a.Result.ConversationID
						if prev, ok := seqs[conv][a.Result.Seq]; ok {
							t.Errorf("%s seq %d given to %s and %s", conv, a.Result.Seq, prev, a.Result.ID)
						}
						seqs[conv][a.Result.Seq] = a.Result.ID
						stored[conv]++
					}
					// Within one batch a conversation's seqs follow submission order.
					last := make(map[string]int64)
					for _, a := range batch {
						if c := a.Result.ConversationID; a.Result.Seq <= last[c] {
							t.Errorf("%s: seq %d after %d in one batch", c, a.Result.Seq, last[c])
						} else {
							last[c] = a.Result.Seq
						}
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	total := 0
	for _, c := range w.convs {
		checkGapless(t, w.b, c, stored[c])
		total += stored[c]
	}
	if want := 2 * workers * batches * batchSize; total != want {
		t.Errorf("stored %d messages; want %d", total, want)
	}
	// Every sender's positions moved to (at least) its last message.
	for _, c := range w.convs {
		for _, u := range w.users {
			st, err := w.a.ConversationState(context.Background(), c, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			var mine int64
			for seq, id := range seqs[c] {
				ms, _ := w.a.Messages(context.Background(), c, chat.HistoryQuery{After: seq - 1, Limit: 1})
				if len(ms) == 1 && ms[0].ID == id && ms[0].SenderID == u.ID {
					mine = max(mine, seq)
				}
			}
			if st.ReadSeq < mine || st.DeliveredSeq < mine {
				t.Errorf("%s as %s: read %d delivered %d; want at least %d", c, u.Username, st.ReadSeq, st.DeliveredSeq, mine)
			}
		}
	}
}

// TestConcurrentDuplicates sends every client_msg_id from several
// goroutines on two stores at once, to one of two conversations: each is
// stored once, everyone gets the same original, and no seq is lost.
func TestConcurrentDuplicates(t *testing.T) {
	const (
		ids     = 200
		senders = 6 // goroutines, alternating between the stores
	)
	w := newWorld(t, 2, 2)
	u := w.users[1]
	type outcome struct {
		msg chat.Message
		dup bool
	}
	results := make([][]outcome, senders)
	var wg sync.WaitGroup
	for g := range senders {
		s := []*postgres.Store{w.a, w.b}[g%2]
		wg.Go(func() {
			for i := 0; i < ids; i += 10 {
				batch := make([]*chat.Append, 0, 11)
				for k := i; k < i+10; k++ {
					// Half the goroutines send to one conversation and
					// half to the other, so duplicates race both under
					// one conversation's lock and across two.
					conv := w.convs[(g/3)%2]
					batch = append(batch, &chat.Append{Message: chat.Message{
						ID: fmt.Sprintf("m-%d-%d", g, k), ConversationID: conv, SenderID: u.ID, Sender: u.Username,
						TS: int64(k), Text: fmt.Sprint(k), ClientMsgID: fmt.Sprintf("cmid-%d", k)}})
				}
				// A duplicate inside the batch too.
				dup := *batch[0]
				dup.Message.ID += "-again"
				batch = append(batch, &dup)
				if err := s.AppendMessages(context.Background(), batch); err != nil {
					t.Errorf("AppendMessages: %v", err)
					return
				}
				for _, a := range batch {
					if a.Err != nil {
						t.Errorf("append: %v", a.Err)
					}
					results[g] = append(results[g], outcome{a.Result, a.Duplicate})
				}
			}
		})
	}
	wg.Wait()
	first := make(map[string]chat.Message)
	fresh := make(map[string]int)
	for _, rs := range results {
		for _, r := range rs {
			k := r.msg.ClientMsgID
			if !r.dup {
				fresh[k]++
			}
			if orig, ok := first[k]; !ok {
				first[k] = r.msg
			} else if orig.ID != r.msg.ID || orig.Seq != r.msg.Seq || orig.ConversationID != r.msg.ConversationID {
				t.Errorf("%s: got %s seq %d in %s and %s seq %d in %s", k, orig.ID, orig.Seq, orig.ConversationID,
					r.msg.ID, r.msg.Seq, r.msg.ConversationID)
			}
		}
	}
	if len(first) != ids {
		t.Errorf("%d client ids answered; want %d", len(first), ids)
	}
	perConv := make(map[string]int)
	for k, m := range first {
		if fresh[k] != 1 {
			t.Errorf("%s stored %d times; want once", k, fresh[k])
		}
		perConv[m.ConversationID]++
	}
	for _, c := range w.convs {
		checkGapless(t, w.a, c, perConv[c])
	}
}

// TestAppendPartialFailure keeps a batch going past an item that fails.
func TestAppendPartialFailure(t *testing.T) {
	w := newWorld(t, 2, 1)
	ctx := context.Background()
	outsider := chat.User{ID: "x", Username: "outsider", CreatedAt: 1}
	if err := w.a.CreateUser(ctx, outsider, "h"); err != nil {
		t.Fatal(err)
	}
	msg := func(id, conv, sender string) *chat.Append {
		return &chat.Append{Message: chat.Message{ID: id, ConversationID: conv, SenderID: sender, TS: 5, Text: id}}
	}
	batch := []*chat.Append{
		msg("m1", w.convs[0], "u000"),
		msg("m2", w.convs[0], outsider.ID),
		msg("m3", "nope", "u000"),
		msg("m4", w.convs[0], "u001"),
	}
	if err := w.a.AppendMessages(ctx, batch); err != nil {
		t.Fatalf("AppendMessages: %v", err)
	}
	tests := []struct {
		code string
		seq  int64
	}{{"", 1}, {chat.EForbidden, 0}, {chat.ENotFound, 0}, {"", 2}}
	for i, tt := range tests {
		a := batch[i]
		if got := chat.ErrorCode(a.Err); got != tt.code || a.Result.Seq != tt.seq {
			t.Errorf("item %d: code %q seq %d; want %q, %d", i, got, a.Result.Seq, tt.code, tt.seq)
		}
	}
	if batch[3].Result.Sender != "user001" {
		t.Errorf("Sender = %q; want it filled in from the user", batch[3].Result.Sender)
	}
	checkGapless(t, w.b, w.convs[0], 2)
}

// TestMigrateConcurrently opens several stores on a new database at once:
// one applies the schema, the others wait and find it applied.
func TestMigrateConcurrently(t *testing.T) {
	dbURL := NewDatabase(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			s, err := postgres.Open(context.Background(), dbURL)
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n, v int
	if err := conn.QueryRow(context.Background(), "SELECT count(*), max(version) FROM schema_version").Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v, %v", files, err)
	}
	// Migrations are numbered with gaps (0001, 0002, 0010, ...): the latest
	// version is the highest file number.
	latest := 0
	for _, f := range files {
		num, _, _ := strings.Cut(filepath.Base(f), "_")
		if k, err := strconv.Atoi(num); err == nil && k > latest {
			latest = k
		}
	}
	if n != len(files) || v != latest {
		t.Errorf("schema_version has %d rows, latest %d; want %d, %d", n, v, len(files), latest)
	}
}

// TestUnavailable reports an unreachable or closed database as unavailable.
func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	_, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if got := chat.ErrorCode(err); got != chat.EUnavailable {
		t.Errorf("Open(nothing listening) = %v (code %q); want %q", err, got, chat.EUnavailable)
	}
	s := MustOpen(t, NewDatabase(t))
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	s.Close()
	tests := []struct {
		name string
		err  error
	}{
		{"Ping", s.Ping(ctx)},
		{"UserByID", func() error { _, err := s.UserByID(ctx, "u"); return err }()},
		{"AppendMessages", s.AppendMessages(ctx, []*chat.Append{{Message: chat.Message{ID: "m", ConversationID: "c", SenderID: "u"}}})},
	}
	for _, tt := range tests {
		if got := chat.ErrorCode(tt.err); got != chat.EUnavailable {
			t.Errorf("%s after Close = %v (code %q); want %q", tt.name, tt.err, got, chat.EUnavailable)
		}
	}
}

// proxy forwards TCP connections to a PostgreSQL server until Close, which
// also cuts the connections it carries: a database that goes away.
// TestDatabaseGoesAway cuts the store's connections under it: every call
// then fails with EUnavailable rather than hanging or reporting a fault.
func TestDatabaseGoesAway(t *testing.T) {
	dbURL := NewDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p := testenv.StartProxy(t, u.Host)
	u.Host = p.Addr
	s := MustOpen(t, u.String())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice := chat.User{ID: "u1", Username: "alice", CreatedAt: 1}
	if err := s.CreateUser(ctx, alice, "h"); err != nil {
		t.Fatal(err)
	}
	g := chat.Conversation{ID: "g1", Kind: chat.KindGroup, Name: "gophers", CreatedAt: 1}
	if err := s.CreateGroup(ctx, g, alice.ID); err != nil {
		t.Fatal(err)
	}
	msg := func(id string) []*chat.Append {
		return []*chat.Append{{Message: chat.Message{ID: id, ConversationID: g.ID, SenderID: alice.ID, TS: 2, Text: id, ClientMsgID: id}}}
	}
	if err := s.AppendMessages(ctx, msg("m1")); err != nil {
		t.Fatalf("AppendMessages before the cut: %v", err)
	}
	p.Stop()
	calls := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return s.Ping(ctx) }},
		{"AppendMessages", func() error { return s.AppendMessages(ctx, msg("m2")) }},
		{"UserByName", func() error { _, _, err := s.UserByName(ctx, "alice"); return err }},
		{"Messages", func() error { _, err := s.Messages(ctx, g.ID, chat.HistoryQuery{}); return err }},
		{"AdvanceReceipt", func() error {
			_, _, err := s.AdvanceReceipt(ctx, alice.ID, g.ID, chat.StatusRead, 1)
			return err
		}},
	}
	for _, c := range calls {
		if err := c.call(); chat.ErrorCode(err) != chat.EUnavailable {
			t.Errorf("%s with the database gone = %v (code %q); want %q", c.name, err, chat.ErrorCode(err), chat.EUnavailable)
		}
	}
}

// TestAppendAmidReceiptsAndChurn appends on two stores while members move
// their receipts and one user keeps leaving and joining: no call may fail
// as a whole (a deadlock would), and numbering stays gapless.
func TestAppendAmidReceiptsAndChurn(t *testing.T) {
	w := newWorld(t, 4, 2)
	ctx := context.Background()
	churner := w.users[3]
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		stored  = make(map[string]int)
		stopped = make(chan struct{})
	)
	for n, s := range []*postgres.Store{w.a, w.b} {
		for g := range 3 {
			wg.Go(func() {
				for i := range 30 {
					batch := make([]*chat.Append, 8)
					for j := range batch {
						u := w.users[(g+j)%len(w.users)]
						id := fmt.Sprintf("m-%d-%d-%d-%d", n, g, i, j)
						batch[j] = &chat.Append{Message: chat.Message{ID: id, ConversationID: w.convs[(i+j)%2],
							SenderID: u.ID, Sender: u.Username, TS: int64(i), Text: id, ClientMsgID: id}}
					}
					if err := s.AppendMessages(ctx, batch); err != nil {
						t.Errorf("AppendMessages: %v", err)
						return
					}
					mu.Lock()
					for _, a := range batch {
						switch {
						case a.Err == nil && !a.Duplicate:
							stored[a.Result.ConversationID]++
						case chat.ErrorCode(a.Err) == chat.EForbidden && a.Message.SenderID == churner.ID:
						default:
							t.Errorf("append from %s: err %v, duplicate %v", a.Message.SenderID, a.Err, a.Duplicate)
						}
					}
					mu.Unlock()
				}
			})
		}
	}
	var side sync.WaitGroup
	for n, s := range []*postgres.Store{w.a, w.b} {
		side.Go(func() { // receipts
			for i := 0; ; i++ {
				select {
				case <-stopped:
					return
				default:
				}
				u, conv := w.users[i%3], w.convs[(i+n)%2]
				st, err := s.ConversationState(ctx, conv, u.ID)
				if err != nil {
					t.Errorf("ConversationState: %v", err)
					return
				}
				status := []string{chat.StatusDelivered, chat.StatusRead}[i%2]
				if _, _, err := s.AdvanceReceipt(ctx, u.ID, conv, status, st.LastSeq); err != nil {
					t.Errorf("AdvanceReceipt: %v", err)
					return
				}
			}
		})
	}
	side.Go(func() { // churn
		for i := 0; ; i++ {
			select {
			case <-stopped:
				return
			default:
			}
			conv := w.convs[i%2]
			if _, err := w.a.RemoveMember(ctx, conv, churner.ID); err != nil {
				t.Errorf("RemoveMember: %v", err)
				return
			}
			if _, err := w.b.AddMember(ctx, conv, churner.ID, int64(i)); err != nil {
				t.Errorf("AddMember: %v", err)
				return
			}
		}
	})
	wg.Wait()
	close(stopped)
	side.Wait()
	for _, c := range w.convs {
		checkGapless(t, w.a, c, stored[c])
	}
}
