package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/switchboard-chat/switchboard/internal/postgres"
)

const partitionsUsage = `Usage: switchboard admin partitions --postgres URL [--shard URL ...] [flags]

Lists the monthly partitions of messages in each PostgreSQL database (the
directory or single database, then every shard), makes sure the coming
months have one, and with --archive-before or --drop-before retires the
months that end on or before the given month's first day:
  --archive-before 2025-01  detaches each older month and renames it
                            messages_archived_yYYYYmMM (dump it, then drop it)
  --drop-before 2025-01     drops them
Retired messages are gone from history, search and sync; their
conversations keep numbering after them.

Flags:
`

// partitionReport is what admin partitions prints for one database.
type partitionReport struct {
	Database   string               `json:"database"`
	Partitions []postgres.Partition `json:"partitions"`
	Retired    []string             `json:"retired,omitempty"`
}

// adminPartitions runs "switchboard admin partitions" on the store's
// databases directly.
func adminPartitions(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ef := newEnvFlags("admin partitions", getenv, stderr)
	var (
		dir                 string
		shards              shardURLs
		ahead               int
		archive, dropBefore string
	)
	ef.str(&dir, "postgres", "SWITCHBOARD_POSTGRES", "", "PostgreSQL URL: the single database, or the directory with --shard")
	shards.flags(ef.FlagSet, getenv)
	ef.IntVar(&ahead, "ahead", postgres.MonthsAhead, "months after the current one that must have a partition")
	ef.StringVar(&archive, "archive-before", "", "YYYY-MM: detach and rename the months before it")
	ef.StringVar(&dropBefore, "drop-before", "", "YYYY-MM: drop the months before it")
	ef.Usage = func() {
		fmt.Fprint(stderr, partitionsUsage)
		ef.PrintDefaults()
	}
	if err := ef.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if dir == "" {
		return errors.New("admin partitions: --postgres is required (partitions are a PostgreSQL feature)")
	}
	if archive != "" && dropBefore != "" {
		return errors.New("admin partitions: give --archive-before or --drop-before, not both")
	}
	var before time.Time
	if m := archive + dropBefore; m != "" {
		t, err := time.Parse("2006-01", m)
		if err != nil {
			return fmt.Errorf("admin partitions: month %q: want YYYY-MM", m)
		}
		before = t
	}
	if ahead < 0 || ahead > 120 {
		return fmt.Errorf("admin partitions: --ahead %d: want 0 to 120", ahead)
	}
	dbs := []struct{ name, url string }{{"directory", dir}}
	if len(shards) == 0 {
		dbs[0].name = "database"
	}
	for i, u := range shards {
		dbs = append(dbs, struct{ name, url string }{fmt.Sprintf("shard %d", i), u})
	}
	var out []partitionReport
	for _, db := range dbs {
		r, err := partitionsOf(ctx, db.url, ahead, before, dropBefore != "")
		if err != nil {
			return fmt.Errorf("admin partitions: %s: %w", db.name, err)
		}
		r.Database = db.name
		out = append(out, r)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func partitionsOf(ctx context.Context, url string, ahead int, before time.Time, drop bool) (partitionReport, error) {
	s, err := postgres.Open(ctx, url, postgres.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return partitionReport{}, err
	}
	defer s.Close()
	var r partitionReport
	if _, err := s.EnsurePartitions(ctx, time.Now(), ahead); err != nil {
		return r, err
	}
	if !before.IsZero() {
		if r.Retired, err = s.RetireMonths(ctx, before, drop); err != nil {
			return r, err
		}
	}
	r.Partitions, err = s.Partitions(ctx)
	return r, err
}
