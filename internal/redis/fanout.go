package redis

import (
	"context"
	"errors"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// On a Redis Cluster the Bus reads only its node's inbox (one XREAD may
// not span hash slots), so what a single server carries on shared streams
// is fanned out to inboxes instead:
//
//	P:busnodes     hash  node -> deadline (ms, that master's clock): the nodes whose Run reads
//	P:tsub:TOPIC   hash  node -> deadline: the nodes subscribed to a topic
//
// A node stamps itself into these lists when it starts reading and when it
// subscribes, and again with every keep-alive (StreamTTL/3); an entry not
// stamped for StreamTTL counts as gone and is swept. Broadcast and
// PublishTopic read one list (one script on its slot) and append the event
// to each listed inbox in one pipeline, which the cluster client splits by
// master: 1 + nodes commands, one round trip per master, whatever the
// number of members. Classic pub/sub (PUBLISH) would reach every master of
// the cluster with every event, and sharded pub/sub (SPUBLISH) loses what
// is sent while a subscriber reconnects; streams keep the bus's order, trim
// detection and resync as they are on one server.

// stampScript sets one member's deadline in a list.
// KEYS[1] list; ARGV member, ttl ms.
var stampScript = goredis.NewScript(nowScript + `
local ttl = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.0f', now + ttl))
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`)

// liveScript returns the members of a list whose deadline has not passed
// and deletes the others. KEYS[1] list.
var liveScript = goredis.NewScript(nowScript + `
local h = redis.call('HGETALL', KEYS[1])
local out = {}
for j = 1, #h, 2 do
  if tonumber(h[j+1]) > now then out[#out+1] = h[j] else redis.call('HDEL', KEYS[1], h[j]) end
end
return out
`)

func (b *Bus) membersKey() string                 { return b.prefix + ":busnodes" }
func (b *Bus) subscribersKey(topic string) string { return b.prefix + ":tsub:" + topic }

// stamp lists this node in list for StreamTTL.
func (b *Bus) stamp(ctx context.Context, list string) error {
	return runScript(ctx, b.client, &b.n, stampScript, []string{list}, b.node, b.opt.StreamTTL.Milliseconds()).Err()
}

// stampAll renews this node's entries in the node list and in the
// subscriber lists of its topics, in one pipeline.
func (b *Bus) stampAll(ctx context.Context) error {
	lists := []string{b.membersKey()}
	b.mu.Lock()
	for t := range b.topics {
		lists = append(lists, b.subscribersKey(t))
	}
	b.mu.Unlock()
	cmds, err := pipeScripts(ctx, b.client, &b.n, []*goredis.Script{stampScript}, func(p goredis.Pipeliner) {
		for _, l := range lists {
			stampScript.EvalSha(ctx, p, []string{l}, b.node, b.opt.StreamTTL.Milliseconds())
		}
	})
	if err != nil {
		return err
	}
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Renew puts this node back into the lists other nodes fan out to (the
// node list and its topics' subscriber lists) at once, rather than at the
// next keep-alive: a node calls it when Watch reports a changed master,
// whose lists may have lost entries a failover did not replicate. Only on a
// cluster, and only while Run reads; elsewhere it does nothing.
func (b *Bus) Renew(ctx context.Context) error {
	if !b.cluster || !b.running.Load() {
		return nil
	}
	return translate("bus renew", b.stampAll(ctx))
}

// subscribeMember subscribes to topic on a cluster: the topic is taken
// locally first, so an event fanned out as soon as the list names this node
// is not dropped on arrival.
func (b *Bus) subscribeMember(ctx context.Context, topic string) error {
	b.mu.Lock()
	if _, ok := b.topics[topic]; !ok {
		b.topics[topic] = ""
	}
	b.mu.Unlock()
	if err := b.stamp(ctx, b.subscribersKey(topic)); err != nil {
		b.mu.Lock()
		delete(b.topics, topic)
		b.mu.Unlock()
		return translate("bus subscribe", err)
	}
	return nil
}

// subscribed reports whether this node is subscribed to topic.
func (b *Bus) subscribed(topic string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.topics[topic]
	return ok
}

// fanOut appends ev to the inbox of every live node in list, tagged with
// topic when it is a topic's event, and returns to how many. An inbox that
// is gone (its node stopped StreamTTL ago) is skipped.
func (b *Bus) fanOut(ctx context.Context, list, topic string, ev *chat.Event) (int, error) {
	data, err := encodeEvent(ev)
	if err != nil {
		return 0, err
	}
	nodes, err := runScript(ctx, b.client, &b.n, liveScript, []string{list}).StringSlice()
	if err != nil || len(nodes) == 0 {
		return 0, err
	}
	values := []any{fieldEvent, data}
	if topic != "" {
		values = append(values, fieldTopic, topic)
	}
	p := b.client.Pipeline()
	cmds := make([]*goredis.StringCmd, len(nodes))
	for i, n := range nodes {
		cmds[i] = p.XAdd(ctx, &goredis.XAddArgs{Stream: b.inboxKey(n), NoMkStream: true, MaxLen: b.opt.MaxLen, Approx: true, Values: values})
	}
	_, _ = p.Exec(ctx)
	b.n.add(len(nodes))
	b.xadds.Add(uint64(len(nodes)))
	sent := 0
	for _, c := range cmds {
		switch err := c.Err(); {
		case err == nil:
			sent++
		case !errors.Is(err, goredis.Nil):
			return sent, err
		}
	}
	return sent, nil
}
