// Package postgres implements chat.Store on PostgreSQL, the store of cluster
// mode: every node of a cluster opens the same database.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/schema"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the pg_advisory_xact_lock key that serialises migrations
// of nodes starting at the same time.
const migrationLock = 0x5357_4244 // "SWBD"

// Store is a chat.Store on a PostgreSQL connection pool. It is safe for
// concurrent use, also by several processes on the same database.
type Store struct {
	pool   *pgxpool.Pool
	outbox *outbox  // the push outbox; nil when push is off
	idx    *indexer // the background search indexer (searchindex.go)
}

var _ chat.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string), applies the pending migrations and returns the store.
// A database that cannot be reached is an *chat.Error with EUnavailable.
// The pool holds at most 4 connections per CPU (at least 8) unless url sets
// pool_max_conns.
//
// url may name several hosts (host=a,b,c or postgres://a:5432,b:5432/db)
// with target_session_attrs=read-write: pgx then connects to whichever is
// the primary, and after a failover the pool's new connections find the
// new primary by themselves. Operations that fail on a lost or read-only
// server are EUnavailable, so no write is acknowledged that was not
// committed, and a read-only error empties the pool.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse connection string: %w", err)
	}
	watch := newOutage(o.log)
	cfg.ConnConfig.Tracer = watch
	if !strings.Contains(url, "pool_max_conns") {
		// pgxpool's default (the number of CPUs, at least 4) starves a node
		// whose requests wait on the network more than on the CPU.
		cfg.MaxConns = int32(max(8, 4*runtime.NumCPU()))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		if code := chat.ErrorCode(dbErr(err)); code == chat.EUnavailable {
			return nil, chat.Errorf(code, "postgres: database unavailable: %v", err)
		}
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		if code := chat.ErrorCode(dbErr(err)); code == chat.EUnavailable {
			// A standby (read-only) or a server going down mid-migration.
			return nil, chat.Errorf(code, "postgres: database unavailable: %v", err)
		}
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	if _, err := ensureMonths(ctx, pool, time.Now(), MonthsAhead); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: message partitions: %w", dbErr(err))
	}
	// Watch from now on: failures while opening are Open's error, not an
	// outage (a node waiting for its database retries Open).
	watch.pool.Store(pool)
	s := &Store{pool: pool, outbox: o.outbox, idx: newIndexer()}
	go s.indexLoop()
	return s, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return dbErr(s.pool.Ping(ctx))
}

// Close closes every connection of the pool.
func (s *Store) Close() error {
	s.idx.once.Do(func() { close(s.idx.stop) })
	<-s.idx.done
	s.pool.Close()
	return nil
}

// migrate applies the migrations newer than the database's schema_version in
// one transaction. The advisory lock makes nodes that start together take
// turns: the first applies them, the others then find nothing to do.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return migrateTo(ctx, pool, math.MaxInt)
}

// migrateTo is migrate up to version upTo (tests make old databases).
func migrateTo(ctx context.Context, pool *pgxpool.Pool, upTo int) error {
	ms, err := schema.Load(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
			return dbErr(err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return dbErr(err)
		}
		var current int
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&current); err != nil {
			return dbErr(err)
		}
		if n := len(ms); n > 0 && current > ms[n-1].Version {
			return fmt.Errorf("database schema version %d is newer than this binary's %d", current, ms[n-1].Version)
		}
		for _, m := range ms {
			if m.Version <= current {
				continue
			}
			if m.Version > upTo {
				break
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_version (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
		}
		return nil
	})
}

// PostgreSQL error codes the store tells apart.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeSerialization       = "40001"
	codeDeadlock            = "40P01"
	codeBadCharacter        = "22021" // e.g. a NUL in a text value
	codeBadEscape           = "22P05" // e.g. \u0000 in a jsonb value
	codeReadOnly            = "25006" // read_only_sql_transaction
)

// dbErr translates a driver error into the store's error contract: no rows
// is ENotFound, a unique violation EConflict, a lost or refused connection
// EUnavailable; anything else stays a fault (reported as EInternal).
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	var ce *chat.Error
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.Errorf(chat.ENotFound, "not found")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == codeUniqueViolation:
			return chat.Errorf(chat.EConflict, "already exists")
		case pgErr.Code == codeForeignKeyViolation:
			return chat.Errorf(chat.ENotFound, "a referenced row does not exist")
		case pgErr.Code == codeBadCharacter, pgErr.Code == codeBadEscape:
			return chat.Errorf(chat.EBadRequest, "text may not contain NUL characters")
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "53"), // insufficient resources
			pgErr.Code == "57P01",               // admin shutdown
			pgErr.Code == "57P02",               // crash shutdown
			pgErr.Code == "57P03",               // cannot connect now
			pgErr.Code == codeReadOnly:          // a standby, or a demoted primary
			return chat.Errorf(chat.EUnavailable, "database unavailable")
		}
		return fmt.Errorf("postgres: %w", err)
	}
	if unavailable(err) {
		return chat.Errorf(chat.EUnavailable, "database unavailable")
	}
	return fmt.Errorf("postgres: %w", err)
}

// unavailable reports whether err is a failure to reach the database (as
// opposed to a fault of the query).
func unavailable(err error) bool {
	var connErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connErr), errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		pgconn.Timeout(err), pgconn.SafeToRetry(err):
		return true
	}
	// The pool reports its own closing with an unexported error.
	return strings.Contains(err.Error(), "closed pool")
}

// retryable reports whether a transaction failed in a way that running it
// again can fix.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == codeDeadlock || pgErr.Code == codeSerialization)
}
