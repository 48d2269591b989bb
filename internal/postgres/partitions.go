package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// MonthsAhead is how many months after the current one Open makes sure
// have a partition of messages (see migration 0070).
const MonthsAhead = 2

// Partition is one partition of the messages table.
type Partition struct {
	Name string `json:"name"`
	// From and To bound its ts in Unix ms, [From, To); both 0 for the
	// default partition.
	From    int64 `json:"from,omitempty"`
	To      int64 `json:"to,omitempty"`
	Default bool  `json:"default,omitempty"`
	// Rows is PostgreSQL's estimate (-1 before the first analyze).
	Rows int64 `json:"rows_estimate"`
}

// execer is what ensureMonths needs of a pool or a connection.
type execer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ensureMonths makes sure the months from now's to ahead months later have
// a partition, and returns their names.
func ensureMonths(ctx context.Context, q execer, now time.Time, ahead int) ([]string, error) {
	now = now.UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var names []string
	for i := range ahead + 1 {
		var name string
		at := first.AddDate(0, i, 0).UnixMilli()
		if err := q.QueryRow(ctx, `SELECT messages_ensure_month($1)`, at).Scan(&name); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

// EnsurePartitions makes sure the month of now and the ahead months after
// it have a partition of messages, creating the missing ones (a month's
// rows that went to the default partition move into it), and returns
// their names.
func (s *Store) EnsurePartitions(ctx context.Context, now time.Time, ahead int) ([]string, error) {
	names, err := ensureMonths(ctx, s.pool, now, ahead)
	return names, dbErr(err)
}

// Partitions lists the partitions of messages, oldest month first, the
// default partition last.
func (s *Store) Partitions(ctx context.Context) ([]Partition, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.relname, c.reltuples::bigint, pg_get_expr(c.relpartbound, c.oid)
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'messages'::regclass ORDER BY c.relname`)
	if err != nil {
		return nil, dbErr(err)
	}
	parts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Partition, error) {
		var p Partition
		var bound string
		if err := row.Scan(&p.Name, &p.Rows, &bound); err != nil {
			return p, err
		}
		if bound == "DEFAULT" {
			p.Default = true
			return p, nil
		}
		// FOR VALUES FROM ('1700000000000') TO ('1702000000000')
		if _, err := fmt.Sscanf(bound, "FOR VALUES FROM ('%d') TO ('%d')", &p.From, &p.To); err != nil {
			if _, err := fmt.Sscanf(bound, "FOR VALUES FROM (%d) TO (%d)", &p.From, &p.To); err != nil {
				return p, fmt.Errorf("partition %s: bound %q: %w", p.Name, bound, err)
			}
		}
		return p, nil
	})
	if err != nil {
		return nil, dbErr(err)
	}
	// The default partition sorts last.
	for i, p := range parts {
		if p.Default {
			parts = append(append(parts[:i:i], parts[i+1:]...), p)
			break
		}
	}
	return parts, nil
}

// RetireMonths takes every month partition that ends at or before before
// out of messages and returns their names: each month's message_keys rows
// go (and with them its messages' reactions), then the partition is
// detached and renamed messages_archived_yYYYYmMM (to be dumped and
// dropped by the operator) or, with drop, dropped. One transaction per
// month; each holds a lock on messages (appends wait) for as long as its
// keys take to delete.
func (s *Store) RetireMonths(ctx context.Context, before time.Time, drop bool) ([]string, error) {
	parts, err := s.Partitions(ctx)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, p := range parts {
		if p.Default || p.To > before.UnixMilli() {
			continue
		}
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			name := pgx.Identifier{p.Name}.Sanitize()
			if _, err := tx.Exec(ctx, `DELETE FROM message_keys WHERE id IN (SELECT id FROM `+name+`)`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `ALTER TABLE messages DETACH PARTITION `+name); err != nil {
				return err
			}
			if drop {
				_, err := tx.Exec(ctx, `DROP TABLE `+name)
				return err
			}
			archived := pgx.Identifier{"messages_archived_" + p.Name[len("messages_"):]}.Sanitize()
			_, err := tx.Exec(ctx, `ALTER TABLE `+name+` RENAME TO `+archived)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("retire %s: %w", p.Name, dbErr(err))
		}
		done = append(done, p.Name)
	}
	return done, nil
}
