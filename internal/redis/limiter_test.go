package redis_test

import (
	"context"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/redis"
)

func TestLimiterIsSharedByNodes(t *testing.T) { testLimiterShared(t, newEnv(t).backend()) }

func testLimiterShared(t *testing.T, e backend) {
	prefix := e.prefix(t)
	nodes := []*redis.Limiter{redis.NewLimiter(e.client(t), prefix), redis.NewLimiter(e.client(t), prefix)}
	ctx := context.Background()
	allowed := 0
	for i := range 20 {
		// A rate so slow that nothing refills while the test runs.
		ok, wait, err := nodes[i%2].Allow(ctx, "send:u1", 0.01, 5)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			allowed++
		} else if wait <= 0 {
			t.Fatalf("refused without saying when to retry")
		}
	}
	if allowed != 5 {
		t.Fatalf("%d of 20 allowed over two nodes; want the burst of 5 in all", allowed)
	}
	// Another key has its own budget.
	if ok, _, err := nodes[0].Allow(ctx, "send:u2", 0.01, 5); err != nil || !ok {
		t.Fatalf("another key: %v %v", ok, err)
	}
}

func TestLimiterRefills(t *testing.T) { testLimiterRefills(t, newEnv(t).backend()) }

func testLimiterRefills(t *testing.T, e backend) {
	l := redis.NewLimiter(e.client(t), e.prefix(t))
	ctx := context.Background()
	// 1000 a second with a burst of 1: the next token is a millisecond away.
	if ok, _, err := l.Allow(ctx, "k", 1000, 1); err != nil || !ok {
		t.Fatalf("first: %v %v", ok, err)
	}
	ok, wait, err := l.Allow(ctx, "k", 1000, 1)
	for err == nil && !ok {
		if wait <= 0 || wait > 1000000000 {
			t.Fatalf("retry after %v; want about a millisecond", wait)
		}
		ok, wait, err = l.Allow(ctx, "k", 1000, 1)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestLimiterUnreachable(t *testing.T) {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	_, _, err := redis.NewLimiter(c, "x").Allow(context.Background(), "k", 1, 1)
	if chat.ErrorCode(err) != chat.EUnavailable {
		t.Fatalf("got %v; want unavailable", err)
	}
}
