package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Benchmark shape: conversations of benchMembers members drawn from
// benchUsers users, each message from a member of its conversation.
const (
	benchUsers         = 512
	benchConversations = 256
	benchMembers       = 4
)

// BenchmarkAppend measures AppendMessages, the group-committed write path,
// with batches of 1, 64 and 512 messages spread over many conversations, and
// reports messages per second. Each message has a client id, so the
// idempotency check is part of the cost, as it is in production.
func BenchmarkAppend(b *testing.B, open Opener) {
	for _, size := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			f := newFixture(b, open)
			convs, members := f.benchSetup(b)
			text := strings.Repeat("x", 120)
			sent := 0
			for b.Loop() {
				batch := make([]*chat.Append, size)
				for i := range batch {
					c := (sent + i) % len(convs)
					from := members[c][(sent+i)/len(convs)%len(members[c])]
					batch[i] = &chat.Append{Message: f.msg(convs[c], from, text)}
				}
				if err := f.s.AppendMessages(f.ctx, batch); err != nil {
					b.Fatalf("AppendMessages: %v", err)
				}
				for _, a := range batch {
					if a.Err != nil || a.Duplicate {
						b.Fatalf("append: err %v, duplicate %v", a.Err, a.Duplicate)
					}
				}
				sent += size
			}
			b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// benchSetup creates the users and conversations of a benchmark and returns
// the conversation ids with their members.
func (f *fixture) benchSetup(b *testing.B) ([]string, [][]chat.User) {
	b.Helper()
	ctx := context.Background()
	users := make([]chat.User, benchUsers)
	for i := range users {
		users[i] = f.user(b, fmt.Sprintf("user%04d", i))
	}
	convs := make([]string, benchConversations)
	members := make([][]chat.User, benchConversations)
	for c := range convs {
		ms := make([]chat.User, benchMembers)
		for j := range ms {
			ms[j] = users[(c*benchMembers+j)%benchUsers]
		}
		if c%4 == 0 {
			// Every fourth conversation is direct, between its first two members.
			ms = ms[:2]
			conv, err := f.s.DirectConversation(ctx, f.id("d"), ms[0].ID, ms[1].ID, f.ts())
			if err != nil {
				b.Fatalf("DirectConversation: %v", err)
			}
			convs[c] = conv.ID
		} else {
			convs[c] = f.group(b, fmt.Sprintf("group%04d", c), ms[0], ms[1:]...).ID
		}
		members[c] = ms
	}
	return convs, members
}
