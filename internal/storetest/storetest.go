// Package storetest is the one conformance suite that every chat.Store
// implementation runs: each store's own test calls Run with a function that
// opens a fresh, empty store, and BenchmarkAppend for the insert path.
//
// The suite pins down the behaviour documented on chat.Store, plus the few
// choices the documentation leaves to it, each stated where it is tested:
//
//   - Members of a conversation that does not exist is an empty list.
//   - In a direct conversation with oneself, Peer is one's own username.
//   - A conversation with no messages counts as active when it was created,
//     for UserConversations' ordering.
//   - Appending to a conversation that does not exist fails that item with
//     ENotFound or EForbidden.
//   - A retry whose (SenderID, ClientMsgID) matches a stored message returns
//     that message even if it was sent to another conversation.
//   - Media round-trips its ID, ContentType, Size, Width, Height and SHA256.
//   - Pins of a conversation that does not exist is an empty list.
//   - Search matches whole words, case-insensitively, every word of the
//     query; a query with no word in it finds nothing.
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Opener returns a new, empty store for one test or benchmark. It registers
// with tb.Cleanup whatever must be removed afterwards (a temporary file, a
// database), but it does not Close the store: the suite does, and checks
// that Close succeeds.
type Opener func(tb testing.TB) chat.Store

// Run runs the conformance suite against the stores that open returns; each
// subtest gets its own store.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"Ping", testPing},
		{"Users", testUsers},
		{"UserConflict", testUserConflict},
		{"UserNotFound", testUserNotFound},
		{"SetLastSeen", testSetLastSeen},
		{"SetLastSeenMany", testSetLastSeenMany},
		{"Sessions", testSessions},
		{"DirectConversation", testDirectConversation},
		{"DirectConversationSelf", testDirectConversationSelf},
		{"DirectConversationUnknownUser", testDirectConversationUnknownUser},
		{"Groups", testGroups},
		{"GroupConflict", testGroupConflict},
		{"GroupNotFound", testGroupNotFound},
		{"Members", testMembers},
		{"MemberErrors", testMemberErrors},
		{"JoinerStartsAtLastSeq", testJoinerStartsAtLastSeq},
		{"ConversationState", testConversationState},
		{"UserConversations", testUserConversations},
		{"AppendSeq", testAppendSeq},
		{"AppendText", testAppendText},
		{"AppendPrevTS", testAppendPrevTS},
		{"AppendIdempotent", testAppendIdempotent},
		{"AppendIdempotentInBatch", testAppendIdempotentInBatch},
		{"AppendEmptyClientMsgID", testAppendEmptyClientMsgID},
		{"AppendForbidden", testAppendForbidden},
		{"AppendMovesSenderPositions", testAppendMovesSenderPositions},
		{"AppendConcurrent", testAppendConcurrent},
		{"Media", testMedia},
		{"Messages", testMessages},
		{"MessagesLarge", testMessagesLarge},
		{"AdvanceReceipt", testAdvanceReceipt},
		{"AdvanceReceiptErrors", testAdvanceReceiptErrors},
		{"AdvanceReceiptConcurrent", testAdvanceReceiptConcurrent},
		{"Senders", testSenders},
		{"GroupSettings", testGroupSettings},
		{"GroupRoles", testGroupRoles},
		{"GroupBans", testGroupBans},
		{"DeleteGroup", testDeleteGroup},
		{"SearchGroups", testSearchGroups},
		{"Blocks", testBlocks},
		{"ChangeRevs", testChangeRevs},
		{"ChangeDelete", testChangeDelete},
		{"ChangeNotFound", testChangeNotFound},
		{"ChangeConcurrent", testChangeConcurrent},
		{"ChangePrevTS", testChangePrevTS},
		{"Reactions", testReactions},
		{"ReactionLimit", testReactionLimit},
		{"Pins", testPins},
		{"Mentions", testMentions},
		{"Search", testSearch},
		{"SearchSinceJoin", testSearchSinceJoin},
		{"SearchAfterAppend", testSearchAfterAppend},
		{"SearchAfterEdit", testSearchAfterEdit},
		{"SearchAfterDelete", testSearchAfterDelete},
		{"SearchAfterDeleteGroup", testSearchAfterDeleteGroup},
		{"ProfileAndRoles", testProfileAndRoles},
		{"UserSessions", testUserSessions},
		{"Suspended", testSuspended},
		{"DeleteUser", testDeleteUser},
		{"SearchUsers", testSearchUsers},
		{"Audit", testAudit},
		{"SentMessagesAndMedia", testSentMessagesAndMedia},
		{"Tickets", testTickets},
		{"TicketsGoWithSession", testTicketsGoWithSession},
		{"TicketsTakenOnce", testTicketsTakenOnce},
		{"VAPIDKeys", testVAPIDKeys},
		{"PushSubscriptions", testPushSubscriptions},
		{"PushQueue", testPushQueue},
		{"PushClaimConcurrent", testPushClaimConcurrent},
		{"PushOutboxOff", testPushOutboxOff},
		{"Notifications", testNotifications},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newFixture(t, open))
		})
	}
}

// fixture is one test's store with helpers that fail the test on error.
type fixture struct {
	s   chat.Store
	ctx context.Context
	n   atomic.Int64 // id and timestamp counter
}

// baseTS is the timestamp of the first event of a test, in Unix ms.
const baseTS int64 = 1_700_000_000_000

func newFixture(tb testing.TB, open Opener) *fixture {
	tb.Helper()
	s := open(tb)
	if s == nil {
		tb.Fatal("open returned a nil store")
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return &fixture{s: s, ctx: context.Background()}
}

// id returns a new unique, increasing id with the given prefix.
func (f *fixture) id(prefix string) string {
	return fmt.Sprintf("%s-%08d", prefix, f.n.Add(1))
}

// ts returns a new timestamp, later than every one before it.
func (f *fixture) ts() int64 { return baseTS + f.n.Add(1) }

func (f *fixture) user(tb testing.TB, username string) chat.User {
	tb.Helper()
	u := chat.User{ID: f.id("u"), Username: username, DisplayName: "User " + username, CreatedAt: f.ts()}
	if err := f.s.CreateUser(f.ctx, u, "hash-of-"+username); err != nil {
		tb.Fatalf("CreateUser(%q): %v", username, err)
	}
	return u
}

func (f *fixture) group(tb testing.TB, name string, creator chat.User, others ...chat.User) chat.Conversation {
	tb.Helper()
	c := chat.Conversation{ID: f.id("g"), Kind: chat.KindGroup, Name: name, Title: "Title of " + name, CreatedAt: f.ts()}
	if err := f.s.CreateGroup(f.ctx, c, creator.ID); err != nil {
		tb.Fatalf("CreateGroup(%q): %v", name, err)
	}
	for _, u := range others {
		f.join(tb, c.ID, u)
	}
	return c
}

func (f *fixture) join(tb testing.TB, convID string, u chat.User) {
	tb.Helper()
	added, err := f.s.AddMember(f.ctx, convID, u.ID, f.ts())
	if err != nil || !added {
		tb.Fatalf("AddMember(%s, %s) = %v, %v; want true, nil", convID, u.Username, added, err)
	}
}

func (f *fixture) direct(tb testing.TB, a, b chat.User) chat.Conversation {
	tb.Helper()
	c, err := f.s.DirectConversation(f.ctx, f.id("d"), a.ID, b.ID, f.ts())
	if err != nil {
		tb.Fatalf("DirectConversation(%s, %s): %v", a.Username, b.Username, err)
	}
	return c
}

// msg returns a message ready to append, with a unique client id.
func (f *fixture) msg(convID string, from chat.User, text string) chat.Message {
	return chat.Message{
		ID:             f.id("m"),
		ConversationID: convID,
		SenderID:       from.ID,
		Sender:         from.Username,
		TS:             f.ts(),
		Text:           text,
		ClientMsgID:    f.id("c"),
	}
}

// append stores msgs as one batch and returns the batch; it fails the test
// if the batch as a whole fails but leaves per-item errors to the caller.
func (f *fixture) append(tb testing.TB, msgs ...chat.Message) []*chat.Append {
	tb.Helper()
	batch := make([]*chat.Append, len(msgs))
	for i, m := range msgs {
		batch[i] = &chat.Append{Message: m}
	}
	if err := f.s.AppendMessages(f.ctx, batch); err != nil {
		tb.Fatalf("AppendMessages(%d messages): %v", len(msgs), err)
	}
	return batch
}

// send stores one message and returns it as stored.
func (f *fixture) send(tb testing.TB, convID string, from chat.User, text string) chat.Message {
	tb.Helper()
	a := f.append(tb, f.msg(convID, from, text))[0]
	if a.Err != nil || a.Duplicate {
		tb.Fatalf("append %q: err %v, duplicate %v; want stored", text, a.Err, a.Duplicate)
	}
	return a.Result
}

// sendN stores n messages in batches of at most 500 and returns them.
func (f *fixture) sendN(tb testing.TB, convID string, from chat.User, n int) []chat.Message {
	tb.Helper()
	var out []chat.Message
	for len(out) < n {
		msgs := make([]chat.Message, min(500, n-len(out)))
		for i := range msgs {
			msgs[i] = f.msg(convID, from, fmt.Sprintf("message %d", len(out)+i+1))
		}
		for _, a := range f.append(tb, msgs...) {
			if a.Err != nil {
				tb.Fatalf("append: %v", a.Err)
			}
			out = append(out, a.Result)
		}
	}
	return out
}

// history returns all messages of a conversation, read newest page first.
func (f *fixture) history(tb testing.TB, convID string) []chat.Message {
	tb.Helper()
	var all []chat.Message
	for before := int64(0); ; {
		page := f.messages(tb, convID, chat.HistoryQuery{Before: before, Limit: 100})
		if len(page) == 0 || before > 0 && page[len(page)-1].Seq >= before {
			return all
		}
		all = append(page, all...)
		before = page[0].Seq
	}
}

func (f *fixture) state(tb testing.TB, convID string, u chat.User) chat.ConversationState {
	tb.Helper()
	st, err := f.s.ConversationState(f.ctx, convID, u.ID)
	if err != nil {
		tb.Fatalf("ConversationState(%s, %s): %v", convID, u.Username, err)
	}
	return st
}

func (f *fixture) members(tb testing.TB, convID string) []string {
	tb.Helper()
	ms, err := f.s.Members(f.ctx, convID)
	if err != nil {
		tb.Fatalf("Members(%s): %v", convID, err)
	}
	names := []string{}
	for _, m := range ms {
		names = append(names, m.Username)
	}
	return names
}

func (f *fixture) messages(tb testing.TB, convID string, q chat.HistoryQuery) []chat.Message {
	tb.Helper()
	ms, err := f.s.Messages(f.ctx, convID, q)
	if err != nil {
		tb.Fatalf("Messages(%s, %+v): %v", convID, q, err)
	}
	return ms
}

// wantCode fails the test unless err is an error with the given code.
func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	if got := chat.ErrorCode(err); got != code {
		tb.Errorf("%s: error %v (code %q); want code %q", what, err, got, code)
	}
}

// positions is the part of a ConversationState that receipts move.
type positions struct{ Last, Delivered, Read int64 }

func posOf(st chat.ConversationState) positions {
	return positions{Last: st.LastSeq, Delivered: st.DeliveredSeq, Read: st.ReadSeq}
}

// normalized returns m with the media fields the suite does not require a
// store to keep cleared.
func normalized(m chat.Message) chat.Message {
	if m.Media != nil {
		md := *m.Media
		md.UploaderID, md.CreatedAt = "", 0
		m.Media = &md
	}
	return m
}

func sameMessage(tb testing.TB, what string, got, want chat.Message) {
	tb.Helper()
	if g, w := normalized(got), normalized(want); !reflect.DeepEqual(g, w) {
		tb.Errorf("%s:\n got %s\nwant %s", what, show(g), show(w))
	}
}

func show(m chat.Message) string {
	s := fmt.Sprintf("%+v", m)
	if m.Media != nil {
		s += fmt.Sprintf(" media %+v", *m.Media)
	}
	return s
}

func seqs(ms []chat.Message) []int64 {
	out := []int64{}
	for _, m := range ms {
		out = append(out, m.Seq)
	}
	return out
}

func seqRange(from, to int64) []int64 {
	out := []int64{}
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}
