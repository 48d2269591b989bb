package redis

import (
	"context"
	"log/slog"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Watch follows the Redis server behind a client (a plain client, or a
// Sentinel failover client that moves to the new master on a failover). It
// asks the server for its run id every period, logs each outage once when
// it starts and once when it ends (with its length), and calls onChange
// when the server answering is not the one that answered before: after an
// outage, after a failover to another server, or after a restart. A node
// uses onChange to put its presence entries and registry entry back at
// once instead of at their next refresh.
func Watch(ctx context.Context, client *goredis.Client, period time.Duration, log *slog.Logger, onChange func(ctx context.Context)) {
	var (
		runID string
		down  time.Time
	)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, period)
		info, err := client.Info(pctx, "server").Result()
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if down.IsZero() {
				down = time.Now()
				log.Warn("Redis unavailable: cluster traffic waits until it is back", "err", err)
			}
		default:
			id := infoField(info, "run_id")
			changed := runID != "" && id != runID
			runID = id
			if !down.IsZero() {
				log.Info("Redis available again", "outage", time.Since(down).Round(time.Millisecond), "run_id", id)
				down = time.Time{}
				changed = true
			} else if changed {
				log.Info("Redis server changed (failover or restart)", "run_id", id)
			}
			if changed {
				onChange(ctx)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// infoField returns one field of an INFO reply.
func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
