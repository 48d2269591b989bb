package redis

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Watch follows the Redis server behind a client (a plain client, a
// Sentinel failover client that moves to the new master on a failover, or
// a cluster client, whose masters are followed together). It asks the
// server (every master) for its run id every period, logs each outage once when
// it starts and once when it ends (with its length), and calls onChange
// when the server answering is not the one that answered before: after an
// outage, after a failover to another server (on a cluster, of any
// shard), or after a restart. A node
// uses onChange to put its presence entries and registry entry back at
// once instead of at their next refresh.
func Watch(ctx context.Context, client goredis.UniversalClient, period time.Duration, log *slog.Logger, onChange func(ctx context.Context)) {
	var (
		runID string
		down  time.Time
	)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, period)
		id, err := serverID(pctx, client)
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

// serverID names the server(s) answering for client: the run id of the
// server, or on a cluster the sorted run ids of its masters.
func serverID(ctx context.Context, client goredis.UniversalClient) (string, error) {
	cc, ok := client.(*goredis.ClusterClient)
	if !ok {
		info, err := client.Info(ctx, "server").Result()
		return infoField(info, "run_id"), err
	}
	var (
		mu  sync.Mutex
		ids []string
	)
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
		info, err := c.Info(ctx, "server").Result()
		if err != nil {
			return err
		}
		mu.Lock()
		ids = append(ids, infoField(info, "run_id"))
		mu.Unlock()
		return nil
	})
	if err != nil {
		// A master may have failed over: ask the cluster for its slots
		// again before the next look.
		cc.ReloadState(ctx)
		return "", err
	}
	slices.Sort(ids)
	return strings.Join(ids, ","), nil
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
