package node_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/inmem"
)

// counter is a Deliverer that counts pushed messages.
type counter struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (c *counter) Deliver(ev *chat.Event) {
	if ev.Kind == chat.EventMessage && c.n.Add(1) == c.want {
		close(c.done)
	}
}

// BenchmarkSendDirect sends direct messages from 10 users to 10 others,
// 64 in flight, through the core, the runtime's write path and fan-out and
// the embedded store: its allocations per message are the server's, less
// the gateway's.
func BenchmarkSendDirect(b *testing.B) {
	const pairs, inflight = 10, 64
	c := &counter{want: int64(b.N), done: make(chan struct{})}
	svc, _, _ := setup(b, inmem.NewBus("n1"), 0, c)
	ctx := context.Background()
	from := make([]chat.ConnInfo, pairs)
	to := make([]chat.ConnInfo, pairs)
	for i := range pairs {
		from[i] = signup(b, svc, fmt.Sprintf("from%d", i))
		to[i] = signup(b, svc, fmt.Sprintf("to%d", i))
		for _, u := range []chat.ConnInfo{from[i], to[i]} {
			if err := svc.Connected(ctx, u); err != nil {
				b.Fatal(err)
			}
		}
	}
	slots := make(chan struct{}, inflight)
	var failed atomic.Value
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		slots <- struct{}{}
		wg.Add(1)
		p := i % pairs
		svc.Send(ctx, from[p], chat.SendRequest{ClientMsgID: fmt.Sprint(i), ToUser: to[p].Username, Text: "hello there"},
			func(_ chat.Message, err error) {
				if err != nil {
					failed.Store(err)
				}
				<-slots
				wg.Done()
			})
	}
	wg.Wait()
	<-c.done
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
}
