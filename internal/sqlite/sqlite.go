// Package sqlite is the embedded chat.Store: one SQLite file, no server, no
// cgo (modernc.org/sqlite). It is the store of the single-binary mode.
//
// SQLite lets one connection write at a time, so the Store keeps exactly one
// writer connection, through which every write runs, and a pool of read-only
// connections that WAL mode lets run alongside it. The core already gathers
// concurrent sends into one AppendMessages call; the Store goes one step
// further and runs all writes that queue up for the writer (message batches,
// receipts, logins, ...) in one transaction with one fsync (group commit),
// each in a savepoint of its own. See write.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

var _ chat.Store = (*Store)(nil)

// Store is a chat.Store on one SQLite database file.
type Store struct {
	w *sql.DB // the one writer connection
	r *sql.DB // read-only connections

	stmts  statements
	outbox *outbox // the push outbox; nil when push is off

	jobs     chan *job     // writes for writeLoop; unbuffered
	quit     chan struct{} // closed by Close
	loopDone chan struct{} // closed when writeLoop returns

	idx     indexer // the background search indexer (searchindex.go)
	stopIdx sync.Once

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating it if needed) the database file at path, brings its
// schema up to date and returns the Store. ctx bounds the opening only.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: invalid database path %q", path)
	}
	// synchronous=FULL: a send is acknowledged only after its transaction
	// commits, and an acknowledged message must survive a power cut, so each
	// commit syncs the WAL to disk. NORMAL would be faster but could lose the
	// last commits, hence acknowledged messages, if the machine goes down.
	// wal_autocheckpoint(10000) copies the WAL back every ~40 MB rather than
	// every 4 MB: the pages the appends keep changing (index leaves, the
	// conversations' rows) are copied once per checkpoint, not ten times
	// (closed-loop direct messages: 17,000 to 17,500 msgs/s against 14,700
	// to 16,400 with the default; docs/benchmarks.md).
	// _txlock=immediate takes the write lock at BEGIN, so a transaction never
	// fails halfway on upgrading a read lock (another process may hold the
	// file too, e.g. a backup tool).
	w, err := sql.Open("sqlite", dsn(path, url.Values{
		"_pragma": {"busy_timeout(10000)", "foreign_keys(1)", "journal_mode(WAL)", "synchronous(FULL)",
			"cache_size(-32000)", "temp_store(MEMORY)", "journal_size_limit(67108864)", "wal_autocheckpoint(10000)"},
		"_txlock": {"immediate"},
	}))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{w: w, jobs: make(chan *job), quit: make(chan struct{}), loopDone: make(chan struct{}), idx: newIndexer()}
	for _, opt := range opts {
		opt(s)
	}
	if err := s.init(ctx, path); err != nil {
		close(s.loopDone) // the loops never started
		close(s.idx.done)
		s.Close()
		return nil, err
	}
	go s.writeLoop()
	go s.indexLoop()
	return s, nil
}

func (s *Store) init(ctx context.Context, path string) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, translate(err))
	}
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("sqlite: journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlite: %s: journal mode is %q, not WAL", path, mode)
	}
	if err := migrate(ctx, s.w); err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	// Readers only read: query_only makes any write through them an error
	// instead of a second writer fighting the first for the lock.
	r, err := sql.Open("sqlite", dsn(path, url.Values{
		"_pragma": {"busy_timeout(10000)", "foreign_keys(1)", "query_only(1)", "cache_size(-16000)", "temp_store(MEMORY)"},
	}))
	if err != nil {
		return fmt.Errorf("sqlite: open readers %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	s.r = r
	if err := s.stmts.prepare(ctx, s.w, s.r); err != nil {
		return fmt.Errorf("sqlite: prepare: %w", err)
	}
	return nil
}

func dsn(path string, params url.Values) string {
	return path + "?" + params.Encode()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return translate(err)
	}
	return nil
}

// Close closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		// Writes already handed to the writer finish; later ones get
		// EUnavailable.
		close(s.quit)
		<-s.loopDone
		<-s.idx.done
		s.stmts.close()
		var errs []error
		if s.r != nil {
			errs = append(errs, s.r.Close())
		}
		if s.w != nil {
			// Let SQLite refresh its planner statistics; it is cheap and
			// only looks at tables whose shape changed.
			_, _ = s.w.Exec("PRAGMA optimize")
			errs = append(errs, s.w.Close())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// translate turns driver errors into *chat.Error where they have a meaning
// for the caller and leaves other errors (and *chat.Error) as they are.
func translate(err error) error {
	var ce *chat.Error
	if err == nil || errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "sql: database is closed") {
		return chat.Errorf(chat.EUnavailable, "the database is closed")
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch code := se.Code(); code {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return chat.Errorf(chat.EConflict, "already exists")
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return chat.Errorf(chat.ENotFound, "refers to something that does not exist")
	default:
		switch code & 0xff { // primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return chat.Errorf(chat.EUnavailable, "the database is busy")
		case sqlite3.SQLITE_FULL:
			return chat.Errorf(chat.EUnavailable, "the disk is full")
		}
	}
	return fmt.Errorf("sqlite: %w", err)
}

// isConstraint reports whether err is a constraint violation: the statement
// failed and was undone, but the transaction around it can go on.
func isConstraint(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}
