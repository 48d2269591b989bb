package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/postgres"
	"github.com/switchboard-chat/switchboard/internal/shard"
)

// shardURLs is the repeatable --shard flag: the PostgreSQL databases that
// hold the conversations when --postgres names the directory database.
// Their order numbers them: add a shard by appending it.
type shardURLs []string

func (s *shardURLs) String() string { return strings.Join(*s, " ") }

func (s *shardURLs) Set(v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("empty shard URL")
	}
	*s = append(*s, v)
	return nil
}

// flags binds --shard; its env twin SWITCHBOARD_SHARDS is a list of URLs
// separated by spaces (URLs hold no spaces; multi-host URLs hold commas).
func (s *shardURLs) flags(fs *flag.FlagSet, getenv func(string) string) {
	*s = strings.Fields(getenv("SWITCHBOARD_SHARDS"))
	fs.Var(s, "shard", "PostgreSQL URL of a shard, repeated once per shard in the order they were added; with it, --postgres is the directory database (env SWITCHBOARD_SHARDS, separated by spaces)")
}

// openPostgres opens the PostgreSQL store: one database, or a directory
// and shards.
func openPostgres(ctx context.Context, dir string, shards shardURLs, log *slog.Logger, opts ...postgres.Option) (chat.Store, error) {
	if len(shards) == 0 {
		s, err := postgres.Open(ctx, dir, opts...)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL store: %w", err)
		}
		return s, nil
	}
	s, err := shard.Open(ctx, dir, shards, opts...)
	if err != nil {
		return nil, fmt.Errorf("open sharded PostgreSQL store: %w", err)
	}
	return s, nil
}
