package redis

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// gcraScript is the generic cell rate algorithm on the Redis clock: a key
// holds its theoretical arrival time (TAT); an action is allowed when the
// TAT, moved one interval on, lies within the burst's tolerance of now.
// One round trip, whichever node asks. KEYS[1] the key; ARGV interval ms,
// tolerance ms (interval * (burst - 1)). Returns {allowed, retry-after ms}.
var gcraScript = goredis.NewScript(nowScript + `
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local allow_at = tat - tolerance
if allow_at > now then
  return {0, math.ceil(allow_at - now)}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil(new_tat - now) + 1000)
return {1, 0}
`)

// Limiter is a chat.RateLimiter shared by every node on one Redis, so a
// user connected to several nodes gets one budget, not one per node.
type Limiter struct {
	client goredis.UniversalClient
	prefix string
	n      counter
}

var _ chat.RateLimiter = (*Limiter)(nil)

// NewLimiter returns a limiter whose keys start with prefix.
func NewLimiter(client goredis.UniversalClient, prefix string) *Limiter {
	return &Limiter{client: client, prefix: prefix}
}

// Allow takes one action of key under rate per second with burst.
// EUnavailable when Redis cannot be reached.
func (l *Limiter) Allow(ctx context.Context, key string, rate float64, burst int) (bool, time.Duration, error) {
	if rate <= 0 {
		return true, 0, nil
	}
	interval := 1000 / rate
	tolerance := interval * float64(max(burst, 1)-1)
	res, err := runScript(ctx, l.client, &l.n, gcraScript, []string{l.prefix + ":rl:" + key}, interval, tolerance).Int64Slice()
	if err != nil {
		return false, 0, translate("rate limit", err)
	}
	return res[0] == 1, time.Duration(res[1]) * time.Millisecond, nil
}
