package node

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// topicLog is a chat.TopicBus that records subscription calls.
type topicLog struct {
	chat.Bus
	mu       sync.Mutex
	on       map[string]bool
	subs     map[string]int
	unsubs   map[string]int
	failNext bool
}

func newTopicLog() *topicLog {
	return &topicLog{on: map[string]bool{}, subs: map[string]int{}, unsubs: map[string]int{}}
}

func (b *topicLog) SubscribeTopic(_ context.Context, topic string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failNext {
		b.failNext = false
		return errors.New("link down")
	}
	if b.on[topic] {
		panic("subscribed twice to " + topic)
	}
	b.on[topic] = true
	b.subs[topic]++
	return nil
}

func (b *topicLog) UnsubscribeTopic(_ context.Context, topic string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.on[topic] {
		panic("unsubscribed from " + topic + " while not subscribed")
	}
	b.on[topic] = false
	b.unsubs[topic]++
	return nil
}

func (b *topicLog) PublishTopic(context.Context, string, *chat.Event) error { return nil }

func (b *topicLog) state(topic string) (on bool, subs, unsubs int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.on[topic], b.subs[topic], b.unsubs[topic]
}

func TestTopicRefcounts(t *testing.T) {
	ctx := context.Background()
	bus := newTopicLog()
	tp := newTopics(bus, slog.New(slog.DiscardHandler))
	for _, step := range []struct {
		name         string
		do           func()
		refs         int
		on           bool
		subs, unsubs int
	}{
		{"first member online subscribes", func() { tp.acquire(ctx, []string{"g"}) }, 1, true, 1, 0},
		{"a second member shares the subscription", func() { tp.acquire(ctx, []string{"g"}) }, 2, true, 1, 0},
		{"one leaves, one stays", func() { tp.release(ctx, []string{"g"}) }, 1, true, 1, 0},
		{"the last leaves: unsubscribe", func() { tp.release(ctx, []string{"g"}) }, 0, false, 1, 1},
		{"an extra release does not go negative", func() { tp.release(ctx, []string{"g"}) }, 0, false, 1, 1},
		{"back again", func() { tp.acquire(ctx, []string{"g"}) }, 1, true, 2, 1},
	} {
		step.do()
		on, subs, unsubs := bus.state("g")
		if got := tp.count("g"); got != step.refs || on != step.on || subs != step.subs || unsubs != step.unsubs {
			t.Fatalf("%s: refs %d on %v subs %d unsubs %d; want %d %v %d %d",
				step.name, got, on, subs, unsubs, step.refs, step.on, step.subs, step.unsubs)
		}
	}
}

func TestTopicSubscribeRetriedAfterFailure(t *testing.T) {
	ctx := context.Background()
	bus := newTopicLog()
	tp := newTopics(bus, slog.New(slog.DiscardHandler))
	bus.failNext = true
	tp.acquire(ctx, []string{"g"})
	if on, _, _ := bus.state("g"); on {
		t.Fatal("subscribed although the bus failed")
	}
	tp.acquire(ctx, []string{"other"}) // any later sync retries
	if on, _, _ := bus.state("g"); !on {
		t.Fatal("a failed subscribe was not tried again")
	}
}

func TestTopicRefcountsConcurrent(t *testing.T) {
	ctx := context.Background()
	bus := newTopicLog()
	tp := newTopics(bus, slog.New(slog.DiscardHandler))
	groups := []string{"a", "b", "c"}
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := groups[:1+i%len(groups)]
			for range 100 {
				tp.acquire(ctx, mine)
				tp.release(ctx, mine)
			}
		}()
	}
	wg.Wait()
	for _, g := range groups {
		on, subs, unsubs := bus.state(g)
		if tp.count(g) != 0 || on || subs != unsubs {
			t.Fatalf("group %s after balanced acquire/release: refs %d on %v subs %d unsubs %d", g, tp.count(g), on, subs, unsubs)
		}
	}
	// The last word is the counts: a member online now means subscribed.
	tp.acquire(ctx, []string{"a"})
	if on, _, _ := bus.state("a"); !on {
		t.Fatal("not subscribed with a member online")
	}
}
